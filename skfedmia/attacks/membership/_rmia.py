"""RMIA, the relative membership inference attack of Zarifzadeh, Liu & Shokri (ICML 2024)."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.stats import rankdata
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import aligned_proba
from ._shadow_training import BaseShadowModelAttack
from ._signals import log_true_class_proba

__all__ = ["RelativeMembershipInferenceAttack"]

#: values of ``a`` tried when ``a="auto"``
_A_GRID = np.linspace(0.0, 1.0, 21)
#: softmax temperatures tried when ``temperature="auto"``
_T_GRID = (1.0, 1.5, 2.0, 3.0, 4.0)
_TINY = np.finfo(np.float64).tiny


class RelativeMembershipInferenceAttack(BaseShadowModelAttack):
    """RMIA: membership by the likelihood ratio of a row against the population, offline.

    Reference models are trained like the target on random subsets of the attacker's rows
    (none on the queried rows: the *offline* setting). For a queried ``(x, y)`` RMIA
    compares the target's probability of the true label, ``Pr(x | θ) = p_y``, with its
    probability under models that did not train on ``x``, ``Pr(x)``, estimated from the
    reference models' mean ``Pr(x)_OUT`` by the paper's linear correction for the missing
    in-models, ``Pr(x) = ((1 + a) Pr(x)_OUT + (1 - a)) / 2``. The paper scores ``x`` by the
    share of population rows ``z`` whose ratio ``Pr(z | θ) / Pr(z)`` is outdone ``γ``-fold
    by ``x``'s; for a fixed ``γ`` and population that share is an increasing function of
    ``x``'s own ratio, so the attack reports ``log(Pr(x | θ) / Pr(x))`` itself: the same
    ranking, free of ties (``log p_y`` is computed without float saturation), with
    ``predict`` deciding at a threshold calibrated on the attacker's rows.

    ``Pr(x | θ)`` is read at a softmax temperature ``T``: the probabilities are flattened
    to ``p_j^(1/T) / sum_k p_k^(1/T)`` (the softmax of the logits over ``T`` when the
    output is a softmax). Well-fitted models give nearly 1 to most rows, members or not,
    and the ratio of two such probabilities tells little; a temperature above 1 spreads
    them out again (the RMIA authors' code likewise softens its models' outputs).

    ``a`` and ``T`` are tuned as the paper tunes ``a``, by attacking the reference models
    themselves: each in turn plays the target, with its known members among the
    attacker's rows, and the pair of highest mean AUC is kept. Besides the other reference
    models that left a row out, the target itself serves as an out-model of the attacker's
    rows (they are non-members of the target), so one reference model is enough. The same
    scores set the decision threshold at ``operating_point``.

    Parameters
    ----------
    target : fitted classifier with ``predict_proba``, default=None
        The model under attack; kept as it is by ``clone``. ``set_params(target=other)``
        on a fitted attack attacks another model with the same classes, without retraining.
    n_shadow_models : int, default=16
        Number of reference models (1 or more; RMIA is strong with few).
    shadow_estimator : classifier, default=None
        Template of the reference models; ``None`` clones the target.
    shadow_size : int, default=None
        Training rows of each reference model. ``None``: the target's training size where
        skfedmia recorded it at ``fit``, else half the rows given to ``fit``; capped at half
        those rows.
    a : "auto" or float in [0, 1], default="auto"
        The offline correction. ``"auto"`` tunes it on the reference models (``a_`` holds
        the value used).
    temperature : "auto" or float > 0, default="auto"
        Softmax temperature at which ``Pr(x | θ)`` is read (1: the probabilities as they
        are). ``"auto"`` tunes it with ``a`` over 1, 1.5, 2, 3 and 4 (``temperature_``
        holds the value used).
    operating_point : "balanced" or float, default="balanced"
        Where ``predict`` decides: ``"balanced"``, the threshold of highest balanced
        accuracy on the attacker's rows scored as above; a float such as ``0.01``, the
        threshold at that false-positive rate.
    n_jobs : int, default=None
        Reference models trained in parallel through joblib.
    random_state : int, RandomState instance or None, default=None
        Fixes the subsets and every reference model's seed.
    verbose : int, default=0
        ``> 0`` shows a progress bar over reference models.

    Attributes
    ----------
    shadow_estimators_ : list
        The fitted reference models.
    shadow_in_mask_ : ndarray of shape (n_shadow_models, n_samples)
        ``shadow_in_mask_[k, i]``: row ``i`` was in reference model ``k``'s training set.
    shadow_indices_ : list of tuple (ndarray, ndarray)
    shadow_labels_seen_ : ndarray of shape (n_shadow_models, n_target_classes)
        ``shadow_labels_seen_[k, j]``: model ``k`` trained on rows of the target's label ``j``.
    shadow_size_ : int
    mean_out_fallback_ : float
        ``Pr(x)_OUT`` for a row of a label that no reference model trained on: the mean
        over the pool's out-rows.
    a_ : float
        The offline correction used.
    a_auc_ : ndarray of shape (21,)
        Mean AUC on the reference models of each ``a`` in ``0, 0.05, ..., 1`` at the
        temperature used (``a="auto"``).
    temperature_ : float
        The softmax temperature used.
    temperature_auc_ : dict
        Best mean AUC on the reference models at each temperature tried
        (``temperature="auto"``).
    threshold_ : float
        Decision threshold on the log ratio.
    target_classes_ : ndarray
    classes_ : ndarray of shape (2,)
    slope_ : float

    See Also
    --------
    LikelihoodRatioAttack : LiRA, Gaussian per-example tests over reference models.
    MembershipInferenceAttack : the shadow-model attack with a learned attack model.

    References
    ----------
    .. [1] S. Zarifzadeh, P. Liu and R. Shokri, "Low-Cost High-Power Membership Inference
       Attacks", ICML 2024.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from skfedmia import RelativeMembershipInferenceAttack
    >>> X, y = load_digits(return_X_y=True)
    >>> target = RandomForestClassifier(n_estimators=20, random_state=0).fit(X[:400], y[:400])
    >>> attack = RelativeMembershipInferenceAttack(target, n_shadow_models=2, random_state=0)
    >>> _ = attack.fit(X[800:], y[800:])
    >>> membership = [1] * 400 + [0] * 400
    >>> bool(attack.report(X[:800], y[:800], membership).roc_auc > 0.6)
    True
    """

    _parameter_constraints: dict = {
        **BaseShadowModelAttack._parameter_constraints,
        "a": [StrOptions({"auto"}), Interval(numbers.Real, 0, 1, closed="both")],
        "temperature": [StrOptions({"auto"}), Interval(numbers.Real, 0, None, closed="neither")],
    }

    _split = "subsets"
    _models_name = "reference models"

    def __init__(
        self,
        target=None,
        *,
        n_shadow_models=16,
        shadow_estimator=None,
        shadow_size=None,
        a="auto",
        temperature="auto",
        operating_point="balanced",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.target = target
        self.n_shadow_models = n_shadow_models
        self.shadow_estimator = shadow_estimator
        self.shadow_size = shadow_size
        self.a = a
        self.temperature = temperature
        self.operating_point = operating_point
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ statistics
    def _log_probas(self, model, X, label_index, temperatures):
        """``{T: log Pr(x | model) at temperature T}`` for each row, without saturating.

        ``log q_y = -log(1 + sum_{j != y} exp((log p_j - log p_y) / T))``, with ``log p_y``
        taken from the other classes' total where float32 ``p_y`` rounds to 1.
        """
        proba = np.asarray(aligned_proba(model, X, self.target_classes_), dtype=np.float64)
        rows = np.arange(len(proba))
        log_py = log_true_class_proba(proba, label_index)
        out = {}
        for t in temperatures:
            if t == 1.0:
                out[t] = log_py
                continue
            with np.errstate(divide="ignore"):
                log_p = np.log(proba)
            diff = (log_p - log_py[:, None]) / t
            diff[rows, label_index] = -np.inf
            out[t] = -np.log1p(np.exp(diff).sum(axis=1))
        return out

    @staticmethod
    def _log_ratio(log_p, mean_out, a):
        denominator = 0.5 * ((1.0 + a) * mean_out + (1.0 - a))
        return log_p - np.log(np.maximum(denominator, _TINY))

    def _temperatures(self):
        return _T_GRID if self.temperature == "auto" else (float(self.temperature),)

    def _basis_details(self):
        return [f"offline, a = {self.a_:g}, temperature {self.temperature_:g}"]

    # ------------------------------------------------------------------ fit
    def _fit_attack(self, X, y, label_index, seeds):
        k = len(self.shadow_estimators_)
        temperatures = self._temperatures()
        per_model = [
            self._log_probas(m, X, label_index, temperatures) for m in self.shadow_estimators_
        ]
        per_target = self._log_probas(self.target, X, label_index, temperatures)
        inside = self.shadow_in_mask_
        # a reference model estimates Pr(row) only if it trained on the row's label
        outside = ~inside & self.shadow_labels_seen_[:, label_index]
        a_grid = _A_GRID if self.a == "auto" else np.array([float(self.a)])
        best = None
        self.temperature_auc_ = {}
        for t in temperatures:
            log_p = np.stack([lp[t] for lp in per_model])
            # each reference in turn plays the target; the others that left a row out and
            # the target (which never saw the attacker's rows) estimate Pr(row)_OUT
            pseudo = []
            for j in range(k):
                others = (np.arange(k) != j)[:, None] & outside
                total = (np.exp(log_p) * others).sum(axis=0) + np.exp(per_target[t])
                pseudo.append((log_p[j], total / (others.sum(axis=0) + 1), inside[j]))
            if len(a_grid) == 1 and len(temperatures) == 1:
                aucs = np.array([np.nan])
            else:
                aucs = np.array(
                    [
                        np.mean([_auc(m, self._log_ratio(lp, mean, a)) for lp, mean, m in pseudo])
                        for a in a_grid
                    ]
                )
            i = 0 if np.isnan(aucs).all() else int(np.nanargmax(aucs))
            self.temperature_auc_[t] = float(aucs[i])
            if best is None or (not np.isnan(aucs[i]) and aucs[i] > best[0]):
                best = (aucs[i], t, float(a_grid[i]), aucs, pseudo)
        _, self.temperature_, self.a_, aucs, pseudo = best
        out_p = np.exp(np.stack([lp[self.temperature_] for lp in per_model]))[outside]
        self.mean_out_fallback_ = float(out_p.mean()) if out_p.size else 0.5
        if self.a == "auto":
            self.a_auc_ = aucs
        raw = np.concatenate([self._log_ratio(lp, mean, self.a_) for lp, mean, _ in pseudo])
        membership = np.concatenate([m for _, _, m in pseudo]).astype(np.int64)
        self._set_operating_point(raw, membership)

    # ------------------------------------------------------------------ scores
    def _decision(self, X, y, label_index):
        check_is_fitted(self, "a_")
        t = self.temperature_
        p = np.stack(
            [np.exp(self._log_probas(m, X, label_index, (t,))[t]) for m in self.shadow_estimators_]
        )
        seen = self.shadow_labels_seen_[:, label_index]
        count = seen.sum(axis=0)
        mean_out = np.where(
            count > 0, (p * seen).sum(axis=0) / np.maximum(count, 1), self.mean_out_fallback_
        )
        log_p = self._log_probas(self.target, X, label_index, (t,))[t]
        return self._log_ratio(log_p, mean_out, self.a_) - self.threshold_


def _auc(membership, scores):
    """ROC AUC of ``scores`` for ``membership``: the Mann-Whitney statistic, ties half.

    The value of ``roc_auc_score`` (up to float rounding) without its input checks, which
    cost far more than the statistic when ``a`` and the temperature are tuned over 105
    candidates per reference model.
    """
    membership = np.asarray(membership, dtype=bool)
    n_pos = int(membership.sum())
    n_neg = len(membership) - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5
    ranks = rankdata(scores)
    return float((ranks[membership].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
