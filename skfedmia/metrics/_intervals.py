"""95% intervals of attack figures: exact binomial (Clopper-Pearson) and DeLong's for AUC."""

from __future__ import annotations

import numpy as np
from scipy.stats import beta, norm, rankdata

__all__ = ["clopper_pearson", "delong_auc_interval"]


def clopper_pearson(successes, trials, *, confidence=0.95):
    """Exact (Clopper-Pearson) interval of a binomial rate.

    The bounds are the ``alpha / 2`` quantile of ``Beta(k, n - k + 1)`` and the
    ``1 - alpha / 2`` quantile of ``Beta(k + 1, n - k)`` (those of
    :meth:`scipy.stats.binomtest` ``.proportion_ci(method="exact")``), with 0 and 1 at the
    ends. ``successes`` may be fractional, as for a TPR read between two ROC points.

    Parameters
    ----------
    successes : float
        Number of successes ``k`` (0 <= k <= n).
    trials : int
        Number of trials ``n``; 0 gives ``(nan, nan)``.
    confidence : float, default=0.95

    Returns
    -------
    low, high : float

    Examples
    --------
    >>> from skfedmia.metrics._intervals import clopper_pearson
    >>> low, high = clopper_pearson(0, 10)
    >>> round(low, 4), round(high, 4)
    (0.0, 0.3085)
    """
    n = int(trials)
    if n <= 0:
        return float("nan"), float("nan")
    k = float(min(max(successes, 0.0), n))
    alpha = 1.0 - confidence
    low = 0.0 if k <= 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k >= n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def _delong_placements(membership, scores):
    """DeLong's placements of boolean ``membership`` rows scored by float ``scores``.

    Each member's share of non-members below it, and each non-member's share of members
    above it (midranks: ties count half); the AUC is the mean of the members'.
    """
    ranks = rankdata(scores)
    pos, neg = scores[membership], scores[~membership]
    v_pos = (ranks[membership] - rankdata(pos)) / len(neg)
    v_neg = 1.0 - (ranks[~membership] - rankdata(neg)) / len(pos)
    return v_pos, v_neg


def delong_paired_se(membership, a, b):
    """Standard error of AUC(a) - AUC(b), two scores of the same rows (DeLong et al., 1988).

    Parameters
    ----------
    membership : ndarray of shape (n_samples,)
        1 for members, 0 for non-members; both present.
    a, b : ndarray of shape (n_samples,)

    Returns
    -------
    se : float
    """
    membership = np.asarray(membership).astype(bool)
    pos_a, neg_a = _delong_placements(membership, np.asarray(a, dtype=np.float64))
    pos_b, neg_b = _delong_placements(membership, np.asarray(b, dtype=np.float64))
    m, n = len(pos_a), len(neg_a)
    var = (np.var(pos_a - pos_b, ddof=1) / m if m > 1 else 0.0) + (
        np.var(neg_a - neg_b, ddof=1) / n if n > 1 else 0.0
    )
    return float(np.sqrt(var))


def delong_auc_interval(membership, scores, *, confidence=0.95):
    """Normal interval of the ROC AUC with DeLong's variance (DeLong et al., 1988).

    The AUC is the mean over members of their placement (the share of non-members they
    outrank, ties counting half); its variance is that of the members' placements over the
    number of members plus that of the non-members' over the number of non-members.

    Parameters
    ----------
    membership : ndarray of shape (n_samples,)
        1 for members, 0 for non-members; both present.
    scores : ndarray of shape (n_samples,)
    confidence : float, default=0.95

    Returns
    -------
    low, high : float
        Clipped to [0, 1].
    """
    membership = np.asarray(membership).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    m, n = int(membership.sum()), int((~membership).sum())
    if m == 0 or n == 0:
        return float("nan"), float("nan")
    v_pos, v_neg = _delong_placements(membership, scores)
    auc = float(v_pos.mean())
    var = (np.var(v_pos, ddof=1) / m if m > 1 else 0.0) + (
        np.var(v_neg, ddof=1) / n if n > 1 else 0.0
    )
    half = float(norm.ppf(0.5 + confidence / 2) * np.sqrt(var))
    return max(auc - half, 0.0), min(auc + half, 1.0)
