"""Metrics of membership attacks, and scorers that run an attack inside ``GridSearchCV``."""

from ._attack_metrics import attack_roc_curve, membership_advantage, tpr_at_fpr
from ._audit import EpsilonAudit, EpsilonLowerBound, epsilon_lower_bound
from ._fit_data import get_fit_data, record_fit_data
from ._plot import plot_attack_roc
from ._report import AttackReport, attack_report
from ._scorer import make_membership_scorer

__all__ = [
    "AttackReport",
    "EpsilonAudit",
    "EpsilonLowerBound",
    "attack_report",
    "attack_roc_curve",
    "epsilon_lower_bound",
    "get_fit_data",
    "make_membership_scorer",
    "membership_advantage",
    "plot_attack_roc",
    "record_fit_data",
    "tpr_at_fpr",
]
