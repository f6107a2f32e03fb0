"""The shadow-model membership inference attack of Shokri et al., as Pustozerova & Mayer use it."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ...utils._random import spawn_seeds
from ._base import BaseMembershipAttack, _set_random_states, aligned_proba, take_rows
from ._shadow_training import disjoint_splits, fit_shadow_models
from ._signals import true_class_logit

__all__ = ["MembershipInferenceAttack"]

# logits of float32 probabilities are finite within +-104; +-110 stands for p = 0 or 1
_LOGIT_CAP = 110.0
# weight of the tie-breaking statistic; far below the gap between distinct float32 logits
_TIE_WEIGHT = 1e-9
# the logit-scaled confidence as an attack feature is kept within +-this
_SIGNAL_CLIP = 50.0


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


class MembershipInferenceAttack(BaseMembershipAttack):
    """Shadow-model membership inference attack against any fitted classifier.

    The attacker trains ``n_shadow_models`` shadow models that imitate the target, each on
    its own part of the attacker's data with an equal-sized part held out. The shadows'
    outputs on their training rows (label 1) and held-out rows (label 0) teach an attack
    model to tell members from non-members by the target's output (Shokri et al., 2017).
    Pustozerova & Mayer (2020) use it as an insider of a federation: the shadows share the
    target's architecture and training settings, the attack model is an MLP with 64 sigmoid
    units, and its input is the probability vector plus the true label.

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
        ``lr=0.005``, 40 epochs).
    shadow_size : int, default=None
        Training rows of each shadow model (each has as many held-out rows). ``None``: as
        many as the split allows, ``n_samples // (2 * n_shadow_models)`` when disjoint,
        ``n_samples // 2`` otherwise. Shadows imitate the target best when trained on about
        as many rows as it was.
    disjoint : bool, default=True
        ``True``: the in and out parts of all shadows are pairwise disjoint.
        ``False``: each shadow draws its (disjoint) in and out parts from all the
        attacker's rows, so shadows can be as large as the target with little data.
    features : {"full", "paper"}, default="full"
        Input of the attack model. ``"paper"``: the shadow's probability vector and the
        one-hot true label. ``"full"``: those plus the logit-scaled confidence in the true
        label, ``log p_y - log(1 - p_y)`` (clipped to +-50, over 10), which separates
        members sharply where probabilities saturate.
    per_class : bool, default=False
        Train one attack model per true label, as Shokri et al. do, instead of one over all
        labels. Labels with too few shadow rows of either kind fall back to a constant.
    sampler : imbalanced-learn sampler, default=None
        Resamples the attack model's training set (in/out rows; per label when
        ``per_class``), e.g. ``RandomUnderSampler``.
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
    attack_estimator_ : estimator or None
        The fitted attack model (``None`` when ``per_class``).
    attack_estimators_ : dict
        Per-class attack models keyed by label (``None`` for labels that fell back to a
        constant); empty unless ``per_class``.
    target_classes_ : ndarray
        Classes of the target the attack was fitted for.
    classes_ : ndarray of shape (2,)
        ``[0, 1]``: non-member, member.
    slope_ : float
        Slope of the sigmoid from ``decision_function`` to ``predict_proba``.

    See Also
    --------
    LikelihoodRatioAttack : a stronger attack at low false-positive rates.
    ThresholdAttack : cheap loss / confidence / entropy thresholds.
    skfedmia.make_membership_scorer : this attack as a ``GridSearchCV`` scorer.

    References
    ----------
    .. [1] R. Shokri, M. Stronati, C. Song and V. Shmatikov, "Membership Inference Attacks
       against Machine Learning Models", IEEE S&P 2017.
    .. [2] A. Pustozerova and R. Mayer, "Information Leaks in Federated Learning", 2020.

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
        **BaseMembershipAttack._parameter_constraints,
        "n_shadow_models": [Interval(numbers.Integral, 1, None, closed="left")],
        "shadow_estimator": [HasMethods(["fit", "predict_proba"]), None],
        "attack_estimator": [HasMethods(["fit", "predict_proba"]), None],
        "shadow_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "disjoint": ["boolean"],
        "features": [StrOptions({"full", "paper"})],
        "per_class": ["boolean"],
        "sampler": [HasMethods(["fit_resample"]), None],
    }

    def __init__(
        self,
        target=None,
        *,
        n_shadow_models=10,
        shadow_estimator=None,
        attack_estimator=None,
        shadow_size=None,
        disjoint=True,
        features="full",
        per_class=False,
        sampler=None,
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
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ features
    def _features(self, proba, label_index):
        n_classes = proba.shape[1]
        onehot = np.zeros_like(proba)
        onehot[np.arange(len(proba)), label_index] = 1.0
        parts = [proba, onehot]
        if self.features == "full":
            # clipped (probabilities of exactly 0 or 1 give +-700) and brought to the
            # scale of the other inputs
            signal = true_class_logit(proba, label_index)
            parts.append((np.clip(signal, -_SIGNAL_CLIP, _SIGNAL_CLIP) / 10.0)[:, None])
        features = np.hstack(parts).astype(np.float32)
        assert features.shape[1] >= 2 * n_classes
        return features

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, label_index):
        rng = self._rng
        classes = self.target_classes_
        n = len(y)
        k = self.n_shadow_models
        size = self.shadow_size
        if size is None:
            size = n // (2 * k) if self.disjoint else n // 2
        self.shadow_indices_ = disjoint_splits(n, k, size, rng, disjoint=self.disjoint)
        template = self.target if self.shadow_estimator is None else self.shadow_estimator
        seeds = spawn_seeds(rng, k + 1)
        self.shadow_estimators_ = fit_shadow_models(
            template,
            X,
            y,
            [inside for inside, _ in self.shadow_indices_],
            seeds[:k],
            classes,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            desc="shadow models",
        )
        probas, labels, membership = [], [], []
        for shadow, (inside, outside) in zip(
            self.shadow_estimators_, self.shadow_indices_, strict=True
        ):
            rows = np.concatenate([inside, outside])
            probas.append(aligned_proba(shadow, take_rows(X, rows), classes))
            labels.append(label_index[rows])
            membership.append(np.r_[np.ones(len(inside)), np.zeros(len(outside))])
        proba = np.vstack(probas)
        label_index = np.concatenate(labels)
        membership = np.concatenate(membership).astype(np.int64)
        features = self._features(proba, label_index)
        self._fit_attack_models(features, label_index, membership, seeds[k])
        # predict_proba is the attack model's own probability: sigmoid of its logit
        self.slope_ = 1.0

    def _new_attack_model(self, seed):
        template = (
            _default_attack_estimator() if self.attack_estimator is None else self.attack_estimator
        )
        return _set_random_states(clone(template), seed)

    def _resample(self, features, membership, seed):
        if self.sampler is None:
            return features, membership
        sampler = _set_random_states(clone(self.sampler), seed)
        return sampler.fit_resample(features, membership)

    def _fit_attack_models(self, features, label_index, membership, seed):
        seeds = iter(spawn_seeds(seed, 2 * len(self.target_classes_) + 2))
        self.attack_estimators_ = {}
        if not self.per_class:
            Xa, ya = self._resample(features, membership, next(seeds))
            self.attack_estimator_ = self._new_attack_model(next(seeds)).fit(Xa, ya)
            return
        self.attack_estimator_ = None
        self.class_member_rate_ = {}
        for j, label in enumerate(self.target_classes_.tolist()):
            rows = label_index == j
            sub_m = membership[rows]
            seed_sampler, seed_model = next(seeds), next(seeds)
            self.class_member_rate_[label] = float(sub_m.mean()) if rows.any() else 0.5
            if min(np.sum(sub_m == 1), np.sum(sub_m == 0)) < 2:
                self.attack_estimators_[label] = None
                continue
            Xa, ya = self._resample(features[rows], sub_m, seed_sampler)
            self.attack_estimators_[label] = self._new_attack_model(seed_model).fit(Xa, ya)

    # ------------------------------------------------------------------ scores
    def _member_proba(self, model, features):
        proba = np.asarray(model.predict_proba(features), dtype=np.float64)
        column = int(np.flatnonzero(np.asarray(model.classes_) == 1)[0])
        return proba[:, column]

    def _centred(self, features, label_index, proba):
        if not self.per_class:
            p = self._member_proba(self.attack_estimator_, features)
        else:
            p = np.empty(len(features))
            for j, label in enumerate(self.target_classes_.tolist()):
                rows = label_index == j
                if not rows.any():
                    continue
                model = self.attack_estimators_.get(label)
                if model is None:
                    p[rows] = self.class_member_rate_.get(label, 0.5)
                else:
                    p[rows] = self._member_proba(model, features[rows])
        # the attack model's probability may saturate or repeat; the target's logit-scaled
        # confidence orders rows of equal probability (more confident = more member-like):
        # with full weight where the probability is exactly 0 or 1 (those rows sit beyond
        # every finite logit), with a weight far below float32 logit gaps elsewhere
        signal = true_class_logit(proba, label_index)
        tie_break = signal / (np.abs(signal) + 10.0)
        logit = _logit(p)
        saturated = np.abs(logit) >= _LOGIT_CAP
        return np.where(saturated, logit + tie_break, logit + _TIE_WEIGHT * tie_break)

    def _decision(self, X, y, label_index):
        proba, _ = self._target_proba(X, label_index, self.target_classes_)
        features = self._features(proba, label_index)
        return self._centred(features, label_index, proba)
