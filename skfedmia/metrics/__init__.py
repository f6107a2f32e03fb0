"""Metrics of membership attacks (ROC, TPR at low FPR, reports with intervals); knows no attack."""

from ..utils._fit_data import get_fit_data, record_fit_data
from ._attack_metrics import attack_roc_curve, membership_advantage, tpr_at_fpr
from ._audit import EpsilonAudit, EpsilonLowerBound, epsilon_lower_bound
from ._plot import plot_attack_roc
from ._report import AttackReport, attack_report

__all__ = [
    "AttackReport",
    "EpsilonAudit",
    "EpsilonLowerBound",
    "attack_report",
    "attack_roc_curve",
    "epsilon_lower_bound",
    "get_fit_data",
    "membership_advantage",
    "plot_attack_roc",
    "record_fit_data",
    "tpr_at_fpr",
]
