"""Membership inference: did a record take part in training the target model?"""

from ._dynamics import LossChangeAttack, NodeAttributionAttack, per_record_loss
from ._lira import LikelihoodRatioAttack
from ._monitor import MembershipMonitor
from ._rmia import RelativeMembershipInferenceAttack
from ._scorer import make_membership_scorer
from ._shadow_attack import MembershipInferenceAttack
from ._threshold import ThresholdAttack

__all__ = [
    "LikelihoodRatioAttack",
    "LossChangeAttack",
    "MembershipInferenceAttack",
    "MembershipMonitor",
    "NodeAttributionAttack",
    "RelativeMembershipInferenceAttack",
    "ThresholdAttack",
    "make_membership_scorer",
    "per_record_loss",
]
