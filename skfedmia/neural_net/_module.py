"""The torch module behind :class:`~skfedmia.TorchMLPClassifier`."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ..utils._validation import check_params

__all__ = ["MLPModule", "ACTIVATIONS", "make_activation"]

#: Activation names accepted by :class:`MLPModule` and ``TorchMLPClassifier``.
ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "selu": nn.SELU,
    "identity": nn.Identity,
}


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module for ``name``.

    Parameters
    ----------
    name : str
        One of the keys of :data:`ACTIVATIONS`.

    Returns
    -------
    module : torch.nn.Module

    Examples
    --------
    >>> from skfedmia.neural_net import make_activation
    >>> make_activation("tanh")
    Tanh()
    """
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}."
        ) from None


class MLPModule(nn.Module):
    """Multi-layer perceptron for tabular data that returns class logits.

    ``Linear -> activation -> Dropout`` for every hidden layer, then a ``Linear`` output layer.
    The softmax is applied by the classifier (``predict_proba``) and folded into the
    cross-entropy loss during training, which is the numerically stable way to train a
    softmax output layer.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_classes : int
        Number of output units (classes).
    hidden_layer_sizes : sequence of int, default=(128,)
        Width of each hidden layer; ``()`` gives a linear (softmax regression) model.
    activation : str, default="tanh"
        Hidden activation, one of :data:`ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after every hidden activation.

    Examples
    --------
    >>> import torch
    >>> from skfedmia.neural_net import MLPModule
    >>> module = MLPModule(n_features=600, n_classes=100)
    >>> module(torch.zeros(4, 600)).shape
    torch.Size([4, 100])
    """

    _parameter_constraints: dict = {
        "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_classes": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [tuple, list],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_layer_sizes: Sequence[int] = (128,),
        activation: str = "tanh",
        dropout: float = 0.0,
    ):
        check_params(
            self,
            {
                "n_features": n_features,
                "n_classes": n_classes,
                "hidden_layer_sizes": hidden_layer_sizes,
                "activation": activation,
                "dropout": dropout,
            },
        )
        if not all(isinstance(h, numbers.Integral) and h >= 1 for h in hidden_layer_sizes):
            raise ValueError(
                "The 'hidden_layer_sizes' parameter of MLPModule must be a sequence of "
                f"integers >= 1. Got {hidden_layer_sizes!r} instead."
            )
        super().__init__()
        self.n_features = int(n_features)
        self.n_classes = int(n_classes)
        self.hidden_layer_sizes = tuple(int(h) for h in hidden_layer_sizes)
        self.activation = activation
        self.dropout = float(dropout)
        layers: list[nn.Module] = []
        width = self.n_features
        for size in self.hidden_layer_sizes:
            layers.append(nn.Linear(width, size))
            layers.append(make_activation(activation))
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout))
            width = size
        layers.append(nn.Linear(width, self.n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X)

    @property
    def linear_layers(self) -> list[nn.Linear]:
        """The ``Linear`` layers in order, input layer first."""
        return [m for m in self.layers if isinstance(m, nn.Linear)]
