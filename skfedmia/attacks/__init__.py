"""Attacks on (federated) models: membership inference and gradient leakage."""

from .membership import LikelihoodRatioAttack, MembershipInferenceAttack, ThresholdAttack

__all__ = ["LikelihoodRatioAttack", "MembershipInferenceAttack", "ThresholdAttack"]
