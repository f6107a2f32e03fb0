"""Membership inference: did a record take part in training the target model?"""

from ._lira import LikelihoodRatioAttack
from ._shadow_attack import MembershipInferenceAttack
from ._threshold import ThresholdAttack

__all__ = ["LikelihoodRatioAttack", "MembershipInferenceAttack", "ThresholdAttack"]
