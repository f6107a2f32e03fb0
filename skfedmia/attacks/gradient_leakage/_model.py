"""Model handling shared by the gradient-leakage attacks: parameters, gradients, updates."""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad

__all__ = ["compute_gradient", "simulate_local_update"]


def resolve_module(model, name="model"):
    """Return the torch module of a plain module, a skorch-style net (``module_``) or a
    wrapper around one (an ``estimator`` or ``estimator_`` holding such a net, as the
    model a federation's node hook receives)."""
    module, seen = model, 0
    while not isinstance(module, nn.Module) and module is not None and seen < 4:
        inner = getattr(module, "module_", None)
        if inner is None:
            inner = getattr(module, "estimator_", None)
        if inner is None:
            inner = getattr(module, "estimator", None)
        module, seen = inner, seen + 1
    if not isinstance(module, nn.Module):
        raise ValueError(
            f"{name} must be a torch.nn.Module, an object with a torch module in `module_` "
            f"(a fitted skorch net) or a wrapper of one in `estimator`, got "
            f"{type(model).__name__}."
        )
    if not any(True for _ in module.parameters()):
        raise ValueError(f"{name} has no parameters.")
    return module


def linear_layers(module):
    layers = getattr(module, "linear_layers", None)
    if layers is None:
        layers = [m for m in module.modules() if isinstance(m, nn.Linear)]
    return list(layers)


def model_info(module):
    """Names/shapes of the trainable parameters, input width, and the last-layer bias name."""
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    layers = linear_layers(module)
    if not layers:
        raise ValueError("model must contain at least one torch.nn.Linear layer.")
    first, last = layers[0], layers[-1]
    ids = {id(p): n for n, p in named}
    info = {
        "names": [n for n, _ in named],
        "shapes": [tuple(p.shape) for _, p in named],
        "n_features": first.in_features,
        "n_classes": last.out_features,
        "first_weight": ids.get(id(first.weight)),
        "first_bias": None if first.bias is None else ids.get(id(first.bias)),
        "last_bias": None if last.bias is None else ids.get(id(last.bias)),
        "device": named[0][1].device,
    }
    return info


def as_param_list(values, info, name):
    """Turn a gradient / parameter vector given in any accepted form into float64 tensors."""
    names, shapes, device = info["names"], info["shapes"], info["device"]
    sizes = [math.prod(s) for s in shapes]
    if isinstance(values, dict):
        missing = [n for n in names if n not in values]
        if missing:
            raise ValueError(f"{name} lacks entries for parameters {missing}.")
        values = [values[n] for n in names]
    if isinstance(values, (list, tuple)):
        if len(values) != len(shapes):
            raise ValueError(
                f"{name} has {len(values)} tensors but the model has {len(shapes)} "
                "trainable parameters."
            )
        out = []
        for i, (v, shape) in enumerate(zip(values, shapes)):
            t = torch.as_tensor(_to_numpy_if_needed(v), device=device).to(torch.float64)
            if tuple(t.shape) != shape:
                raise ValueError(
                    f"{name}[{i}] has shape {tuple(t.shape)}, expected {shape} "
                    f"(parameter {names[i]!r})."
                )
            out.append(t)
    else:
        flat = torch.as_tensor(_to_numpy_if_needed(values), device=device).to(torch.float64)
        if flat.ndim != 1 or flat.shape[0] != sum(sizes):
            raise ValueError(
                f"{name} must be a list of per-parameter tensors or a flat vector of "
                f"{sum(sizes)} values, got shape {tuple(flat.shape)}."
            )
        out = [c.reshape(s) for c, s in zip(torch.split(flat, sizes), shapes)]
    if not all(bool(torch.isfinite(t).all()) for t in out):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return out


def _to_numpy_if_needed(v):
    return v.detach() if isinstance(v, torch.Tensor) else np.asarray(v, dtype=np.float64)


def flatten(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


def attack_copy(module):
    """A float64 copy of the module in eval mode, so the attack never alters the model."""
    return copy.deepcopy(module).to(torch.float64).eval()


def make_loss(module, buffers):
    def loss(params, X, y):
        out = functional_call(module, (params, buffers), (X,))
        return nn.functional.cross_entropy(out, y)

    return loss


def compute_gradient(model, X, y, flat=False):
    """Mean cross-entropy gradient of a model on a batch, as a node would send it.

    Parameters
    ----------
    model : torch.nn.Module or object with ``module_``
        Classifier returning logits (e.g. :class:`~skfedmia.neural_net.MLPModule`).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Integer class indices.
    flat : bool, default=False
        Return one flat vector instead of one tensor per parameter.

    Returns
    -------
    gradient : list of torch.Tensor or torch.Tensor
        On the model's device, in the order of ``model.parameters()``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.attacks.gradient_leakage import compute_gradient
    >>> from skfedmia.neural_net import MLPModule
    >>> model = MLPModule(n_features=6, n_classes=3, hidden_layer_sizes=(4,))
    >>> g = compute_gradient(model, np.ones((2, 6)), [0, 2])
    >>> [tuple(t.shape) for t in g]
    [(4, 6), (4,), (3, 4), (3,)]
    """
    module = resolve_module(model)
    info = model_info(module)
    device = info["device"]
    dtype = next(module.parameters()).dtype
    X = torch.as_tensor(np.asarray(X), dtype=dtype, device=device)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long, device=device)
    params = {n: p.detach() for n, p in module.named_parameters() if p.requires_grad}
    buffers = {n: b.detach() for n, b in module.named_buffers()}
    g = grad(make_loss(module, buffers))(params, X, y)
    out = [g[n] for n in info["names"]]
    return flatten(out) if flat else out


def sgd_steps(
    loss, params, names, X, y, lr, local_epochs, local_batch_size, optimizer, smoothing=0.0
):
    """Differentiable local training: returns the parameters after the node's steps.

    Minibatches are consecutive blocks of rows, the same in every epoch. ``smoothing``
    > 0 softens Adam's normalisation for the search: the denominator becomes
    ``sqrt(v + (smoothing * rms(v))^2)`` per tensor, so that the first steps
    (``-lr * sign(g)``, flat in ``X``) have a useful gradient.
    """
    n = X.shape[0]
    bounds = [(s, min(s + local_batch_size, n)) for s in range(0, n, local_batch_size)]
    p = dict(params)
    if optimizer == "adam":
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        m = {k: torch.zeros_like(v) for k, v in p.items()}
        v2 = {k: torch.zeros_like(v) for k, v in p.items()}
    t = 0
    per_epoch = getattr(loss, "per_epoch", False)  # the loss reads the epoch's masks
    for epoch in range(local_epochs):
        for a, b in bounds:
            extra = (epoch,) if per_epoch else ()
            g = grad(loss)(p, X[a:b], y[a:b], *extra)
            t += 1
            if optimizer == "sgd":
                p = {k: p[k] - lr * g[k] for k in names}
            else:
                m = {k: beta1 * m[k] + (1 - beta1) * g[k] for k in names}
                v2 = {k: beta2 * v2[k] + (1 - beta2) * g[k] ** 2 for k in names}
                p = {k: p[k] - lr * _adam_direction(m[k], v2[k], t, eps, smoothing) for k in names}
    return p


def _adam_direction(m, v, t, eps, smoothing):
    beta1, beta2 = 0.9, 0.999
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    if smoothing > 0:
        floor = (smoothing**2) * v_hat.detach().mean()
        return m_hat / torch.sqrt(v_hat + floor + 1e-30)
    return m_hat / (torch.sqrt(v_hat + 1e-30) + eps)


def simulate_local_update(
    model, X, y, lr=0.01, local_epochs=1, local_batch_size=None, optimizer="sgd"
):
    """Parameters before and after a node's local training, as flat vectors.

    Parameters
    ----------
    model : torch.nn.Module or object with ``module_``
        The model the node receives; it is not modified.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    lr : float, default=0.01
        Local learning rate.
    local_epochs : int, default=1
        Passes over the node's rows.
    local_batch_size : int or None, default=None
        Minibatch size; ``None`` is full batch. Minibatches are consecutive rows.
    optimizer : {"sgd", "adam"}, default="sgd"
        Local optimizer (Adam with torch's default betas and fresh state).

    Returns
    -------
    params_before, params_after : torch.Tensor
        Flat parameter vectors, on the model's device.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.attacks.gradient_leakage import simulate_local_update
    >>> from skfedmia.neural_net import MLPModule
    >>> model = MLPModule(n_features=6, n_classes=3, hidden_layer_sizes=(4,))
    >>> before, after = simulate_local_update(model, np.ones((4, 6)), [0, 1, 2, 0], lr=0.1)
    >>> before.shape == after.shape
    True
    """
    module = resolve_module(model)
    info = model_info(module)
    n = len(X)
    bs = n if local_batch_size is None else int(local_batch_size)
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}.")
    dtype = next(module.parameters()).dtype
    Xt = torch.as_tensor(np.asarray(X), dtype=dtype, device=info["device"])
    yt = torch.as_tensor(np.asarray(y), dtype=torch.long, device=info["device"])
    params = {n_: p.detach() for n_, p in module.named_parameters() if p.requires_grad}
    buffers = {n_: b.detach() for n_, b in module.named_buffers()}
    loss = make_loss(module, buffers)
    after = sgd_steps(loss, params, info["names"], Xt, yt, lr, local_epochs, bs, optimizer)
    before = flatten([params[k] for k in info["names"]])
    return before, flatten([after[k].detach() for k in info["names"]])
