"""Disjoint data pools for a membership-inference experiment."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch, check_random_state
from sklearn.utils import _safe_indexing as safe_indexing

from ..utils._random import draw_seed

__all__ = ["attack_split"]

_POOLS = ("target", "shadow", "test")


def _resolve_size(value, name, n_samples):
    """An int count, a fraction of ``n_samples`` in (0, 1), or None (resolved later)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be an int >= 0, a float in (0, 1) or None, got {value!r}.")
    if isinstance(value, numbers.Integral):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}.")
        return int(value)
    if not 0.0 < value < 1.0:
        raise ValueError(
            f"{name}={value!r}: a float is a fraction of the rows and must lie in (0, 1); "
            "pass an int for a number of rows."
        )
    return int(np.floor(value * n_samples))


def attack_split(X, y, *, n_target, n_test, n_shadow=None, random_state=None, stratify=None):
    """Split rows into the disjoint pools a membership-inference experiment needs.

    - the **target** pool: rows the target model (or the federation's nodes) trains on, the
      "members";
    - the **shadow** pool: the attacker's own data, used to train shadow models (never seen by
      the target);
    - the **test** pool: rows nobody trains on, for the target's test accuracy and as the
      "non-members" of the attack's evaluation.

    Every row goes to at most one pool; rows asked for by no pool are left out.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features (ndarray, sparse matrix or DataFrame).
    y : array-like of shape (n_samples,)
        Labels.
    n_target : int or float
        Size of the target pool: a number of rows, or a fraction of ``n_samples`` in (0, 1)
        (rounded down).
    n_test : int or float
        Size of the test pool, as ``n_target``.
    n_shadow : int, float or None, default=None
        Size of the shadow pool, as ``n_target``; None gives it all the remaining rows.
    random_state : int, RandomState instance or None, default=None
        Seed of the random assignment; an int gives the same pools on every call.
    stratify : array-like of shape (n_samples,) or None, default=None
        If given (usually ``y``), every pool keeps the class proportions of these labels, as
        in :func:`sklearn.model_selection.train_test_split`.

    Returns
    -------
    split : :class:`~sklearn.utils.Bunch`
        ``X_target``, ``y_target``, ``target_index``; ``X_shadow``, ``y_shadow``,
        ``shadow_index``; ``X_test``, ``y_test``, ``test_index``. The index arrays (int64,
        sorted) give the rows of ``X`` in each pool; they are pairwise disjoint.

    Raises
    ------
    ValueError
        If a size is invalid or the pools together ask for more rows than ``X`` has.

    See Also
    --------
    make_purchases : Purchases-like data to split.

    Examples
    --------
    >>> from skfedmia.datasets import attack_split, make_purchases
    >>> X, y = make_purchases(n_samples=1_000, n_classes=10, random_state=0)
    >>> split = attack_split(X, y, n_target=500, n_test=250, random_state=0)
    >>> len(split.target_index), len(split.test_index), len(split.shadow_index)
    (500, 250, 250)
    """
    n_samples = len(y)
    if X.shape[0] != n_samples:
        raise ValueError(f"X and y have different numbers of rows: {X.shape[0]} and {n_samples}.")
    sizes = {
        "target": _resolve_size(n_target, "n_target", n_samples),
        "shadow": _resolve_size(n_shadow, "n_shadow", n_samples),
        "test": _resolve_size(n_test, "n_test", n_samples),
    }
    if sizes["target"] is None or sizes["test"] is None:
        raise ValueError("n_target and n_test must be given (an int or a fraction).")
    fixed = sizes["target"] + sizes["test"]
    if sizes["shadow"] is None:
        sizes["shadow"] = max(n_samples - fixed, 0)
    requested = fixed + sizes["shadow"]
    if requested > n_samples:
        raise ValueError(
            f"n_target + n_shadow + n_test = {sizes['target']} + {sizes['shadow']} + "
            f"{sizes['test']} = {requested} rows requested, but X has only {n_samples} rows."
        )
    rng = check_random_state(random_state)
    if stratify is None:
        order = rng.permutation(n_samples)
        bounds = np.cumsum([0] + [sizes[p] for p in _POOLS])
        chosen = {p: order[bounds[i] : bounds[i + 1]] for i, p in enumerate(_POOLS)}
    else:
        stratify = np.asarray(stratify)
        if stratify.shape != (n_samples,):
            raise ValueError(f"stratify must have shape ({n_samples},), got {stratify.shape}.")
        chosen = {}
        rest = np.arange(n_samples)
        for pool in _POOLS:
            size, left = sizes[pool], len(rest)
            if size == 0:
                chosen[pool] = rest[:0]
            elif size == left:
                chosen[pool] = rest
                rest = rest[:0]
            else:
                take, rest = train_test_split(
                    rest,
                    train_size=size,
                    random_state=draw_seed(rng),
                    stratify=stratify[rest],
                )
                chosen[pool] = take
    out = Bunch()
    for pool in _POOLS:
        index = np.sort(np.asarray(chosen[pool], dtype=np.int64))
        out[f"X_{pool}"] = safe_indexing(X, index)
        out[f"y_{pool}"] = safe_indexing(y, index)
        out[f"{pool}_index"] = index
    return out
