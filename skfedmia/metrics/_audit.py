"""An empirical lower bound on differential privacy's epsilon from an attack's decisions.

A mechanism that is (epsilon, delta)-differentially private limits every test that tells
"record in" from "record out": with false positive rate FPR and false negative rate FNR,

    FPR + exp(epsilon) * FNR >= 1 - delta   and   FNR + exp(epsilon) * FPR >= 1 - delta

(Kairouz et al., 2015). A membership attack whose decisions reach some (FPR, FNR) therefore
proves ``epsilon >= log((1 - delta - FNR) / FPR)`` and the symmetric bound. Rates measured
on finitely many rows are replaced by their one-sided Clopper-Pearson upper bounds, so that
the bound holds with the stated confidence (Jagielski et al., 2020; Nasr et al., 2021).

The decisions must come from a threshold fixed before the evaluated rows were seen; a
threshold tuned on them would make the bound optimistic. :func:`epsilon_lower_bound` takes
only 0/1 decisions (nothing is tuned inside it) and :class:`EpsilonAudit` fits its
threshold on the attacker's own rows and refuses to audit those same rows.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import beta
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._attack_metrics import _check_binary_pair

__all__ = ["EpsilonAudit", "EpsilonLowerBound", "epsilon_lower_bound"]


@dataclass(frozen=True)
class EpsilonLowerBound:
    """An epsilon that an attack proves, with the rates it rests on.

    Each parameter is kept as the attribute of the same name.

    Parameters
    ----------
    epsilon : float
        The larger of the two hypothesis-testing bounds, at least 0: with probability at
        least ``confidence`` over the evaluated rows, the mechanism is not
        (epsilon', delta)-DP for any epsilon' below it.
    tpr, fpr : float
        Observed true and false positive rates of the decisions.
    fpr_high, fnr_high : float
        One-sided Clopper-Pearson upper bounds on FPR and FNR (each at level
        ``1 - (1 - confidence) / 2``, so that both hold together with ``confidence``).
    delta, confidence : float
        The ``delta`` of the privacy definition and the confidence of the bound.
    n_members, n_non_members : int
        Rows of each kind the rates are counted on.
    threshold : float or None, default=None
        The threshold that turned scores into decisions, when known.
    """

    epsilon: float
    tpr: float
    fpr: float
    fpr_high: float
    fnr_high: float
    delta: float
    confidence: float
    n_members: int
    n_non_members: int
    threshold: float | None = None

    def to_dict(self) -> dict:
        """The bound as a plain ``dict``."""
        return asdict(self)


def _check_delta_confidence(delta, confidence):
    real = (numbers.Real,)
    if not (isinstance(delta, real) and not isinstance(delta, bool) and 0 <= delta < 1):
        raise ValueError(f"delta must be a number in [0, 1), got {delta!r}.")
    ok = isinstance(confidence, real) and not isinstance(confidence, bool)
    if not (ok and 0 < confidence < 1):
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}.")


def _upper(errors, n, level):
    """One-sided Clopper-Pearson upper bound on a rate: ``errors`` out of ``n``."""
    errors = np.asarray(errors, dtype=np.float64)
    out = np.ones_like(errors)
    inside = errors < n
    out[inside] = beta.ppf(level, errors[inside] + 1, n - errors[inside])
    return out


def _bound(false_pos, false_neg, n_neg, n_pos, delta, confidence):
    """Epsilon lower bounds for arrays of (FP, FN) counts."""
    level = 1 - (1 - confidence) / 2
    fpr_hi = _upper(false_pos, n_neg, level)
    fnr_hi = _upper(false_neg, n_pos, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        one = np.log((1 - delta - fnr_hi) / fpr_hi)
        two = np.log((1 - delta - fpr_hi) / fnr_hi)
    eps = np.fmax(np.nan_to_num(one, nan=0.0), np.nan_to_num(two, nan=0.0))
    return np.maximum(eps, 0.0), fpr_hi, fnr_hi


def epsilon_lower_bound(membership, predictions, *, delta=1e-5, confidence=0.95, threshold=None):
    """Lower bound on epsilon proved by an attack's 0/1 decisions.

    Parameters
    ----------
    membership : array-like of shape (n_samples,)
        1 for members, 0 for non-members of the evaluated rows.
    predictions : array-like of shape (n_samples,)
        The attack's decisions (1 = "member"), made with a threshold fixed before these
        rows were seen (see :class:`EpsilonAudit` to fit one on the attacker's own rows).
    delta : float, default=1e-5
        The delta of the (epsilon, delta) guarantee being audited, in ``[0, 1)``.
    confidence : float, default=0.95
        Probability, in ``(0, 1)``, that the bound holds over the draw of the rows.
    threshold : float or None, default=None
        Recorded in the result only.

    Returns
    -------
    bound : EpsilonLowerBound

    Examples
    --------
    A randomized response with epsilon = 1 (a member says "in" with probability
    e / (1 + e), a non-member with 1 / (1 + e)), observed on 20,000 rows of each kind:

    >>> import numpy as np
    >>> from skfedmia.metrics import epsilon_lower_bound
    >>> rng = np.random.default_rng(0)
    >>> membership = np.r_[np.ones(20_000, int), np.zeros(20_000, int)]
    >>> p = np.e / (1 + np.e)
    >>> decisions = rng.random(40_000) < np.where(membership == 1, p, 1 - p)
    >>> bound = epsilon_lower_bound(membership, decisions.astype(int), delta=0.0)
    >>> 0.9 < bound.epsilon < 1.0
    True
    """
    _check_delta_confidence(delta, confidence)
    membership, predictions = _check_binary_pair(membership, predictions, "predictions")
    predictions = np.asarray(predictions)
    if not np.isin(np.unique(predictions), [0, 1]).all():
        raise ValueError(
            "predictions must be 0/1 decisions; threshold scores first with a threshold "
            "fixed in advance (EpsilonAudit does this)."
        )
    predictions = predictions.astype(np.int64)
    n_pos, n_neg = int((membership == 1).sum()), int((membership == 0).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"membership needs members and non-members; got {n_pos} and {n_neg}.")
    fp = int(((predictions == 1) & (membership == 0)).sum())
    fn = int(((predictions == 0) & (membership == 1)).sum())
    eps, fpr_hi, fnr_hi = _bound(np.array([fp]), np.array([fn]), n_neg, n_pos, delta, confidence)
    return EpsilonLowerBound(
        epsilon=float(eps[0]),
        tpr=1 - fn / n_pos,
        fpr=fp / n_neg,
        fpr_high=float(fpr_hi[0]),
        fnr_high=float(fnr_hi[0]),
        delta=float(delta),
        confidence=float(confidence),
        n_members=n_pos,
        n_non_members=n_neg,
        threshold=None if threshold is None else float(threshold),
    )


def _pairs(scores, membership):
    return set(zip(np.asarray(scores, dtype=np.float64).tolist(), membership.tolist()))


class EpsilonAudit(BaseEstimator):
    """Fit a decision threshold on the attacker's own rows, then bound epsilon on others.

    :meth:`fit` takes membership scores of rows whose membership the attacker knows
    (e.g. a shadow model's in and out rows) and keeps the threshold that proves the
    largest epsilon there. :meth:`audit` applies that threshold, unchanged, to the
    evaluated rows and returns :func:`epsilon_lower_bound` of the decisions. Auditing the
    rows the threshold was fit on is refused: when more than half of the evaluated
    (score, membership) pairs are among the fitted ones, :meth:`audit` raises.

    Parameters
    ----------
    delta : float, default=1e-5
        Delta of the audited guarantee, in ``[0, 1)``.
    confidence : float, default=0.95
        Confidence of the bound, in ``(0, 1)``.
    max_thresholds : int, default=512
        Candidate thresholds tried by :meth:`fit` (quantiles of the scores).

    Attributes
    ----------
    threshold_ : float
        Rows scoring at or above it are called members.
    fit_epsilon_ : float
        The bound the threshold proves on the rows it was fit on (optimistic).

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.metrics import EpsilonAudit
    >>> rng = np.random.default_rng(0)
    >>> def draw(n):  # a mechanism whose members score one standard deviation higher
    ...     membership = np.r_[np.ones(n, int), np.zeros(n, int)]
    ...     return rng.normal(membership.astype(float)), membership
    >>> audit = EpsilonAudit(delta=1e-5).fit(*draw(2_000))  # the attacker's own rows
    >>> bound = audit.audit(*draw(2_000))  # fresh rows
    >>> bool(0 < bound.epsilon < audit.fit_epsilon_ + 1)
    True
    >>> audit.audit(audit.fit_scores_, audit.fit_membership_)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the threshold was fit on these rows ...
    """

    _parameter_constraints: dict = {
        "delta": [Interval(numbers.Real, 0, 1, closed="left")],
        "confidence": [Interval(numbers.Real, 0, 1, closed="neither")],
        "max_thresholds": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, delta=1e-5, confidence=0.95, max_thresholds=512):
        self.delta = delta
        self.confidence = confidence
        self.max_thresholds = max_thresholds

    def fit(self, scores, membership):
        """Choose the threshold on rows whose membership the attacker knows.

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            Membership scores, higher meaning "member".
        membership : array-like of shape (n_samples,)
            1 for members, 0 for non-members.

        Returns
        -------
        self
        """
        self._validate_params()
        membership, scores = _check_binary_pair(membership, scores, "scores")
        scores = np.asarray(scores, dtype=np.float64)
        if not np.isfinite(scores).all():
            raise ValueError("scores must be finite.")
        n_pos, n_neg = int((membership == 1).sum()), int((membership == 0).sum())
        if n_pos == 0 or n_neg == 0:
            raise ValueError(f"membership needs members and non-members; got {n_pos} and {n_neg}.")
        candidates = np.unique(scores)
        if len(candidates) > self.max_thresholds:
            candidates = np.unique(np.quantile(scores, np.linspace(0, 1, self.max_thresholds)))
        pos = np.sort(scores[membership == 1])
        neg = np.sort(scores[membership == 0])
        fn = np.searchsorted(pos, candidates, side="left")  # members below the threshold
        fp = n_neg - np.searchsorted(neg, candidates, side="left")  # non-members at/above
        eps, _, _ = _bound(fp, fn, n_neg, n_pos, self.delta, self.confidence)
        best = int(np.argmax(eps))
        self.threshold_ = float(candidates[best])
        self.fit_epsilon_ = float(eps[best])
        self.fit_scores_, self.fit_membership_ = scores, membership
        return self

    def audit(self, scores, membership) -> EpsilonLowerBound:
        """Epsilon lower bound of the fixed threshold's decisions on the evaluated rows.

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            Scores of the evaluated rows, none of which the threshold was fit on.
        membership : array-like of shape (n_samples,)

        Returns
        -------
        bound : EpsilonLowerBound
        """
        check_is_fitted(self, "threshold_")
        membership, scores = _check_binary_pair(membership, scores, "scores")
        scores = np.asarray(scores, dtype=np.float64)
        fitted = _pairs(self.fit_scores_, self.fit_membership_)
        shared = sum(p in fitted for p in _pairs(scores, membership))
        if len(scores) and shared > 0.5 * len(scores):
            raise ValueError(
                f"the threshold was fit on these rows ({shared} of {len(scores)} "
                "score/membership pairs are the fitted ones); audit rows the threshold never "
                "saw, or the bound is optimistic."
            )
        return epsilon_lower_bound(
            membership,
            (scores >= self.threshold_).astype(np.int64),
            delta=self.delta,
            confidence=self.confidence,
            threshold=self.threshold_,
        )
