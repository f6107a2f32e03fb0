"""Pruning (sparsification) of a flat update."""

from __future__ import annotations

import math
import numbers

import torch
from sklearn.utils._param_validation import Interval

from ._base import BaseDefense, NoiseModel, _draw

__all__ = ["TopKSparsification", "RandomPruning"]


def _zero_first(update, fraction, keys):
    """Zero the ``floor(fraction * len(update))`` coordinates with the smallest ``keys()``.

    ``keys`` is called only when something is pruned, so a random ranking draws nothing
    from the generator when ``fraction`` rounds down to no coordinate.
    """
    n_prune = int(math.floor(fraction * update.shape[0]))
    if n_prune == 0:
        return update
    update[torch.argsort(keys(), stable=True)[:n_prune]] = 0
    return update


class TopKSparsification(BaseDefense):
    """Zero the ``fraction`` of coordinates with the smallest magnitude.

    This is the gradient pruning defense of Zhu et al. (2019): ``fraction`` is the
    pruning ratio, the share of coordinates set to zero; the largest
    ``1 - fraction`` coordinates (in absolute value) are sent on unchanged.

    Parameters
    ----------
    fraction : float, default=0.9
        Share of coordinates set to zero, in ``[0, 1)``.

    See Also
    --------
    RandomPruning : Zero a random share of coordinates instead.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.defenses import TopKSparsification
    >>> TopKSparsification(fraction=0.5).apply(np.array([0.1, -3.0, 0.2, 2.0]))
    array([ 0., -3.,  0.,  2.])
    """

    _parameter_constraints: dict = {
        "fraction": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def __init__(self, fraction=0.9):
        self.fraction = fraction

    def _apply(self, update, rng):
        return _zero_first(update, self.fraction, lambda: update.abs())

    def _noise_model(self):
        pruned = self.fraction > 0
        return NoiseModel(
            pruned=pruned,
            prune_rule="magnitude" if pruned else None,
            prune_fraction=float(self.fraction),
        )


class RandomPruning(BaseDefense):
    """Zero a random ``fraction`` of the coordinates of an update.

    Parameters
    ----------
    fraction : float, default=0.5
        Share of coordinates set to zero, in ``[0, 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.defenses import RandomPruning
    >>> int((RandomPruning(fraction=0.5).apply(np.ones(10), random_state=0) == 0).sum())
    5
    """

    _parameter_constraints: dict = {
        "fraction": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def __init__(self, fraction=0.5):
        self.fraction = fraction

    def _apply(self, update, rng):
        return _zero_first(
            update, self.fraction, lambda: _draw(rng, "uniform", len(update), update)
        )

    def _noise_model(self):
        pruned = self.fraction > 0
        return NoiseModel(
            pruned=pruned,
            prune_rule="random" if pruned else None,
            prune_fraction=float(self.fraction),
        )
