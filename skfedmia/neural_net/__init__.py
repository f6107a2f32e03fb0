"""Torch MLPs for tabular data, wrapped as scikit-learn classifiers by skorch."""

from ._module import ACTIVATIONS, MLPModule, make_activation

__all__ = ["ACTIVATIONS", "MLPModule", "make_activation"]
