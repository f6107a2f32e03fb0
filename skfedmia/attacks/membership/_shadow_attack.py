"""The shadow-model membership inference attack of Shokri et al., as Pustozerova & Mayer use it."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import HasMethods, StrOptions

from ...neural_net import can_fit_together, fit_mlp_ensemble
from ...utils._random import spawn_seeds
from ._base import _set_random_states, aligned_proba, row_keys, take_rows
from ._shadow_training import BaseShadowModelAttack
from ._signals import true_class_logit

__all__ = ["MembershipInferenceAttack"]

# logits of float32 probabilities are finite within +-104; +-110 stands for p = 0 or 1
_LOGIT_CAP = 110.0
# weight of the tie-breaking statistic; far below the gap between distinct float32 logits
_TIE_WEIGHT = 1e-9
# the logit-scaled confidence as an attack feature is kept within +-this
_SIGNAL_CLIP = 50.0
# a label gets its own calibration when its shadow rows hold this many members and
# non-members; others use the calibration over all labels
_MIN_CLASS_ROWS = 10


def _default_attack_estimator():
    from ...neural_net import TorchMLPClassifier

    return TorchMLPClassifier(
        hidden_layer_sizes=(64,),
        activation="sigmoid",
        dropout=0.0,
        lr=0.005,
        max_epochs=40,
        batch_size=128,
    )


def _logit(p):
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        z = np.log(p) - np.log1p(-p)
    return np.clip(
        np.nan_to_num(z, nan=0.0, posinf=_LOGIT_CAP, neginf=-_LOGIT_CAP), -_LOGIT_CAP, _LOGIT_CAP
    )


def _scaled(signal):
    """A logit-scaled confidence as an attack input: within +-50, over 10."""
    return np.clip(signal, -_SIGNAL_CLIP, _SIGNAL_CLIP) / 10.0


def _platt(logit, membership):
    """``(slope, intercept)`` of ``P(member) = sigmoid(slope * logit + intercept)``."""
    lr = LogisticRegression(C=1e4).fit(np.clip(logit, -_LOGIT_CAP, _LOGIT_CAP)[:, None], membership)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


class MembershipInferenceAttack(BaseShadowModelAttack):
    """Shadow-model membership inference attack against any fitted classifier.

    The attacker trains ``n_shadow_models`` shadow models that imitate the target, each on
    a part of the attacker's data with an equal-sized part held out. The shadows' outputs on
    their training rows (label 1) and held-out rows (label 0) teach an attack model to tell
    members from non-members by the target's output (Shokri et al., 2017). Pustozerova &
    Mayer (2020) use it as an insider of a federation: the shadows share the target's
    architecture and training settings, the attack model is an MLP with 64 sigmoid units,
    and its input is the probability vector plus the true label.

    The defaults are the attack's strongest sound setting: shadows as large as the
    target's training set, drawn with overlap from the attacker's rows when they are too few
    for disjoint shadows, difficulty-calibrated inputs (below), and a decision threshold
    calibrated on the shadows' rows.

    *Difficulty calibration* (Watson et al., 2022): a row that every model fits well is no
    evidence of membership, so the attack model also sees how the model's confidence in the
    row compares with that of models that did not train on it. For a shadow's row these are
    the other shadows that left it out; for a queried row, the shadows (all of them, or those
    that left it out when it is one of the attacker's own rows). The shadows serve twice,
    so this costs predictions, not training.

    Parameters
    ----------
    target : fitted classifier with ``predict_proba``, default=None
        The model under attack; never refitted, and kept as it is by ``clone``.
        ``set_params(target=other)`` on a fitted attack attacks another model (with the
        same classes) without retraining the shadows, e.g. every snapshot of a federation.
    n_shadow_models : int, default=10
        Number of shadow models.
    shadow_estimator : classifier, default=None
        Template of the shadow models, cloned and seeded for each. ``None`` clones the
        target (the attacker knows its architecture and training parameters).
    attack_estimator : classifier, default=None
        The attack model, any classifier with ``predict_proba``. ``None``: the paper's MLP,
        ``TorchMLPClassifier(hidden_layer_sizes=(64,), activation="sigmoid")`` (no dropout,
        ``lr=0.005``, 40 epochs in batches of 128). A ``TorchMLPClassifier`` that
        :func:`~skfedmia.neural_net.can_fit_together` (the default among them) trains on
        the lean stacked path of :func:`~skfedmia.neural_net.fit_mlp_ensemble`: the same
        model as its own ``fit`` up to float rounding, faster; its skorch ``history_`` is
        then empty.
    shadow_size : int, default=None
        Training rows of each shadow model (each has as many held-out rows). ``None``: the
        target's training size where skfedmia recorded it at ``fit``
        (``TorchMLPClassifier``, the federations, a ``Pipeline`` ending in one), else half
        the attacker's rows; capped at half the attacker's rows. Shadows imitate the target
        best when trained on as many rows as it was.
    disjoint : bool, default=None
        ``True``: the in and out parts of all shadows are pairwise disjoint (needs
        ``2 * n_shadow_models * shadow_size`` rows). ``False``: each shadow draws its
        (disjoint) in and out parts from all the attacker's rows afresh. ``None``: disjoint
        when the rows suffice, else overlapping. The fitted choice is ``disjoint_``.
    features : {"auto", "calibrated", "full", "paper"}, default="auto"
        Input of the attack model. ``"paper"``: the shadow's probability vector and the
        one-hot true label. ``"full"``: those plus the logit-scaled confidence in the true
        label, ``s = log p_y - log(1 - p_y)`` (clipped to +-50, over 10), which separates
        members sharply where probabilities saturate. ``"calibrated"``: those plus the
        difficulty of the row, ``r``, the mean ``s`` of the shadows that did not train on
        it, and the difference ``s - r`` (both clipped and scaled alike); it needs at
        least 2 shadow models. ``"auto"``: ``"calibrated"`` with 2 or more shadow models,
        else ``"full"`` (``features_`` holds the choice).
    per_class : bool, default=False
        Scores calibrated per true label, so that they mean the same membership probability
        whatever the label: the attack model's logit is mapped, for each label with at
        least 10 shadow members and non-members, by a logistic regression fitted on that
        label's shadow rows (Platt scaling; a label the attack cannot rank gets its member
        rate), the other labels by one over all rows. Shokri
        et al. train one attack model per label instead; each then sees a thirtieth of the
        rows on Location and their probabilities are not comparable across labels, which
        lowers the AUC.
    sampler : imbalanced-learn sampler, default=None
        Resamples the attack model's training set (in/out rows), e.g.
        ``RandomUnderSampler``.
    operating_point : "balanced" or float, default="balanced"
        Where ``predict`` decides, calibrated on the shadows' rows (never on the rows being
        judged): ``"balanced"``, the threshold of highest balanced accuracy; a float such
        as ``0.01``, the threshold accusing that share of the shadows' non-members.
    n_jobs : int, default=None
        Shadow models trained in parallel through joblib (``-1``: all cores). A Dask
        cluster works through ``joblib.parallel_backend("dask")``.
    random_state : int, RandomState instance or None, default=None
        Fixes the split, each shadow's and the attack model's seed: an int repeats exactly.
    verbose : int, default=0
        ``> 0`` shows a progress bar over shadow models.

    Attributes
    ----------
    shadow_estimators_ : list of estimators
        The fitted shadow models.
    shadow_indices_ : list of tuple (ndarray, ndarray)
        For each shadow, the row indices (into ``X`` given to ``fit``) of its training
        ("in") and held-out ("out") parts.
    shadow_in_mask_ : ndarray of shape (n_shadow_models, n_samples)
        ``shadow_in_mask_[k, i]``: row ``i`` was in shadow ``k``'s training part.
    shadow_size_ : int
        Training rows of each shadow.
    shadow_labels_seen_ : ndarray of shape (n_shadow_models, n_target_classes)
        ``shadow_labels_seen_[k, j]``: model ``k`` trained on rows of the target's label ``j``.
    disjoint_ : bool
        Whether the shadows' parts are pairwise disjoint.
    attack_estimator_ : estimator
        The fitted attack model.
    features_ : str
        The attack model's input used (``"calibrated"``, ``"full"`` or ``"paper"``).
    reference_fallback_ : float or None
        With ``features_ == "calibrated"``: the difficulty given to a queried row that no
        shadow can judge (none trained on its label), the median ``s`` of all shadows on
        the attacker's rows they left out.
    class_calibration_ : dict
        ``{label: (slope, intercept)}`` applied to the attack model's logit; empty unless
        ``per_class``.
    threshold_ : float
        Decision threshold on the (calibrated) attack logit.
    target_classes_ : ndarray
        Classes of the target the attack was fitted for.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``: non-member, member.
    slope_ : float
        Slope of the sigmoid from ``decision_function`` to ``predict_proba``.

    See Also
    --------
    LikelihoodRatioAttack : a stronger attack at low false-positive rates.
    RelativeMembershipInferenceAttack : RMIA, strong with few reference models.
    ThresholdAttack : cheap loss / confidence / entropy thresholds.
    skfedmia.make_membership_scorer : this attack as a ``GridSearchCV`` scorer.

    References
    ----------
    .. [1] R. Shokri, M. Stronati, C. Song and V. Shmatikov, "Membership Inference Attacks
       against Machine Learning Models", IEEE S&P 2017.
    .. [2] A. Pustozerova and R. Mayer, "Information Leaks in Federated Learning", 2020.
    .. [3] L. Watson, C. Guo, G. Cormode and A. Sablayrolles, "On the Importance of
       Difficulty Calibration in Membership Inference Attacks", ICLR 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from skfedmia.attacks import MembershipInferenceAttack
    >>> X, y = load_digits(return_X_y=True)
    >>> target = RandomForestClassifier(n_estimators=20, random_state=0).fit(X[:400], y[:400])
    >>> attack = MembershipInferenceAttack(target, n_shadow_models=2, random_state=0)
    >>> _ = attack.fit(X[800:], y[800:])  # the attacker's own rows
    >>> X_eval, y_eval = X[:800], y[:800]  # 400 members, then 400 non-members
    >>> membership = [1] * 400 + [0] * 400
    >>> attack.predict(X_eval[:3], y_eval[:3]).shape
    (3,)
    >>> bool(attack.score(X_eval, y_eval, membership) > 0.6)
    True
    """

    _parameter_constraints: dict = {
        **BaseShadowModelAttack._parameter_constraints,
        "attack_estimator": [HasMethods(["fit", "predict_proba"]), None],
        "disjoint": ["boolean", None],
        "features": [StrOptions({"auto", "calibrated", "full", "paper"})],
        "per_class": ["boolean"],
        "sampler": [HasMethods(["fit_resample"]), None],
    }

    _n_extra_seeds = 1

    def __init__(
        self,
        target=None,
        *,
        n_shadow_models=10,
        shadow_estimator=None,
        attack_estimator=None,
        shadow_size=None,
        disjoint=None,
        features="auto",
        per_class=False,
        sampler=None,
        operating_point="balanced",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.target = target
        self.n_shadow_models = n_shadow_models
        self.shadow_estimator = shadow_estimator
        self.attack_estimator = attack_estimator
        self.shadow_size = shadow_size
        self.disjoint = disjoint
        self.features = features
        self.per_class = per_class
        self.sampler = sampler
        self.operating_point = operating_point
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ features
    def _features(self, proba, label_index, reference=None):
        onehot = np.zeros_like(proba)
        onehot[np.arange(len(proba)), label_index] = 1.0
        parts = [proba, onehot]
        features = self.features_
        if features in ("full", "calibrated"):
            # clipped (probabilities of exactly 0 or 1 give +-700) and brought to the
            # scale of the other inputs
            signal = true_class_logit(proba, label_index)
            parts.append(_scaled(signal)[:, None])
            if features == "calibrated":
                parts.append(_scaled(reference)[:, None])
                parts.append(_scaled(signal - reference)[:, None])
        return np.hstack(parts).astype(np.float32)

    def _resolve_features(self):
        if self.features == "auto":
            return "calibrated" if self.n_shadow_models >= 2 else "full"
        if self.features == "calibrated" and self.n_shadow_models < 2:
            raise ValueError(
                'features="calibrated" compares each shadow\'s rows with other shadows that '
                f"left them out, so it needs n_shadow_models >= 2; got {self.n_shadow_models}. "
                'Train more shadow models, or use features="full".'
            )
        return self.features

    def _fit(self, X, y, label_index):
        # checked before any shadow is trained
        self.features_ = self._resolve_features()
        super()._fit(X, y, label_index)

    def _shadow_rows(self, X, label_index):
        """``(proba, label_index, membership, reference)`` of every shadow's rows, stacked.

        With calibrated features, every shadow is asked about every row any shadow used,
        once; a row's reference is the mean logit-scaled confidence of the other shadows
        that left it out and trained on its label. Rows that no other shadow can judge
        (possible when shadows overlap) are left out of the attack model's training set.
        """
        classes = self.target_classes_
        calibrated = self.features_ == "calibrated"
        if calibrated:
            used = np.unique(np.concatenate([np.r_[i, o] for i, o in self.shadow_indices_]))
            position = np.full(len(label_index), -1)
            position[used] = np.arange(len(used))
            # one pass per shadow over the used rows: keep its signal on all of them and
            # its probabilities on its own rows only
            signal = np.empty((len(self.shadow_estimators_), len(used)))
            probas = []
            for j, (model, (inside, outside)) in enumerate(
                zip(self.shadow_estimators_, self.shadow_indices_, strict=True)
            ):
                proba = aligned_proba(model, take_rows(X, used), classes)
                signal[j] = true_class_logit(proba, label_index[used])
                probas.append(proba[position[np.r_[inside, outside]]])
                del proba
            judges = ~self.shadow_in_mask_[:, used] & self.shadow_labels_seen_[:, label_index[used]]
            self.reference_fallback_ = float(np.median(signal[judges])) if judges.any() else 0.0
        else:
            self.reference_fallback_ = None
        out = []
        for j, (shadow, rows, member) in enumerate(self._in_out_rows()):
            labels = label_index[rows]
            if not calibrated:
                out.append(
                    (aligned_proba(shadow, take_rows(X, rows), classes), labels, member, None)
                )
                continue
            cols = position[rows]
            others = judges[:, cols].copy()
            others[j] = False
            count = others.sum(axis=0)
            keep = count > 0
            reference = (signal[:, cols] * others).sum(axis=0) / np.maximum(count, 1)
            out.append((probas[j][keep], labels[keep], member[keep], reference[keep]))
        proba, labels, membership, reference = (
            np.vstack([o[0] for o in out]),
            np.concatenate([o[1] for o in out]),
            np.concatenate([o[2] for o in out]),
            None if not calibrated else np.concatenate([o[3] for o in out]),
        )
        if len(np.unique(membership)) < 2:
            raise ValueError(
                "no shadow row has another shadow that left it out to compare with, so "
                'features="calibrated" has nothing to learn from: train more shadow models '
                '(n_shadow_models), or use features="full".'
            )
        return proba, labels, membership, reference

    def _reference(self, X, y, label_index):
        """Difficulty of queried rows: the mean logit-scaled confidence of the shadows that
        did not train on them (every shadow, unless a row is one of the attacker's own)."""
        signal = self._model_signals(X, label_index)
        judges = self.shadow_labels_seen_[:, label_index] & ~self._pool_in_mask(X, y)
        count = judges.sum(axis=0)
        mean = (signal * judges).sum(axis=0) / np.maximum(count, 1)
        return np.where(count > 0, mean, self.reference_fallback_)

    def _basis_details(self):
        inputs = {
            "calibrated": "difficulty-calibrated inputs",
            "full": "probabilities, label and confidence",
            "paper": "probabilities and label (the paper's inputs)",
        }[self.features_]
        return [
            ("disjoint" if self.disjoint_ else "overlapping") + " shadow parts",
            f"attack model on {inputs}" + (", calibrated per label" if self.per_class else ""),
        ]

    # ------------------------------------------------------------------ fit
    def _fit_attack(self, X, y, label_index, seeds):
        classes = self.target_classes_
        proba, label_index, membership, reference = self._shadow_rows(X, label_index)
        self._set_pool_index(row_keys(X, y) if self.features_ == "calibrated" else None)
        features = self._features(proba, label_index, reference)
        seed_sampler, seed_model = spawn_seeds(seeds[0], 2)
        Xa, ya = features, membership
        if self.sampler is not None:
            sampler = _set_random_states(clone(self.sampler), seed_sampler)
            Xa, ya = sampler.fit_resample(features, membership)
        if self.attack_estimator is None:
            template = _set_random_states(_default_attack_estimator(), seed_model)
        else:
            template = _set_random_states(clone(self.attack_estimator), seed_model)
        if can_fit_together(template):
            # a torch MLP trains on the lean stacked path (one member): the same model as
            # its own fit up to float rounding, without the per-batch overhead of skorch's
            # training loop
            self.attack_estimator_ = fit_mlp_ensemble(
                template,
                [(Xa, ya)],
                random_states=[template.random_state],
                classes=[0, 1] if self.attack_estimator is None else template.classes,
            )[0]
        else:
            self.attack_estimator_ = template.fit(Xa, ya)
        self.class_calibration_ = {}
        if self.per_class:
            logit = _logit(self._member_proba(features))
            overall = _platt(logit, membership)
            for j, label in enumerate(classes.tolist()):
                rows = label_index == j
                m = membership[rows]
                enough = min(np.sum(m == 1), np.sum(m == 0)) >= _MIN_CLASS_ROWS
                if not enough:
                    self.class_calibration_[label] = overall
                    continue
                slope, intercept = _platt(logit[rows], m)
                if slope <= 0:
                    # the attack cannot rank this label's rows: they all get the label's
                    # member rate, kept in their order by a vanishing slope
                    rate = float(np.clip(m.mean(), 1e-6, 1 - 1e-6))
                    slope, intercept = 1e-6, float(np.log(rate) - np.log1p(-rate))
                self.class_calibration_[label] = (slope, intercept)
        raw = self._centred(features, label_index, proba)
        self._set_operating_point(raw, membership)
        # predict_proba stays the (calibrated) attack model's probability, shifted to the
        # operating point: sigmoid of the centred logit
        self.slope_ = 1.0

    # ------------------------------------------------------------------ scores
    def _member_proba(self, features):
        model = self.attack_estimator_
        proba = np.asarray(model.predict_proba(features), dtype=np.float64)
        column = int(np.flatnonzero(np.asarray(model.classes_) == 1)[0])
        return proba[:, column]

    def _centred(self, features, label_index, proba):
        logit = _logit(self._member_proba(features))
        saturated = np.abs(logit) >= _LOGIT_CAP
        if self.class_calibration_:
            calibration = np.array(
                [self.class_calibration_[label] for label in self.target_classes_.tolist()]
            )
            slope, intercept = calibration[label_index, 0], calibration[label_index, 1]
            logit = slope * logit + intercept
        # the attack model's probability may saturate or repeat; the target's logit-scaled
        # confidence orders rows of equal probability (more confident = more member-like):
        # with full weight where the probability is exactly 0 or 1 (those rows sit beyond
        # every finite logit), with a weight far below float32 logit gaps elsewhere
        signal = true_class_logit(proba, label_index)
        tie_break = signal / (np.abs(signal) + 10.0)
        return np.where(saturated, logit + tie_break, logit + _TIE_WEIGHT * tie_break)

    def _decision(self, X, y, label_index):
        proba, _ = self._target_proba(X, label_index, self.target_classes_)
        reference = None
        if self.features_ == "calibrated":
            reference = self._reference(X, y, label_index)
        features = self._features(proba, label_index, reference)
        return self._centred(features, label_index, proba) - self.threshold_
