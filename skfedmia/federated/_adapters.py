"""How a federation trains, reads and writes the estimators it carries from node to node.

A federation only needs three things from a local learner: train it for a number of epochs
on a node's rows, read and write its parameters as one flat vector (what travels between
nodes, and what update defenses act on), and read, write or reset its optimizer state.
skorch nets, scikit-learn's MLPs and linear ``partial_fit`` models are supported; any other
``partial_fit`` classifier trains, and says clearly which of the other two it cannot do.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from skorch import NeuralNet

__all__ = [
    "train_epochs",
    "freeze",
    "initialize",
    "get_flat_params",
    "set_flat_params",
    "get_optimizer_state",
    "set_optimizer_state",
    "reset_optimizer",
    "supports_flat_params",
]


def _is_skorch(estimator) -> bool:
    return isinstance(estimator, NeuralNet)


def _is_sklearn_mlp(estimator) -> bool:
    return hasattr(estimator, "coefs_") and hasattr(estimator, "intercepts_")


def _is_linear(estimator) -> bool:
    return hasattr(estimator, "coef_") and hasattr(estimator, "intercept_")


def train_epochs(estimator, X, y, *, epochs: int, classes: np.ndarray) -> None:
    """Train ``estimator`` for ``epochs`` passes over ``(X, y)``.

    A skorch net runs all epochs in one ``partial_fit`` call; a scikit-learn estimator's
    ``partial_fit`` is one pass, so it is called ``epochs`` times.
    """
    if _is_skorch(estimator):
        X = np.asarray(X, dtype=np.float32)
        estimator.partial_fit(X, y, classes=classes, epochs=epochs)
        return
    for _ in range(epochs):
        estimator.partial_fit(X, y, classes=classes)


def initialize(estimator, X, y, *, classes: np.ndarray) -> None:
    """Build an untrained skorch net's module, so its initial parameters can be read.

    Other estimators create their parameters in their first ``partial_fit`` call; for them
    this does nothing.
    """
    if _is_skorch(estimator) and not getattr(estimator, "initialized_", False):
        estimator.partial_fit(np.asarray(X, dtype=np.float32), y, classes=classes, epochs=0)


def supports_flat_params(estimator) -> bool:
    """Whether a fitted ``estimator``'s parameters can be read as one vector."""
    if _is_skorch(estimator):
        return getattr(estimator, "module_", None) is not None
    return _is_sklearn_mlp(estimator) or _is_linear(estimator)


def _sklearn_arrays(estimator):
    if _is_sklearn_mlp(estimator):
        return list(estimator.coefs_) + list(estimator.intercepts_)
    return [estimator.coef_, np.atleast_1d(estimator.intercept_)]


def get_flat_params(estimator):
    """Every trainable parameter of a fitted estimator, concatenated.

    Returns a 1-D torch tensor on the module's device for skorch nets, and a float64
    numpy array for scikit-learn estimators.
    """
    if _is_skorch(estimator):
        params = [p for p in estimator.module_.parameters() if p.requires_grad]
        return torch.nn.utils.parameters_to_vector(params).detach().clone()
    if not supports_flat_params(estimator):
        raise TypeError(
            f"Cannot read the parameters of {type(estimator).__name__}: update defenses and "
            "federated averaging need a skorch net, an MLPClassifier or a linear model with "
            "coef_ and intercept_."
        )
    return np.concatenate([np.ravel(a) for a in _sklearn_arrays(estimator)]).astype(np.float64)


def set_flat_params(estimator, vector) -> None:
    """Write a vector made by :func:`get_flat_params` back into ``estimator`` in place."""
    if _is_skorch(estimator):
        params = [p for p in estimator.module_.parameters() if p.requires_grad]
        # a copy: torch makes the parameters views of the vector it is given, and training
        # would then write into the caller's vector (e.g. the global model of an average)
        vector = torch.as_tensor(vector, dtype=params[0].dtype, device=params[0].device).clone()
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(vector, params)
        return
    vector = np.asarray(vector, dtype=np.float64)
    offset = 0
    for array in _sklearn_arrays(estimator):
        size = array.size
        array[...] = vector[offset : offset + size].reshape(array.shape)
        offset += size
    if offset != vector.size:
        raise ValueError(f"Parameter vector has {vector.size} entries, expected {offset}.")


def freeze(estimator):
    """A copy of a fitted estimator that later training of the original does not change.

    For a skorch net only what training changes is copied (the module, callbacks, the list
    of history records) and the optimizer is rebuilt for the copied parameters, about ten
    times cheaper than ``copy.deepcopy`` of the whole net (which goes through skorch's
    pickling); other estimators are deep-copied.
    """
    if not (_is_skorch(estimator) and getattr(estimator, "initialized_", False)):
        return copy.deepcopy(estimator)
    from skorch.history import History

    frozen = object.__new__(type(estimator))
    frozen.__dict__.update(estimator.__dict__)
    for name in estimator._modules:
        setattr(frozen, name + "_", copy.deepcopy(getattr(estimator, name + "_")))
    frozen.callbacks_ = copy.deepcopy(estimator.callbacks_)
    frozen.history_ = History(list(estimator.history_))
    frozen._params_to_validate = set(estimator._params_to_validate)
    frozen.virtual_params_ = dict(estimator.virtual_params_)
    frozen._initialize_optimizer()
    return frozen


def get_optimizer_state(estimator):
    """A copy of the optimizer state (``None`` when the estimator keeps none)."""
    if _is_skorch(estimator):
        return {
            name: copy.deepcopy(getattr(estimator, name + "_").state_dict())
            for name in estimator._optimizers
        }
    if hasattr(estimator, "_optimizer"):
        return copy.deepcopy(estimator._optimizer)
    return None


def set_optimizer_state(estimator, state) -> None:
    """Restore a state made by :func:`get_optimizer_state`; ``None`` resets it."""
    if state is None:
        reset_optimizer(estimator)
        return
    if _is_skorch(estimator):
        for name, sd in state.items():
            getattr(estimator, name + "_").load_state_dict(copy.deepcopy(sd))
        return
    estimator._optimizer = copy.deepcopy(state)


def reset_optimizer(estimator) -> None:
    """Start the optimizer afresh (moment estimates and step counts forgotten)."""
    if _is_skorch(estimator):
        if getattr(estimator, "initialized_", False):
            estimator._initialize_optimizer()
        return
    if hasattr(estimator, "_optimizer"):
        del estimator._optimizer
