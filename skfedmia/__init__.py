"""skfedmia: how much do (federated) models leak about their training data?"""

from .federated import (
    FederatedAveragingClassifier,
    SequentialFederatedClassifier,
    SnapshotRecorder,
)
from .neural_net import TorchMLPClassifier

__version__ = "0.1.0"

__all__ = [
    "FederatedAveragingClassifier",
    "SequentialFederatedClassifier",
    "SnapshotRecorder",
    "TorchMLPClassifier",
    "__version__",
]
