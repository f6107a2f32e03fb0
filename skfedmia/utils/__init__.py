"""Validation, seeding and device helpers, and the registry of rows estimators were fit on."""

from ._device import resolve_device
from ._fit_data import get_fit_data, record_fit_data
from ._random import draw_seed, spawn_seeds, torch_seed_context
from ._validation import check_params

__all__ = [
    "check_params",
    "draw_seed",
    "get_fit_data",
    "record_fit_data",
    "resolve_device",
    "spawn_seeds",
    "torch_seed_context",
]
