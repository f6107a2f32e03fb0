"""Threshold attacks on one statistic of the target's output (loss, confidence, entropy)."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import aligned_proba, calibrated_threshold, take_rows
from ._shadow_training import BaseShadowModelAttack
from ._signals import SIGNALS, compute_signal

__all__ = ["ThresholdAttack"]


class ThresholdAttack(BaseShadowModelAttack):
    """Membership attack by thresholding one statistic of the target's output.

    The cheap baselines of the literature: a row is called a member when the target's loss
    on it is low (Yeom et al., 2018), its confidence high or its prediction entropy low
    (Salem et al., 2019), or its modified entropy low (Song & Mittal, 2021). The threshold
    (one, or one per label) is set at ``operating_point`` on shadow models' training and
    held-out rows; with ``n_shadow_models=0`` no model is trained and the threshold is set
    on the attacker's rows (non-members of the target) so that ``fpr`` of them would be
    called members.

    Parameters
    ----------
    target : fitted classifier with ``predict_proba``, default=None
        The model under attack; kept as it is by ``clone``.
    signal : {"loss", "confidence", "entropy", "modified_entropy"}, default="loss"
        ``"loss"``: the true label's cross-entropy loss, scored as the logit-scaled true-
        class confidence (same ranking, no saturation). ``"confidence"``: the top class's
        probability (label-free). ``"entropy"``: the prediction's entropy (label-free).
        ``"modified_entropy"``: Song & Mittal's label-aware entropy.
    n_shadow_models : int, default=1
        Shadow models the threshold is chosen on; ``0`` chooses it from the attacker's rows.
    shadow_estimator : classifier, default=None
        Template of the shadows; ``None`` clones the target.
    shadow_size : int, default=None
        Training rows of each shadow (each has as many held-out rows); ``None``: the
        target's training size where skfedmia recorded it at ``fit``, else half the
        attacker's rows. Shadows are disjoint when the rows suffice, else overlapping.
    per_class : bool, default=False
        One threshold per true label (Song & Mittal's class-dependent thresholds).
    fpr : float, default=0.1
        False-positive rate aimed at when ``n_shadow_models=0`` (no members to calibrate
        on).
    operating_point : "balanced" or float, default="balanced"
        With shadow models: ``"balanced"``, the threshold of highest balanced accuracy on
        their rows; a float, the threshold at that false-positive rate.
    n_jobs : int, default=None
        Shadow models trained in parallel through joblib.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    threshold_ : float
        The threshold on the signal (members have signal >= threshold).
    thresholds_ : dict
        Per-label thresholds when ``per_class`` (labels with too little data use
        ``threshold_``).
    shadow_estimators_ : list
    shadow_indices_ : list of tuple (ndarray, ndarray)
    shadow_labels_seen_ : ndarray of shape (n_shadow_models, n_target_classes)
        ``shadow_labels_seen_[k, j]``: model ``k`` trained on rows of the target's label ``j``.
    shadow_size_ : int or None
    target_classes_ : ndarray
    classes_ : ndarray of shape (2,)
    slope_ : float

    See Also
    --------
    MembershipInferenceAttack : learns the decision from whole probability vectors.
    LikelihoodRatioAttack : per-example thresholds from reference models.

    References
    ----------
    .. [1] S. Yeom, I. Giacomelli, M. Fredrikson and S. Jha, "Privacy Risk in Machine
       Learning: Analyzing the Connection to Overfitting", CSF 2018.
    .. [2] A. Salem et al., "ML-Leaks: Model and Data Independent Membership Inference
       Attacks and Defenses on Machine Learning Models", NDSS 2019.
    .. [3] L. Song and P. Mittal, "Systematic Evaluation of Privacy Risks of Machine
       Learning Models", USENIX Security 2021.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from skfedmia.attacks.membership import ThresholdAttack
    >>> X, y = load_digits(return_X_y=True)
    >>> target = RandomForestClassifier(n_estimators=20, random_state=0).fit(X[:400], y[:400])
    >>> attack = ThresholdAttack(target, signal="loss", random_state=0).fit(X[800:], y[800:])
    >>> membership = [1] * 400 + [0] * 400
    >>> bool(attack.score(X[:800], y[:800], membership) > 0.6)
    True
    """

    _parameter_constraints: dict = {
        **BaseShadowModelAttack._parameter_constraints,
        "signal": [StrOptions(set(SIGNALS))],
        "n_shadow_models": [Interval(numbers.Integral, 0, None, closed="left")],
        "per_class": ["boolean"],
        "fpr": [Interval(numbers.Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        target=None,
        *,
        signal="loss",
        n_shadow_models=1,
        shadow_estimator=None,
        shadow_size=None,
        per_class=False,
        fpr=0.1,
        operating_point="balanced",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.target = target
        self.signal = signal
        self.n_shadow_models = n_shadow_models
        self.shadow_estimator = shadow_estimator
        self.shadow_size = shadow_size
        self.per_class = per_class
        self.fpr = fpr
        self.operating_point = operating_point
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _basis_details(self):
        return [f"signal {self.signal!r}" + (", per label" if self.thresholds_ else "")]

    def _basis(self):
        if self.shadow_estimators_:
            return super()._basis()
        n = self.shadow_in_mask_.shape[1]
        return (
            f"ThresholdAttack on the attacker's {n:,} rows, no shadow models; "
            f"{self._basis_details()[0]}; threshold at the top {self.fpr:g} of those rows "
            "(no members to calibrate on)"
        )

    def _fit_attack(self, X, y, label_index, seeds):
        classes = self.target_classes_
        self.thresholds_ = {}
        if not self.shadow_estimators_:
            proba = aligned_proba(self.target, X, classes)
            signal = compute_signal(self.signal, proba, label_index)
            self.threshold_ = float(np.quantile(signal, 1.0 - self.fpr))
            if self.per_class:
                for j, label in enumerate(classes.tolist()):
                    rows = label_index == j
                    if rows.sum() >= 2:
                        self.thresholds_[label] = float(np.quantile(signal[rows], 1 - self.fpr))
            self._calibrate_unsupervised(signal, label_index)
            return
        signals, labels, membership = [], [], []
        for shadow, rows, member in self._in_out_rows():
            proba = aligned_proba(shadow, take_rows(X, rows), classes)
            signals.append(compute_signal(self.signal, proba, label_index[rows]))
            labels.append(label_index[rows])
            membership.append(member)
        signal = np.concatenate(signals)
        labels = np.concatenate(labels)
        membership = np.concatenate(membership)
        self.threshold_ = calibrated_threshold(signal, membership, self.operating_point)
        if self.per_class:
            for j, label in enumerate(classes.tolist()):
                rows = labels == j
                m = membership[rows]
                if min(np.sum(m == 1), np.sum(m == 0)) >= 2:
                    self.thresholds_[label] = calibrated_threshold(
                        signal[rows], m, self.operating_point
                    )
        self._calibrate(self._shift(signal, labels), membership)

    def _calibrate_unsupervised(self, signal, label_index):
        # no members to calibrate on: one unit of the signal's spread per logit unit
        spread = float(np.std(self._shift(signal, label_index))) or 1.0
        self.slope_ = 1.0 / spread

    def _shift(self, signal, label_index):
        if not self.thresholds_:
            return signal - self.threshold_
        cut = np.array(
            [self.thresholds_.get(label, self.threshold_) for label in self.target_classes_]
        )
        return signal - cut[label_index]

    def _decision(self, X, y, label_index):
        proba = aligned_proba(self.target, X, self.target_classes_)
        return self._shift(compute_signal(self.signal, proba, label_index), label_index)
