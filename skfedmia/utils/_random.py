"""Seeding helpers: one seed per sub-task, drawn from a ``random_state``."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["draw_seed", "spawn_seeds", "torch_seed_context"]

_MAX_SEED = np.iinfo(np.int32).max


def draw_seed(random_state) -> int:
    """Draw one integer seed from ``random_state`` (int, RandomState or None).

    Parameters
    ----------
    random_state : int, RandomState instance or None
        A ``RandomState`` instance is advanced by one draw.
    """
    return int(check_random_state(random_state).randint(_MAX_SEED))


def spawn_seeds(random_state, n: int) -> np.ndarray:
    """Draw ``n`` integer seeds from ``random_state`` in one go.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        A ``RandomState`` instance is advanced by the draws.
    n : int
        Number of seeds.
    """
    return check_random_state(random_state).randint(_MAX_SEED, size=n)


@contextlib.contextmanager
def torch_seed_context(seed: int | None):
    """Run a block with torch's global generators seeded, restoring them afterwards.

    With ``seed=None`` the block runs on the global generators untouched.

    Parameters
    ----------
    seed : int or None
        Seed of torch's generators inside the block.
    """
    if seed is None:
        yield
        return
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield
