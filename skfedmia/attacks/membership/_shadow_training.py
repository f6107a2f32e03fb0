"""Attacks that train shadow / reference models: one base for the split, seeding, training
and bookkeeping they share.

Training fans out through joblib (``n_jobs``): point joblib at a Dask cluster with
``joblib.parallel_backend("dask")`` and the shadow models train there instead.
"""

from __future__ import annotations

import numbers
import warnings
from abc import abstractmethod

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _num_samples
from tqdm.auto import tqdm

from ...federated import NodeModel
from ...neural_net import can_fit_together, fit_mlp_ensemble
from ...utils._fit_data import get_fit_data
from ...utils._random import spawn_seeds
from ._base import (
    OPERATING_POINT_CONSTRAINT,
    BaseMembershipAttack,
    _fit_slope,
    _set_random_states,
    aligned_proba,
    calibrated_threshold,
    row_keys,
    take_rows,
)
from ._signals import true_class_logit

__all__ = [
    "BaseShadowModelAttack",
    "disjoint_splits",
    "fit_shadow_models",
    "new_shadow",
    "random_subsets",
    "target_training_size",
]


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
            f"rows and needs rows left out, so the split needs at least {size + 1} rows, but "
            f"`X` has {n_rows}. Pass more rows or a smaller shadow_size."
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
    try:
        return shadow.fit(take_rows(X, indices), y[indices])
    except ValueError as error:
        labels = np.unique(y[indices])
        if len(labels) > 1:
            raise
        # a small or skewed pool can leave a model's rows with one label, which most
        # classifiers refuse deep inside their fit: say what happened and what helps
        raise ValueError(
            f"a shadow or reference model's {len(indices)} training rows hold a single "
            f"label ({labels.tolist()[0]!r}), and {type(shadow).__name__} cannot be trained "
            f"on one ({error}). Pass more attacker rows, or a larger shadow_size."
        ) from error


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


def target_training_size(target):
    """Rows ``target`` was fit on, where skfedmia recorded them at ``fit``; else ``None``.

    skfedmia's estimators (``TorchMLPClassifier``, the federations) record their rows in
    :func:`skfedmia.utils.record_fit_data`; a ``Pipeline`` is looked through to its last
    step.
    """
    for model in (target, getattr(target, "steps", [(None, None)])[-1][1]):
        data = get_fit_data(model) if model is not None else None
        if data is not None:
            return len(data[1])
    return None


class BaseShadowModelAttack(BaseMembershipAttack):
    """Template of attacks that train shadow / reference models on the attacker's rows.

    ``_fit`` does the shared work once: it sizes the models (``shadow_size``, by default the
    target's training size), splits the attacker's rows (into in/out pairs, ``_split =
    "pairs"``, or random subsets, ``"subsets"``), draws every seed from ``random_state``
    through :mod:`skfedmia.utils`, trains the models (stacked where they are MLPs) and keeps
    the bookkeeping (``shadow_indices_``, ``shadow_in_mask_``, ``shadow_size_``). Subclasses
    implement :meth:`_fit_attack`, which learns from the trained models, and ``_decision``.
    """

    _parameter_constraints: dict = {
        **BaseMembershipAttack._parameter_constraints,
        "n_shadow_models": [Interval(numbers.Integral, 1, None, closed="left")],
        "shadow_estimator": [HasMethods(["fit", "predict_proba"]), None],
        "shadow_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "operating_point": OPERATING_POINT_CONSTRAINT,
    }

    #: "pairs": each model gets disjoint in and out parts; "subsets": random in-subsets
    _split = "pairs"
    #: seeds drawn after the models' own (e.g. for an attack model)
    _n_extra_seeds = 0

    # ------------------------------------------------------------------ sizing
    def _default_size(self, n_rows):
        """The target's training size where known, else half the attacker's rows."""
        known = target_training_size(self.target)
        return n_rows // 2 if known is None else known

    def _resolve_split(self, n_rows, n_models):
        """``(shadow_size, disjoint)`` for ``n_rows`` attacker rows and ``n_models`` models."""
        explicit = self.shadow_size is not None
        size = self.shadow_size if explicit else self._default_size(n_rows)
        if self._split == "subsets":
            if not explicit:
                size = max(1, min(size, n_rows // 2))
            return int(size), False
        disjoint = getattr(self, "disjoint", None)
        if disjoint is None:  # disjoint parts when the rows allow it, overlap otherwise
            disjoint = 2 * size * n_models <= n_rows
        if not explicit and not disjoint:
            size = max(1, min(size, n_rows // 2))
        return int(size), bool(disjoint)

    # ------------------------------------------------------------------ template
    def _fit(self, X, y, label_index):
        rng = check_random_state(self.random_state)
        n, k = len(y), self.n_shadow_models
        self.shadow_estimators_, self.shadow_indices_ = [], []
        self.shadow_in_mask_ = np.zeros((0, n), dtype=bool)
        self.shadow_size_ = None
        if k > 0:
            size, disjoint = self._resolve_split(n, k)
            if self._split == "subsets":
                self.shadow_in_mask_ = random_subsets(n, k, size, rng)
                self.shadow_indices_ = [
                    (np.flatnonzero(m), np.flatnonzero(~m)) for m in self.shadow_in_mask_
                ]
            else:
                self.shadow_indices_ = disjoint_splits(n, k, size, rng, disjoint=disjoint)
                self.shadow_in_mask_ = np.zeros((k, n), dtype=bool)
                for row, (inside, _) in zip(self.shadow_in_mask_, self.shadow_indices_):
                    row[inside] = True
            self.shadow_size_ = size
            if hasattr(self, "disjoint"):
                self.disjoint_ = disjoint
        absent = np.setdiff1d(np.arange(len(self.target_classes_)), label_index)
        if k > 0 and absent.size:
            warnings.warn(
                f"The attacker's rows hold no row of the target's labels "
                f"{self.target_classes_[absent].tolist()[:10]}: no {self._models_name[:-1]} "
                "learns them, so rows with these labels are scored without a model that "
                "saw their label. Add rows of every label to the rows given to fit.",
                UserWarning,
                stacklevel=3,
            )
        seeds = spawn_seeds(rng, k + self._n_extra_seeds)
        if k > 0:
            template = self.target if self.shadow_estimator is None else self.shadow_estimator
            self.shadow_estimators_ = fit_shadow_models(
                template,
                X,
                y,
                [inside for inside, _ in self.shadow_indices_],
                seeds[:k],
                self.target_classes_,
                n_jobs=self.n_jobs,
                verbose=self.verbose,
                desc=self._models_name,
            )
        self._record_labels_seen(label_index)
        self._fit_attack(X, y, label_index, seeds[k:])

    def _record_labels_seen(self, label_index):
        """``shadow_labels_seen_``: the labels each model trained on.

        A model that never saw a label says nothing about how training on a row of that
        label changes a model.
        """
        k = len(self.shadow_indices_)
        self.shadow_labels_seen_ = np.zeros((k, len(self.target_classes_)), dtype=bool)
        for j, (inside, _) in enumerate(self.shadow_indices_):
            self.shadow_labels_seen_[j, label_index[inside]] = True

    _models_name = "shadow models"

    # ------------------------------------------------------------------ models' views
    def _model_signals(self, X, label_index):
        """``(n_models, n_rows)`` logit-scaled confidence of every model in the true label."""
        return np.stack(
            [
                true_class_logit(aligned_proba(model, X, self.target_classes_), label_index)
                for model in self.shadow_estimators_
            ]
        )

    def _set_pool_index(self, keys):
        """Remember the attacker's rows by key (:func:`row_keys`), or nothing if unkeyed."""
        self._pool_index = None if keys is None else {key: i for i, key in enumerate(keys)}

    def _pool_in_mask(self, X, y):
        """``(n_models, n_rows)``: which models trained on each queried row.

        Only queried rows recognised among the attacker's rows given to ``fit`` (by value,
        :func:`row_keys`) can have been; every other row is out of every model.
        """
        in_mask = np.zeros((len(self.shadow_estimators_), _num_samples(X)), dtype=bool)
        pool_index = getattr(self, "_pool_index", None)
        keys = row_keys(X, y) if pool_index else None
        for i, key in enumerate(keys or ()):
            j = pool_index.get(key)
            if j is not None:
                in_mask[:, i] = self.shadow_in_mask_[:, j]
        return in_mask

    def _basis(self):
        # a fitted attack over at least one model (the threshold attack without shadows
        # says so itself)
        k, n = self.shadow_in_mask_.shape
        name = self._models_name if k != 1 else self._models_name[:-1]
        size = getattr(self, "shadow_size_", None)
        rows = f" of {size:,} rows" if size else ""
        models = f"{k} {name}{rows} drawn from the attacker's {n:,} rows"
        point = self.operating_point
        decide = (
            "decisions at the threshold of highest balanced accuracy"
            if point == "balanced"
            else f"decisions at the threshold of {point:g} false-positive rate"
        )
        parts = [f"{type(self).__name__} over {models}", *self._basis_details()]
        parts.append(f"{decide} on the attacker's rows")
        return "; ".join(parts)

    def _basis_details(self):
        """The attack's own fitted settings, for :meth:`_basis`."""
        return []

    @classmethod
    def _from_references(cls, target, references, in_mask, X, y, **params):
        """A fitted attack on ``target`` over reference models trained elsewhere.

        Nothing is trained and nothing random is drawn: ``references`` are used as they
        are (only their ``predict_proba`` is called) and the attack is learned from them
        by the class's own :meth:`_fit_attack`, exactly as ``fit`` would after training
        them itself. For attacks that need no seeds of their own (``_n_extra_seeds = 0``).

        Parameters
        ----------
        target : fitted classifier with ``predict_proba``
            The model under attack.
        references : sequence of fitted classifiers
            The reference models, each knowing (a subset of) the target's classes.
        in_mask : array-like of bool, shape (len(references), n_samples)
            ``in_mask[k, i]``: row ``i`` of ``X`` was in reference ``k``'s training set.
        X : array-like of shape (n_samples, n_features)
            The attacker's pool the references were trained on (or left out).
        y : array-like of shape (n_samples,)
            Their true labels, all among the target's classes.
        **params
            Further parameters of the attack (e.g. ``operating_point``).

        Returns
        -------
        attack : BaseShadowModelAttack
            Fitted, as if ``fit(X, y)`` had trained ``references``.
        """
        if cls._n_extra_seeds:
            raise TypeError(f"{cls.__name__} draws seeds of its own; fit it instead.")
        references = list(references)
        attack = cls(target=target, n_shadow_models=max(len(references), 1), **params)
        attack._validate_params()
        _, classes = attack._checked_target()
        X, y, label_index = attack._check_Xy(X, y, classes)
        in_mask = np.asarray(in_mask, dtype=bool)
        if not references or in_mask.shape != (len(references), len(y)):
            raise ValueError(
                f"in_mask must have one row per reference model and one column per row of "
                f"X: expected shape ({len(references)}, {len(y)}), got {in_mask.shape}, "
                "with at least one reference model."
            )
        attack.target_classes_ = classes
        attack.classes_ = np.array([0, 1])
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) == 2:
            attack.n_features_in_ = int(shape[1])
        attack.shadow_estimators_ = references
        attack.shadow_in_mask_ = in_mask
        attack.shadow_indices_ = [(np.flatnonzero(m), np.flatnonzero(~m)) for m in in_mask]
        attack.shadow_size_ = int(in_mask.sum(axis=1).max())
        attack._record_labels_seen(label_index)
        attack._fit_attack(X, y, label_index, [])
        return attack

    @abstractmethod
    def _fit_attack(self, X, y, label_index, seeds):
        """Learn from the trained models; ``seeds``: the ``_n_extra_seeds`` extra seeds."""

    # ------------------------------------------------------------------ helpers
    def _in_out_rows(self):
        """Each model with its stacked (in, out) rows and their membership, in order.

        The balanced member / non-member set of every shadow, written once.
        """
        for model, (inside, outside) in zip(
            self.shadow_estimators_, self.shadow_indices_, strict=True
        ):
            rows = np.concatenate([inside, outside])
            membership = np.r_[
                np.ones(len(inside), dtype=np.int64), np.zeros(len(outside), dtype=np.int64)
            ]
            yield model, rows, membership

    def _set_operating_point(self, raw, membership):
        """``threshold_`` at ``operating_point`` on calibration scores, and the slope."""
        self.threshold_ = calibrated_threshold(raw, membership, self.operating_point)
        self.slope_ = _fit_slope(raw - self.threshold_, membership)
