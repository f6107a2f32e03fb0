"""What every membership attack shares: the target, input checks, and the public methods.

The public methods (``fit``, ``decision_function``, ``predict_proba``, ``predict``,
``score``, ``report``) validate the target and the data once, here; attacks implement
``_fit`` and ``_decision`` only (abstract: the base cannot be instantiated).
``decision_function`` is centred so that 0 is the attack's decision threshold;
``predict_proba`` is a sigmoid of it with a slope fitted on the attacker's calibration
data, so ``predict`` and ``predict_proba`` always agree. ``score`` returns one number (the
attack's accuracy), ``report`` every figure with its interval.
"""

from __future__ import annotations

import hashlib
import numbers
from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted, column_or_1d

from ...metrics._report import attack_report
from ._signals import true_class_logit

__all__ = ["BaseMembershipAttack", "balanced_evaluation_set", "calibrated_threshold"]


def _set_random_states(estimator, seed):
    """Seed every ``random_state`` parameter of ``estimator`` (nested ones too)."""
    params = estimator.get_params(deep=True)
    updates = {
        key: int(seed) for key in params if key == "random_state" or key.endswith("__random_state")
    }
    if updates:
        estimator.set_params(**updates)
    return estimator


def aligned_proba(model, X, classes):
    """``model.predict_proba(X)`` with one column per label of ``classes`` (0 if unknown)."""
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    model_classes = np.asarray(getattr(model, "classes_", classes))
    if proba.ndim != 2 or proba.shape[1] != len(model_classes):
        raise ValueError(
            f"{type(model).__name__}.predict_proba returned shape {proba.shape}, which does "
            f"not match its {len(model_classes)} classes_."
        )
    if len(model_classes) == len(classes) and np.array_equal(model_classes, classes):
        return proba
    position = {label: j for j, label in enumerate(classes.tolist())}
    out = np.zeros((proba.shape[0], len(classes)))
    for j, label in enumerate(model_classes.tolist()):
        out[:, position[label]] = proba[:, j]
    return out


def _fit_slope(centred, membership):
    """Slope of ``P(member) = sigmoid(slope * centred)`` by 1-D logistic regression."""
    centred = np.asarray(centred, dtype=np.float64)
    membership = np.asarray(membership)
    if len(np.unique(membership)) < 2 or np.ptp(centred) == 0:
        return 1.0
    scale = np.std(centred) or 1.0
    lr = LogisticRegression(fit_intercept=False, C=1e4)
    lr.fit((centred / scale)[:, None], membership)
    slope = float(lr.coef_[0, 0]) / scale
    return slope if slope > 0 else 1.0 / scale


#: ``operating_point`` of the attacks that calibrate their decision threshold
OPERATING_POINT_CONSTRAINT = [
    StrOptions({"balanced"}),
    Interval(numbers.Real, 0, 1, closed="neither"),
]


def calibrated_threshold(scores, membership, operating_point="balanced"):
    """Decision threshold on ``scores`` (``scores >= t`` means member) at an operating point.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Scores of rows whose membership is known (the attacker's shadow or reference data,
        never the rows to be judged).
    membership : array-like of shape (n_samples,)
        1 for members, 0 for non-members.
    operating_point : "balanced" or float, default="balanced"
        ``"balanced"``: the threshold of highest balanced accuracy (TPR - FPR at its
        maximum). A float ``f`` in (0, 1): the lowest threshold that accuses at most a share
        ``f`` of the non-members (a target false-positive rate).

    Returns
    -------
    threshold : float
        Half-way between two distinct scores, so that it does not depend on ties.
    """
    scores = np.asarray(scores, dtype=np.float64)
    membership = np.asarray(membership).astype(bool)
    order = np.argsort(-scores, kind="stable")
    s, m = scores[order], membership[order]
    # cut after the first i rows (highest scores), i = 0..n; only between distinct scores
    valid = np.ones(len(s) + 1, dtype=bool)
    valid[1:-1] = s[:-1] != s[1:]
    n_pos, n_neg = max(int(m.sum()), 1), max(int((~m).sum()), 1)
    tpr = np.concatenate([[0], np.cumsum(m)]) / n_pos
    fpr = np.concatenate([[0], np.cumsum(~m)]) / n_neg
    if operating_point == "balanced":
        best = int(np.argmax(np.where(valid, tpr - fpr, -np.inf)))
    else:
        allowed = valid & (fpr <= float(operating_point) + 1e-12)
        best = int(np.flatnonzero(allowed).max())
    if best == 0:
        return float(s[0] + max(1.0, abs(s[0]) * 1e-9))
    if best == len(s):
        return float(s[-1])
    return float(0.5 * (s[best - 1] + s[best]))


def _best_threshold(scores, membership):
    """The threshold of highest balanced accuracy (see :func:`calibrated_threshold`)."""
    return calibrated_threshold(scores, membership, "balanced")


def balanced_evaluation_set(
    members, non_members, *, n=None, random_state=None, draw="both", sort=True
):
    """Equal numbers of member and non-member row indices, with their membership labels.

    Every balanced member / non-member test set of the package is drawn here: members
    first, then non-members, each ``rng.choice(rows, n, replace=False)``, so that one
    seed gives the same rows wherever the set is built.

    Parameters
    ----------
    members, non_members : array-like of int
        Candidate row indices of each kind.
    n : int, default=None
        Rows of each kind; ``None``: as many as the smaller side has.
    random_state : int, RandomState instance or None, default=None
        The generator of the draws; a ``RandomState`` instance is advanced, so that a
        caller's later draws follow these.
    draw : {"both", "members"}, default="both"
        Which sides are drawn at random. ``"both"``: ``n`` rows of each side, without
        replacement (a side of exactly ``n`` rows is drawn too, so that the generator
        advances alike whatever the sizes). ``"members"``: only the members are drawn;
        the non-members are the first ``n`` of ``non_members``, for a caller whose
        non-member candidates are already in random order.
    sort : bool, default=True
        Sort each side's rows; ``False`` keeps them in the order drawn.

    Returns
    -------
    rows : tuple (ndarray, ndarray)
        The member rows, then the non-member rows.
    membership : ndarray of shape (2 * n,)
        ``n`` ones followed by ``n`` zeros, matching ``np.concatenate(rows)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.attacks.membership._base import balanced_evaluation_set
    >>> (members, non_members), membership = balanced_evaluation_set(
    ...     np.arange(10), np.arange(100, 103), random_state=0
    ... )
    >>> len(members), len(non_members), membership.tolist()
    (3, 3, [1, 1, 1, 0, 0, 0])
    """
    if draw not in ("both", "members"):
        raise ValueError(f'draw must be "both" or "members"; got {draw!r}.')
    members, non_members = np.asarray(members), np.asarray(non_members)
    size = min(len(members), len(non_members)) if n is None else int(n)
    if size > min(len(members), len(non_members)):
        raise ValueError(
            f"A balanced evaluation set of {size} members and {size} non-members needs that "
            f"many of each; got {len(members)} members and {len(non_members)} non-members."
        )
    rng = check_random_state(random_state)

    def pick(rows, drawn):
        rows = rng.choice(rows, size=size, replace=False) if drawn else rows[:size]
        return np.sort(rows) if sort else rows

    chosen = (pick(members, True), pick(non_members, draw == "both"))  # members drawn first
    membership = np.r_[np.ones(size, dtype=np.int64), np.zeros(size, dtype=np.int64)]
    return chosen, membership


class BaseMembershipAttack(BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of membership attacks; not for direct use (abstract)."""

    _parameter_constraints: dict = {
        # checked in _checked_target, with a message that names the target
        "target": "no_validation",
        "n_jobs": [Interval(numbers.Integral, None, None, closed="neither"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------------ cloning
    def __sklearn_clone__(self):
        """Clone every parameter but ``target``, which is the fitted model under attack.

        ``sklearn.base.clone`` would replace a fitted target by an unfitted copy; an
        attack never refits its target, so the clone refers to the very same model.
        """
        params = self.get_params(deep=False)
        target = params.pop("target")
        cloned = {key: clone(value, safe=False) for key, value in params.items()}
        return type(self)(target=target, **cloned)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.allow_nan = True  # the target decides what it accepts
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------ target
    def _checked_target(self, *, fitted_attack=False):
        target = self.target
        name = type(self).__name__
        if target is None:
            raise ValueError(
                f"{name} has no target: pass `target=` (a fitted classifier) or call "
                "set_params(target=...) before fit."
            )
        if not hasattr(target, "predict_proba"):
            raise TypeError(
                f"{name} needs a target with predict_proba; `target` is a "
                f"{type(target).__name__}, which has none: wrap it in sklearn's "
                "CalibratedClassifierCV (e.g. CalibratedClassifierCV(model, "
                "ensemble=False).fit(X_train, y_train)) to attack its probabilities."
            )
        try:
            check_is_fitted(target)
        except NotFittedError as exc:
            raise NotFittedError(
                f"{name} attacks a fitted model, but `target` ({type(target).__name__}) is "
                "not fitted: fit it on its training data first."
            ) from exc
        classes = getattr(target, "classes_", None)
        if classes is None:
            raise TypeError(
                f"`target` ({type(target).__name__}) has no classes_; {name} needs a "
                "fitted classifier."
            )
        classes = np.asarray(classes)
        if fitted_attack and not np.array_equal(classes, self.target_classes_):
            raise ValueError(
                f"`target` has classes {classes.tolist()}, but this {name} was fitted for a "
                f"target with classes {self.target_classes_.tolist()}; refit the attack."
            )
        return target, classes

    def _label_index(self, y, classes, *, param="y"):
        y = column_or_1d(y, warn=True)
        unseen = np.setdiff1d(np.unique(y), classes)
        if unseen.size:
            raise ValueError(
                f"`{param}` has labels {unseen.tolist()[:10]} unseen by the target, whose "
                f"classes_ are {classes.tolist()[:30]}; membership is only defined for the "
                "target's labels."
            )
        lookup = {label: j for j, label in enumerate(classes.tolist())}
        return y, np.array([lookup[v] for v in y.tolist()], dtype=np.intp)

    def _check_Xy(self, X, y, classes):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                "membership is a property of a (record, true label) pair."
            )
        n_X, n_y = _num_samples(X), _num_samples(y)
        if n_X != n_y:
            raise ValueError(f"`X` and `y` must have the same number of rows; got {n_X} and {n_y}.")
        if n_X == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={getattr(X, 'shape', (0,))}) while a "
                "minimum of 1 is required: `X` is empty."
            )
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) == 2 and shape[1] == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is "
                "required: `X` has no columns."
            )
        y, label_index = self._label_index(y, classes)
        return X, y, label_index

    def _target_proba(self, X, label_index, classes):
        proba = aligned_proba(self.target, X, classes)
        return proba, true_class_logit(proba, label_index)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        """Train the attack on the attacker's own data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows from the target's data distribution that are *not* in its training set
            (anything the target accepts: arrays, DataFrames for a pipeline).
        y : array-like of shape (n_samples,)
            Their true labels, all among the target's ``classes_``.

        Returns
        -------
        self
        """
        self._validate_params()
        _, classes = self._checked_target()
        X, y, label_index = self._check_Xy(X, y, classes)
        try:  # shadow models would silently train on rows the target cannot read
            self.target.predict_proba(take_rows(X, [0]))
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ValueError(
                f"The target ({type(self.target).__name__}) cannot read the rows given to "
                f"{type(self).__name__}.fit ({exc}): give the attack rows in the format the "
                "target was fitted on."
            ) from exc
        self.target_classes_ = classes
        self.classes_ = np.array([0, 1])
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) == 2:
            self.n_features_in_ = int(shape[1])
        self._fit(X, y, label_index)
        return self

    @abstractmethod
    def _fit(self, X, y, label_index):
        """Fit the attack on the attacker's rows (``label_index``: column of each label)."""

    @abstractmethod
    def _decision(self, X, y, label_index):
        """Membership scores, centred on the decision threshold."""

    def _calibrate(self, centred, membership):
        self.slope_ = _fit_slope(centred, membership)

    # ------------------------------------------------------------------ predict
    def _prepare(self, X, y):
        check_is_fitted(self, "target_classes_")
        _, classes = self._checked_target(fitted_attack=True)
        return self._check_Xy(X, y, classes)

    def decision_function(self, X, y):
        """Membership score of each ``(x, y)``: higher is more likely a member.

        Centred so that ``predict`` says "member" where the score is >= 0. Scores come from
        continuous, saturation-free statistics, so distinct rows get distinct scores
        (ties remain only where the target itself outputs identical probabilities, as a
        random forest's votes may).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        X, y, label_index = self._prepare(X, y)
        return np.asarray(self._decision(X, y, label_index), dtype=np.float64)

    def score_samples(self, X, y):
        """Same as :meth:`decision_function` (membership scores for ROC curves).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return self.decision_function(X, y)

    def predict_proba(self, X, y):
        """Probability of non-membership (column 0) and membership (column 1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
        """
        scores = self.decision_function(X, y)
        member = 0.5 * (1.0 + np.tanh(0.5 * self.slope_ * scores))  # stable sigmoid
        return np.column_stack([1.0 - member, member])

    def predict(self, X, y):
        """1 where ``(x, y)`` is judged a member of the target's training set, else 0.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        membership : ndarray of shape (n_samples,)
        """
        return (self.decision_function(X, y) >= 0).astype(np.int64)

    def _check_membership(self, X, membership):
        membership = column_or_1d(membership)
        if _num_samples(X) != len(membership):
            raise ValueError(
                f"`membership` must have one entry per row of X ({_num_samples(X)}); got "
                f"{len(membership)}."
            )
        if not np.isin(np.unique(membership), [0, 1]).all():
            raise ValueError(
                "`membership` must hold 1 (member) and 0 (non-member); got values "
                f"{np.unique(membership).tolist()[:10]}."
            )
        return membership.astype(np.int64)

    def score(self, X, y, membership):
        """Attack accuracy on rows whose membership is known.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        membership : array-like of shape (n_samples,)
            1 for rows of the target's training set, 0 for others.

        Returns
        -------
        accuracy : float
        """
        membership = self._check_membership(X, membership)
        return float(np.mean(self.predict(X, y) == membership))

    def report(self, X, y, membership):
        """Every attack metric (accuracy ... TPR at 0.1% FPR) on rows of known membership.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        membership : array-like of shape (n_samples,)
            1 for rows of the target's training set, 0 for others.

        Returns
        -------
        report : skfedmia.metrics.AttackReport
            Every figure with its 95% interval; ``report.to_dict()`` gives a ``dict``;
            ``report.basis`` (printed first) says what the figures rest on: the attack
            and its fitted settings.
        """
        membership = self._check_membership(X, membership)
        scores = self.decision_function(X, y)
        return attack_report(
            membership, scores, (scores >= 0).astype(np.int64), basis=self._basis()
        )

    def _basis(self):
        """One line on what this fitted attack's figures rest on (``report.basis``)."""
        return type(self).__name__


def row_keys(X, y):
    """Hashable keys of rows, to recognise query rows that were in the reference pool.

    Numeric arrays and DataFrames (of any column types) are keyed by their values and
    label; ``None`` where rows cannot be keyed (e.g. a list of strings).
    """
    labels = [repr(label).encode() for label in np.asarray(y).tolist()]
    if hasattr(X, "iloc"):
        import pandas as pd

        try:
            hashes = pd.util.hash_pandas_object(X, index=False).to_numpy()
        except TypeError:
            return None
        return [
            hashlib.blake2b(int(h).to_bytes(8, "little") + label, digest_size=12).digest()
            for h, label in zip(hashes, labels, strict=True)
        ]
    try:
        values = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    except (TypeError, ValueError):
        return None
    if values.ndim != 2:
        return None
    return [
        hashlib.blake2b(row.tobytes() + label, digest_size=12).digest()
        for row, label in zip(values, labels, strict=True)
    ]


def take_rows(X, indices):
    """Rows of ``X`` (array, sparse matrix, DataFrame or list) at ``indices``."""
    return _safe_indexing(X, indices)
