"""Federated learning across nodes: sequential (cyclic) and parallel (averaging)."""

from ._averaging import FederatedAveragingClassifier
from ._callbacks import NodeCallback, NodeModel, SnapshotRecorder
from ._partition import PARTITIONS, split_nodes
from ._sequential import SequentialFederatedClassifier

__all__ = [
    "PARTITIONS",
    "FederatedAveragingClassifier",
    "NodeCallback",
    "NodeModel",
    "SequentialFederatedClassifier",
    "SnapshotRecorder",
    "split_nodes",
]
