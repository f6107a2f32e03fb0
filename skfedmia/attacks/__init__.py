"""Attacks on (federated) models: membership inference and gradient leakage."""

from .membership import (
    LikelihoodRatioAttack,
    LossChangeAttack,
    MembershipInferenceAttack,
    MembershipMonitor,
    NodeAttributionAttack,
    ThresholdAttack,
)

__all__ = [
    "LikelihoodRatioAttack",
    "LossChangeAttack",
    "MembershipInferenceAttack",
    "MembershipMonitor",
    "NodeAttributionAttack",
    "ThresholdAttack",
]
