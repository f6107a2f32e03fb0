"""Defenses against leakage through the updates a node sends on.

Every defense works on a flat (1-D) update, as a torch tensor or numpy array, through
``defense.apply(update, random_state=rng)``; a federation applies it to what a node sends
and a gradient-leakage attack reads ``defense.noise_model()`` to model it.
"""

from ._accountant import compute_epsilon
from ._base import BaseDefense, NoiseModel
from ._compose import Compose
from ._dpsgd import DPSGD
from ._noise import ClipNorm, GaussianNoise, LaplaceNoise
from ._sparsify import RandomPruning, TopKSparsification

__all__ = [
    "BaseDefense",
    "ClipNorm",
    "Compose",
    "DPSGD",
    "GaussianNoise",
    "LaplaceNoise",
    "NoiseModel",
    "RandomPruning",
    "TopKSparsification",
    "compute_epsilon",
]
