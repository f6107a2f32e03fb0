"""skfedmia: how much do (federated) models leak about their training data?"""

# Names load on first use (PEP 562), so that ``skfedmia --help`` and other light uses
# start without importing torch.
import importlib

__version__ = "0.1.0"

_WHERE = {
    "ColludingInsidersAttack": ".attacks",
    "FederatedAveragingClassifier": ".federated",
    "GradientInversionAttack": ".attacks",
    "LikelihoodRatioAttack": ".attacks",
    "LossChangeAttack": ".attacks",
    "MembershipInferenceAttack": ".attacks",
    "MembershipMonitor": ".attacks",
    "NodeAttributionAttack": ".attacks",
    "RelativeMembershipInferenceAttack": ".attacks",
    "SequentialFederatedClassifier": ".federated",
    "SnapshotRecorder": ".federated",
    "ThresholdAttack": ".attacks",
    "TorchMLPClassifier": ".neural_net",
    "attack_report": ".metrics",
    "make_membership_scorer": ".attacks.membership",
    "tpr_at_fpr": ".metrics",
}
_SUBMODULES = ("datasets", "defenses", "metrics")

__all__ = sorted([*_WHERE, *_SUBMODULES, "__version__"])


def __getattr__(name):
    if name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_WHERE, *_SUBMODULES])
