"""Gradient leakage: reconstructing a node's records from the gradient or update it sends.

Attacks are points of the Bayesian framework of Balunovic et al. (ICLR 2022): a
gradient-matching loss (the assumed noise on the gradient) plus a prior over the inputs.
"""

from ._attack import LOSSES, PRIORS, GradientInversionAttack
from ._callback import GradientLeakageRecorder
from ._labels import recover_label_counts
from ._layout import ColumnLayout
from ._metrics import match_records, reconstruction_scores, tabular_scores
from ._model import compute_gradient, simulate_local_update
from ._result import GradientReconstruction

__all__ = [
    "ColumnLayout",
    "GradientInversionAttack",
    "GradientLeakageRecorder",
    "GradientReconstruction",
    "LOSSES",
    "PRIORS",
    "compute_gradient",
    "match_records",
    "reconstruction_scores",
    "recover_label_counts",
    "simulate_local_update",
    "tabular_scores",
]
