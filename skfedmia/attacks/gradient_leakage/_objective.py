"""The matching objective: the (defense-aware) likelihood of the observed gradient + prior."""

from __future__ import annotations

import math

import torch
from torch.func import vmap

__all__ = ["Objective", "pruning_view"]


def pruning_view(obs, nm):
    """What the zeros of a pruned observation say, as ``(zero_mask, rule, value)``.

    * Magnitude (top-k) pruning keeps the largest ``n - floor(fraction * n)`` coordinates,
      so a zero says ``|g_i| <= tau`` with ``tau`` the smallest magnitude kept (a censored
      observation). When fewer coordinates are non-zero than were kept, nothing non-zero
      was pruned: ``tau = 0`` and every zero is a true zero.
    * Random pruning zeroes coordinates regardless of their value: a zero is a true zero
      with probability ``pi``, estimated from how many zeros there are beyond the pruned
      share (``value`` is ``pi``).

    Returns ``None`` when nothing is pruned.
    """
    if nm is None or not nm.pruned:
        return None
    zero = obs == 0
    n, n_zero = obs.numel(), int(zero.sum())
    if n_zero == 0:
        return None
    fraction = float(nm.prune_fraction)
    if nm.prune_rule == "magnitude":
        n_kept = n - math.floor(fraction * n)
        if n - n_zero < n_kept:
            return zero, "magnitude", 0.0
        return zero, "magnitude", float(obs[~zero].abs().min())
    if nm.prune_rule == "random" and fraction < 1:
        natural = max(0.0, (n_zero - fraction * n) / (1 - fraction))
        return zero, "random", min(1.0, natural / n_zero)
    # unknown rule: the zeros are taken as carrying nothing
    return zero, "random", 0.0


class Objective:
    """Objective per restart: data term (negative log-likelihood) plus weighted prior.

    Parameters
    ----------
    loss : {"cosine", "l2", "l1", "bayes"}
    obs : 1-D tensor
        The observed (possibly defended) gradient or update.
    nm : NoiseModel or None
    relaxation : Relaxation
    prior_weight : float
    batch_size : int
    """

    def __init__(self, loss, obs, nm, relaxation, prior_weight, batch_size):
        self.loss = loss
        self.obs = obs
        self.nm = nm
        self.relaxation = relaxation
        self.prior_weight = prior_weight
        self.view = pruning_view(obs, nm)
        self.noise_scale = 0.0
        if nm is not None and nm.noise is not None:
            self.noise_scale = nm.scale / batch_size if nm.per_example_clip else nm.scale
        self.clip = (
            nm.clip_norm
            if nm is not None and nm.clip_norm is not None and not nm.per_example_clip
            else None
        )

    def _censor(self, sim):
        """The simulated gradient as the defense would have let it through."""
        if self.view is None:
            return sim
        zero, rule, value = self.view
        if rule == "magnitude":
            if value == 0.0:
                return sim
            shrunk = torch.sign(sim) * torch.relu(sim.abs() - value)
            return torch.where(zero, shrunk, sim)
        return torch.where(zero, math.sqrt(value) * sim, sim)

    def data(self, sim):
        """Data term for simulated gradients ``sim`` of shape (R, n_params)."""
        obs = self.obs
        if self.clip is not None and self.loss != "cosine":
            norm = torch.linalg.vector_norm(sim, dim=1, keepdim=True)
            sim = sim * torch.clamp(self.clip / (norm + 1e-30), max=1.0)
        sim = self._censor(sim)
        loss = self.loss
        if loss == "bayes":
            if self.noise_scale <= 0:
                loss = "cosine"
            elif self.nm.noise == "gaussian":
                return ((sim - obs) ** 2).sum(1) / (2 * self.noise_scale**2)
            else:
                return (sim - obs).abs().sum(1) / self.noise_scale
        if loss == "cosine":
            dot = sim @ obs
            return 1 - dot / (torch.linalg.vector_norm(sim, dim=1) * obs.norm() + 1e-30)
        if loss == "l2":
            return ((sim - obs) ** 2).sum(1)
        return (sim - obs).abs().sum(1)

    def __call__(self, X, observe):
        """Objective per restart for relaxed records ``X`` of shape (R, B, d)."""
        sim = vmap(observe, randomness="different")(X)
        value = self.data(sim)
        if self.prior_weight == 0.0 or self.relaxation.kind == "none":
            return value
        return value + self.prior_weight * self.relaxation.neg_log_prior(X)
