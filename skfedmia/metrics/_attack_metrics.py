"""Metrics of a membership-inference attack: ROC, TPR at low FPR, membership advantage."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.metrics import roc_curve
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["attack_roc_curve", "membership_advantage", "tpr_at_fpr"]


def _check_binary_pair(membership, values, name):
    membership = np.asarray(membership)
    values = np.asarray(values)
    if membership.ndim != 1 or values.ndim != 1:
        raise ValueError(
            f"membership and {name} must be 1-D; got shapes {membership.shape} and {values.shape}."
        )
    if len(membership) != len(values):
        raise ValueError(
            f"membership and {name} must have the same length; got {len(membership)} and "
            f"{len(values)}."
        )
    if values.dtype.kind in "fc" and not np.isfinite(values).all():
        bad = int(np.sum(~np.isfinite(values)))
        raise ValueError(
            f"{name} must be finite numbers; {bad} of {len(values)} are NaN or infinite."
        )
    labels = np.unique(membership)
    if not np.isin(labels, [0, 1]).all():
        raise ValueError(
            f"membership must hold 1 (member) and 0 (non-member); got values {labels.tolist()}."
        )
    return membership.astype(np.int64), values


@validate_params(
    {"membership": ["array-like"], "scores": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def attack_roc_curve(membership, scores):
    """ROC curve of a membership attack, with every threshold kept.

    Unlike :func:`sklearn.metrics.roc_curve` with its default ``drop_intermediate=True``,
    every distinct score is a point, so low-FPR figures can be read off exactly.

    Parameters
    ----------
    membership : array-like of shape (n_samples,)
        1 for members of the target's training set, 0 for non-members.
    scores : array-like of shape (n_samples,)
        Membership scores, higher meaning "more likely a member".

    Returns
    -------
    fpr : ndarray
        False-positive rates, non-decreasing, from 0 to 1.
    tpr : ndarray
        True-positive rates, non-decreasing, from 0 to 1.
    thresholds : ndarray
        ``scores >= thresholds[i]`` gives ``(fpr[i], tpr[i])``; the first is ``inf``.

    Examples
    --------
    >>> from skfedmia.metrics import attack_roc_curve
    >>> fpr, tpr, _ = attack_roc_curve([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    membership, scores = _check_binary_pair(membership, scores, "scores")
    if len(np.unique(membership)) < 2:
        raise ValueError("membership must contain both members (1) and non-members (0).")
    return roc_curve(membership, scores, drop_intermediate=False)


@validate_params(
    {
        "membership": ["array-like"],
        "scores": ["array-like"],
        "fpr": [Interval(numbers.Real, 0, 1, closed="both")],
        "interpolation": [StrOptions({"linear", "lower"})],
    },
    prefer_skip_nested_validation=True,
)
def tpr_at_fpr(membership, scores, fpr=0.01, *, interpolation="linear"):
    """True-positive rate of the attack at a given false-positive rate.

    The figure that Carlini et al. (2022) argue for: how many members an attack finds
    while wrongly accusing only a small share (1%, 0.1%) of non-members.

    Parameters
    ----------
    membership : array-like of shape (n_samples,)
        1 for members, 0 for non-members.
    scores : array-like of shape (n_samples,)
        Membership scores, higher meaning "more likely a member".
    fpr : float, default=0.01
        The false-positive rate at which to read the curve.
    interpolation : {"linear", "lower"}, default="linear"
        ``"linear"``: interpolate linearly between the two ROC points around ``fpr`` — the
        TPR a randomised choice between their thresholds achieves (and the expected TPR when
        tied scores are broken at random). ``"lower"``: the TPR of the last ROC point whose
        FPR does not exceed ``fpr`` (what a single deterministic threshold achieves).

    Returns
    -------
    tpr : float

    Examples
    --------
    >>> from skfedmia.metrics import tpr_at_fpr
    >>> membership = [1, 1, 0, 1, 0, 0]
    >>> scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    >>> round(tpr_at_fpr(membership, scores, fpr=0.0), 4)
    0.6667
    >>> # a member and a non-member tie at 0.5: the curve rises linearly through the tie
    >>> tpr_at_fpr([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.1], fpr=0.25)
    0.75
    >>> tpr_at_fpr([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.1], fpr=0.25, interpolation="lower")
    0.5
    """
    fprs, tprs, _ = attack_roc_curve(membership, scores)
    a = int(np.searchsorted(fprs, fpr, side="right")) - 1
    if interpolation == "lower" or a == len(fprs) - 1 or fprs[a] == fpr:
        # fprs[a] == fpr: the highest TPR among points at exactly this FPR
        return float(tprs[a])
    b = a + 1
    weight = (fpr - fprs[a]) / (fprs[b] - fprs[a])
    return float(tprs[a] + weight * (tprs[b] - tprs[a]))


@validate_params(
    {"membership": ["array-like"], "predictions": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def membership_advantage(membership, predictions):
    """Membership advantage of an attack: TPR - FPR (Yeom et al., 2018).

    Zero for an attack that guesses, one for a perfect attack; it equals
    ``2 * balanced_accuracy - 1``.

    Parameters
    ----------
    membership : array-like of shape (n_samples,)
        1 for members, 0 for non-members.
    predictions : array-like of shape (n_samples,)
        The attack's 0/1 decisions.

    Returns
    -------
    advantage : float

    Examples
    --------
    >>> from skfedmia.metrics import membership_advantage
    >>> membership_advantage([1, 1, 0, 0], [1, 0, 0, 0])
    0.5
    """
    membership, predictions = _check_binary_pair(membership, predictions, "predictions")
    if len(np.unique(membership)) < 2:
        raise ValueError("membership must contain both members (1) and non-members (0).")
    predictions = predictions.astype(bool)
    tpr = predictions[membership == 1].mean()
    fpr = predictions[membership == 0].mean()
    return float(tpr - fpr)
