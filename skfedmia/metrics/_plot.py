"""ROC plot of membership attacks on log-log axes."""

from __future__ import annotations

import numpy as np

from ._attack_metrics import attack_roc_curve
from ._report import attack_report

__all__ = ["plot_attack_roc"]


def plot_attack_roc(membership, scores, *, ax=None, label=None, log_scale=True, **line_kw):
    """Draw an attack's ROC curve, on log-log axes by default (low FPR is what matters).

    Parameters
    ----------
    membership : array-like of shape (n_samples,)
        1 for members, 0 for non-members.
    scores : array-like of shape (n_samples,)
        Membership scores, higher meaning "more likely a member".
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when ``None``.
    label : str, default=None
        Legend entry; the AUC and TPR at 0.1% FPR are appended.
    log_scale : bool, default=True
        Log-log axes (from ``1 / n_non_members``), with the chance diagonal.
    **line_kw
        Passed to ``ax.plot``.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skfedmia.metrics import plot_attack_roc
    >>> ax = plot_attack_roc([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.7], label="toy")
    >>> ax.get_xscale()
    'log'
    """
    import matplotlib.pyplot as plt

    fpr, tpr, _ = attack_roc_curve(membership, scores)
    report = attack_report(membership, scores)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    text = f"AUC {report.roc_auc:.3f}, TPR@0.1% {report.tpr_at_01_fpr:.3f}"
    ax.plot(fpr, tpr, label=f"{label} ({text})" if label else text, **line_kw)
    low = 1.0 / max(report.n_non_members, 1)
    grid = np.logspace(np.log10(low), 0, 50) if log_scale else np.linspace(0, 1, 50)
    ax.plot(grid, grid, ls="--", color="grey", lw=0.8)
    if log_scale:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(low, 1)
        ax.set_ylim(low, 1)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.legend(loc="lower right", fontsize="small")
    return ax
