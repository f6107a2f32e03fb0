"""Attacks on (federated) models: membership inference and gradient leakage."""

from .gradient_leakage import GradientInversionAttack
from .membership import (
    ColludingInsidersAttack,
    LikelihoodRatioAttack,
    LossChangeAttack,
    MembershipInferenceAttack,
    MembershipMonitor,
    NodeAttributionAttack,
    RelativeMembershipInferenceAttack,
    ThresholdAttack,
)

__all__ = [
    "ColludingInsidersAttack",
    "GradientInversionAttack",
    "LikelihoodRatioAttack",
    "LossChangeAttack",
    "MembershipInferenceAttack",
    "MembershipMonitor",
    "NodeAttributionAttack",
    "RelativeMembershipInferenceAttack",
    "ThresholdAttack",
]
