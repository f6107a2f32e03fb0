"""Validation, seeding and device helpers."""

from ._device import resolve_device
from ._random import draw_seed, spawn_seeds, torch_seed_context
from ._validation import check_params

__all__ = ["check_params", "draw_seed", "resolve_device", "spawn_seeds", "torch_seed_context"]
