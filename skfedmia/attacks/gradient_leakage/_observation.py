"""What the attacker observed (a gradient or an update) and how to simulate it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch.func import grad, vmap

from ._model import as_param_list, flatten, sgd_steps

__all__ = ["Observation", "observe", "closed_form"]


@dataclass
class Observation:
    """The observed vector and how simulated records map onto it.

    ``obs`` is compared with ``factor * gradient(X)`` (one-gradient view) or with the
    replayed update; ``label_grad`` is the mean gradient used for label recovery.
    """

    obs: torch.Tensor
    label_grad: torch.Tensor
    params: dict
    factor: float = 1.0
    replay: dict | None = None
    offsets: dict = field(default_factory=dict)


def observe(
    work, info, *, gradient, update, batch_size, lr, local_epochs, local_batch_size, optimizer
):
    """Parse ``gradient`` or ``update`` (validated by the caller) into an Observation."""
    names = info["names"]
    sizes = [math.prod(s) for s in info["shapes"]]
    offsets = dict(zip(names, [sum(sizes[:i]) for i in range(len(sizes))]))
    if gradient is not None:
        params = {n: p.detach() for n, p in work.named_parameters() if n in names}
        g_obs = flatten(as_param_list(gradient, info, "gradient"))
        return Observation(g_obs, g_obs, params, offsets=offsets)
    if isinstance(update, tuple) and len(update) == 2:
        before = as_param_list(update[0], info, "update[0]")
        after = as_param_list(update[1], info, "update[1]")
        delta = flatten(after) - flatten(before)
    else:
        before = [p.detach() for n, p in work.named_parameters() if n in names]
        delta = flatten(as_param_list(update, info, "update"))
    lbs = min(batch_size if local_batch_size is None else local_batch_size, batch_size)
    n_steps = local_epochs * math.ceil(batch_size / lbs)
    factor = -lr * n_steps
    replay = dict(lr=lr, local_epochs=local_epochs, local_batch_size=lbs, optimizer=optimizer)
    return Observation(
        delta, delta / factor, dict(zip(names, before)), factor, replay, offsets=offsets
    )


def gradient_observer(loss_fn, observation, names, y_t, per_example_clip=None):
    """``X -> factor * mean gradient`` (per-record clipped first under DP-SGD)."""
    params, factor = observation.params, observation.factor

    if per_example_clip is None:

        def simulate(X):
            g = grad(loss_fn)(params, X, y_t)
            return factor * flatten([g[n] for n in names])

        return simulate

    def one(p, x, t):
        return loss_fn(p, x[None], t[None])

    def simulate(X):
        per = vmap(grad(one), in_dims=(None, 0, 0))(params, X, y_t)
        flat = torch.cat([per[n].reshape(X.shape[0], -1) for n in names], 1)
        norms = torch.linalg.vector_norm(flat, dim=1, keepdim=True)
        flat = flat * torch.clamp(per_example_clip / (norms + 1e-12), max=1.0)
        return factor * flat.mean(0)

    return simulate


def replay_observer(loss_fn, observation, names, y_t, smoothing=0.0):
    """``X -> update`` after replaying the node's local steps on ``X`` (Adam's
    normalisation softened by ``smoothing``, see ``sgd_steps``)."""
    params, replay = observation.params, observation.replay

    def simulate(X):
        p = sgd_steps(loss_fn, params, names, X, y_t, **replay, smoothing=smoothing)
        return flatten([p[n] - params[n] for n in names])

    return simulate


def closed_form(g_obs, offsets, info):
    """One record from the first layer: ``x = sum_j db_j dW_j / sum_j db_j^2``.

    Exact for an unpruned, noise-free gradient of one record (``dW = db x^T``). Pruned
    entries (zeros) are left out of the sums, column by column; a column with no kept
    entry is 0. Returns ``None`` when the first layer's bias gradient is all zero.
    """
    h, d = info["shapes"][info["names"].index(info["first_weight"])]
    ow, ob = offsets[info["first_weight"]], offsets[info["first_bias"]]
    dW = g_obs[ow : ow + h * d].reshape(h, d)
    db = g_obs[ob : ob + h]
    if float((db**2).sum()) == 0.0:
        return None
    kept = (dW != 0) & (db != 0)[:, None]
    if bool(kept.all()):
        return (db @ dW) / (db**2).sum()
    num = (db[:, None] * dW * kept).sum(0)
    den = ((db**2)[:, None] * kept).sum(0)
    return torch.where(den > 0, num / torch.where(den > 0, den, 1.0), 0.0)
