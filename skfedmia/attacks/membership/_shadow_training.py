"""Splitting the attacker's data for shadow / reference models, and training them.

Training fans out through joblib (``n_jobs``): point joblib at a Dask cluster with
``joblib.parallel_backend("dask")`` and the shadow models train there instead.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.utils.parallel import Parallel, delayed
from tqdm.auto import tqdm

from ...federated import NodeModel
from ...neural_net import can_fit_together, fit_mlp_ensemble
from ._base import _set_random_states, take_rows

__all__ = ["disjoint_splits", "fit_shadow_models", "new_shadow", "random_subsets"]


def disjoint_splits(n_rows, n_models, size, rng, *, disjoint=True, param="shadow_size"):
    """One (in, out) pair of index arrays per model, each of ``size`` rows.

    ``disjoint=True``: all ``2 * n_models`` parts are pairwise disjoint. ``False``: each
    model draws its in and out parts (disjoint from each other) from all rows afresh.
    """
    needed = 2 * size * (n_models if disjoint else 1)
    if size < 1 or needed > n_rows:
        what = "2 * n_shadow_models * shadow_size" if disjoint else "2 * shadow_size"
        raise ValueError(
            f"Too little attacker data for the shadow split: {what} = {needed} rows are "
            f"needed (each shadow model gets `{param}` = {size} training rows and as many "
            f"held-out rows), but `X` has {n_rows}. Pass more rows, fewer n_shadow_models or "
            f"a smaller {param}."
        )
    if disjoint:
        perm = rng.permutation(n_rows)[:needed].reshape(n_models, 2, size)
        return [(np.sort(p[0]), np.sort(p[1])) for p in perm]
    splits = []
    for _ in range(n_models):
        perm = rng.permutation(n_rows)
        splits.append((np.sort(perm[:size]), np.sort(perm[size : 2 * size])))
    return splits


def random_subsets(n_rows, n_models, size, rng):
    """Boolean (n_models, n_rows) mask; each model keeps a random ``size`` rows.

    With ``size = n_rows / 2`` every row is in about half of the models, as the
    likelihood-ratio attack wants; rows are spread so that in-counts differ by at most one.
    """
    if size < 1 or size >= n_rows:
        raise ValueError(
            f"Too little attacker data: each reference model trains on `shadow_size` = {size} "
            f"rows and needs rows left out, but `X` has {n_rows}."
        )
    mask = np.zeros((n_models, n_rows), dtype=bool)
    # deal rows to models in rounds so that each row's in-count is balanced
    counts = np.zeros(n_rows)
    for k in range(n_models):
        priority = counts + rng.uniform(0, 0.5, size=n_rows)
        chosen = np.argsort(priority, kind="stable")[:size]
        mask[k, chosen] = True
        counts[chosen] += 1
    return mask


def new_shadow(template, seed, classes):
    """An unfitted copy of ``template`` seeded by ``seed`` that knows all target classes."""
    shadow = _set_random_states(clone(template), seed)
    params = shadow.get_params(deep=False)
    if isinstance(shadow, NodeModel):
        inner = shadow.estimator.get_params(deep=False)
        if "classes" in inner and inner["classes"] is None:
            shadow.estimator.set_params(classes=np.arange(len(classes)))
    elif "classes" in params and params["classes"] is None:
        # a skorch net then has one output per target class, as the target does
        shadow.set_params(classes=classes)
    return shadow


def _is_dask_backend() -> bool:
    """Whether joblib is pointed at a Dask cluster (then models fan out there instead)."""
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return type(backend).__name__.lower().startswith("dask")


def _fit_one(shadow, X, y, indices):
    return shadow.fit(take_rows(X, indices), y[indices])


def fit_shadow_models(template, X, y, train_indices, seeds, classes, *, n_jobs, verbose, desc):
    """Fit one shadow per entry of ``train_indices``.

    Torch MLPs that :func:`~skfedmia.neural_net.can_fit_together` are trained together as
    one stacked model (the same models as one by one, up to float rounding); any other
    estimator trains one model per joblib task (``n_jobs``).
    """
    shadows = [new_shadow(template, seed, classes) for seed in seeds]
    if shadows and can_fit_together(shadows[0]) and not _is_dask_backend():
        data = [(take_rows(X, idx), y[idx]) for idx in train_indices]
        if verbose:
            print(f"{desc}: training {len(shadows)} MLPs together")
        return fit_mlp_ensemble(
            shadows[0],
            data,
            random_states=[s.random_state for s in shadows],
            classes=shadows[0].classes,
        )
    jobs = (
        delayed(_fit_one)(shadow, X, y, idx)
        for shadow, idx in zip(shadows, train_indices, strict=True)
    )
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    bar = tqdm(total=len(shadows), desc=desc, unit="model", disable=not verbose)
    fitted = []
    with bar:
        for model in parallel(jobs):
            fitted.append(model)
            bar.update()
    return fitted
