"""Colluding insiders: one node's step seen from the models before and after it."""

from __future__ import annotations

import copy
import numbers

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import column_or_1d

from ...metrics._intervals import delong_paired_se
from ._base import BaseMembershipAttack, _best_threshold, _fit_slope, aligned_proba
from ._dynamics import _model_classes, _true_class_loss
from ._signals import true_class_logit

__all__ = ["ColludingInsidersAttack"]


def _copy_attack(attack):
    """A copy of a (fitted) attack that shares its target instead of copying it."""
    target = getattr(attack, "target", None)
    memo = {} if target is None else {id(target): target}
    return copy.deepcopy(attack, memo)


class ColludingInsidersAttack(BaseMembershipAttack):
    """Membership in one node's data from the models just before and after its step.

    The nodes just before and just after node k in a sequential federation see the
    model as it reached k (``model_before``) and as it left k (``target``). Together they
    score a record by its single-snapshot membership score on ``target`` plus ``w`` times
    the drop of its loss across k's step (both scaled by their spread on the
    calibration rows). The weight ``w`` is chosen among ``weights`` to maximise the ROC
    AUC on calibration rows of known membership, ties going to the smaller weight; as
    ``0`` is always among the candidates, the pair falls back to the single snapshot
    whenever the loss drop does not help on those rows. ``min_gain`` asks for more than
    any gain: with ``"se"`` a weight is kept only if its AUC beats the single snapshot's by
    at least one standard error of the paired difference (DeLong) on those rows, so that a
    gain within the calibration rows' noise never displaces the single snapshot. The
    decision threshold is the one with the best accuracy on the calibration rows.

    Calibration rows come from a step the insiders can reproduce themselves: a copy of
    ``model_before`` trained for the protocol's local epochs on rows of their own pool
    (members) leaves other pool rows as non-members. Fit the attack with that copy as
    ``target``, then re-target it at the real model with ``set_params(target=...)``.

    Parameters
    ----------
    target : fitted classifier with ``predict_proba``, default=None
        The model as it left node k; kept as it is by ``clone``.
    model_before : fitted classifier with ``predict_proba``, default=None
        The model as it reached node k, with the same classes.
    attack : fitted membership attack or None, default=None
        The single-snapshot attack (anything with ``decision_function(X, y)`` and
        ``set_params(target=...)``, fitted); it is copied and re-targeted, never changed.
        ``None`` scores a record by its true-class logit on ``target``.
    weights : array-like of float, default=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
        Candidate weights of the loss drop; ``0`` is always added.
    min_gain : float >= 0 or "se", default=0.0
        Calibration AUC the best weight must gain over the single snapshot (weight 0) to be
        kept: a number, or ``"se"`` for one standard error of the paired AUC difference on
        the calibration rows. ``0`` keeps the best weight whatever its gain.
    random_state : None
        Not used (the attack is deterministic); present for the common interface.

    Attributes
    ----------
    weight_ : float
        The chosen weight of the loss drop (0: the single snapshot alone).
    calibration_auc_ : dict
        ROC AUC on the calibration rows of every candidate weight.
    threshold_ : float
        Combined score above which a record is called a member.
    attack_ : estimator or None
        The copied single-snapshot attack.
    target_classes_ : ndarray
    classes_ : ndarray of shape (2,)

    See Also
    --------
    LossChangeAttack : the loss drop alone.
    MembershipMonitor : runs this attack at every step of an attacked node.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skfedmia.attacks.membership import ColludingInsidersAttack
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.normal(size=(400, 20)), rng.randint(0, 2, 400)
    >>> before = SGDClassifier(loss="log_loss", random_state=0).fit(X[300:], y[300:])
    >>> after = SGDClassifier(loss="log_loss", random_state=0).fit(X[:100], y[:100])
    >>> membership = np.r_[np.ones(100), np.zeros(100)]
    >>> attack = ColludingInsidersAttack(after, model_before=before)
    >>> attack = attack.fit(X[:200], y[:200], membership)
    >>> attack.predict(X[:3], y[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "target": [HasMethods(["predict_proba"]), None],
        "model_before": [HasMethods(["predict_proba"]), None],
        "attack": [HasMethods(["decision_function", "set_params"]), None],
        "weights": ["array-like"],
        "min_gain": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"se"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        target=None,
        *,
        model_before=None,
        attack=None,
        weights=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0),
        min_gain=0.0,
        random_state=None,
    ):
        self.target = target
        self.model_before = model_before
        self.attack = attack
        self.weights = weights
        self.min_gain = min_gain
        self.random_state = random_state

    def __sklearn_clone__(self):
        # the models are attacked, never refitted: a clone keeps them as they are
        return type(self)(
            self.target,
            model_before=self.model_before,
            attack=self.attack,
            weights=self.weights,
            min_gain=self.min_gain,
            random_state=self.random_state,
        )

    def fit(self, X, y, membership):
        """Choose the weight and the threshold on rows of known membership in ``target``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        membership : array-like of shape (n_samples,)
            1 for rows ``target`` trained on in the step (and ``model_before`` did not),
            0 for rows neither model saw; both must occur.

        Returns
        -------
        self
        """
        membership = self._check_membership(X, membership)
        if len(np.unique(membership)) < 2:
            raise ValueError(
                "membership must hold both members (1) and non-members (0) to calibrate "
                "the colluding insiders' attack."
            )
        self._membership = membership
        try:
            super().fit(X, y)
        finally:
            del self._membership
        return self

    def _check_models(self):
        if self.model_before is None:
            raise ValueError(
                "ColludingInsidersAttack needs model_before, the model as it reached the node."
            )
        before = _model_classes(self.model_before, "model_before")
        after = _model_classes(self.target, "target")
        if not np.array_equal(before, after):
            raise ValueError(
                "model_before and target must know the same classes: model_before has "
                f"{before.tolist()[:20]}, target has {after.tolist()[:20]}."
            )

    def _signals(self, X, y, label_index):
        self._check_models()
        classes = self.target_classes_
        if self.attack_ is None:
            single = true_class_logit(aligned_proba(self.target, X, classes), label_index)
        else:
            self.attack_.set_params(target=self.target)
            single = self.attack_.decision_function(X, y)
        drop = _true_class_loss(self.model_before, X, label_index, classes) - _true_class_loss(
            self.target, X, label_index, classes
        )
        return np.asarray(single, dtype=np.float64), drop

    def _fit(self, X, y, label_index):
        weights = np.unique(np.r_[0.0, column_or_1d(np.asarray(self.weights, dtype=float))])
        if np.any(weights < 0) or not np.all(np.isfinite(weights)):
            raise ValueError(f"weights must be finite and >= 0; got {self.weights!r}.")
        self.attack_ = None if self.attack is None else _copy_attack(self.attack)
        single, drop = self._signals(X, y, label_index)
        self.scales_ = (float(np.std(single)) or 1.0, float(np.std(drop)) or 1.0)
        membership = self._membership
        self.calibration_auc_ = {}
        best = None
        for w in weights:  # ascending: ties keep the smaller weight
            combined = single / self.scales_[0] + w * drop / self.scales_[1]
            auc = float(roc_auc_score(membership, combined))
            self.calibration_auc_[float(w)] = auc
            if best is None or auc > best[1]:
                best = (float(w), auc)
        self.weight_ = best[0]
        if self.weight_ > 0:
            gain = best[1] - self.calibration_auc_[0.0]
            if self.min_gain == "se":
                alone = single / self.scales_[0]
                needed = delong_paired_se(membership, self._combine(single, drop), alone)
            else:
                needed = float(self.min_gain)
            if gain < needed:
                self.weight_ = 0.0
        combined = self._combine(single, drop)
        self.threshold_ = float(_best_threshold(combined, membership))
        self.slope_ = _fit_slope(combined - self.threshold_, membership)

    def _combine(self, single, drop):
        return single / self.scales_[0] + self.weight_ * drop / self.scales_[1]

    def _decision(self, X, y, label_index):
        return self._combine(*self._signals(X, y, label_index)) - self.threshold_
