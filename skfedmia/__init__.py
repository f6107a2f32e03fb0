"""skfedmia: how much do (federated) models leak about their training data?"""

from . import datasets, defenses, metrics
from .attacks import (
    GradientInversionAttack,
    LikelihoodRatioAttack,
    LossChangeAttack,
    MembershipInferenceAttack,
    MembershipMonitor,
    NodeAttributionAttack,
    RelativeMembershipInferenceAttack,
    ThresholdAttack,
)
from .attacks.membership import make_membership_scorer
from .federated import (
    FederatedAveragingClassifier,
    SequentialFederatedClassifier,
    SnapshotRecorder,
)
from .metrics import attack_report, tpr_at_fpr
from .neural_net import TorchMLPClassifier

__version__ = "0.1.0"

__all__ = [
    "FederatedAveragingClassifier",
    "GradientInversionAttack",
    "LikelihoodRatioAttack",
    "LossChangeAttack",
    "MembershipInferenceAttack",
    "MembershipMonitor",
    "NodeAttributionAttack",
    "RelativeMembershipInferenceAttack",
    "SequentialFederatedClassifier",
    "SnapshotRecorder",
    "ThresholdAttack",
    "TorchMLPClassifier",
    "__version__",
    "attack_report",
    "datasets",
    "defenses",
    "make_membership_scorer",
    "metrics",
    "tpr_at_fpr",
]
