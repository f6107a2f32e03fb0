"""Torch MLPs for tabular data, wrapped as scikit-learn classifiers by skorch."""

from ._classifier import TorchMLPClassifier
from ._data import TensorBatchIterator, TensorDataset
from ._ensemble import can_fit_together, fit_mlp_ensemble
from ._module import ACTIVATIONS, MLPModule, make_activation

__all__ = [
    "ACTIVATIONS",
    "MLPModule",
    "TensorBatchIterator",
    "TensorDataset",
    "TorchMLPClassifier",
    "can_fit_together",
    "fit_mlp_ensemble",
    "make_activation",
]
