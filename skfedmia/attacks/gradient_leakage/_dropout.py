"""Dropout in a replayed update: every record's masks are searched for with the record."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["dropout_layers", "masked_loss", "MaskedRelaxation"]


def _sequential(module):
    seq = module if isinstance(module, nn.Sequential) else getattr(module, "layers", None)
    if not isinstance(seq, nn.Sequential):
        return None, None
    prefix = "" if seq is module else "layers."
    return seq, prefix


def dropout_layers(module):
    """``(widths, rates)`` of the dropout layers of a model built as ``nn.Sequential``
    layers (``Linear``, parameter-free activations, ``Dropout``), e.g.
    :class:`~skfedmia.neural_net.MLPModule`; ``None`` for other models."""
    seq, _ = _sequential(module)
    if seq is None:
        return None
    widths, rates, width = [], [], None
    for layer in seq:
        if isinstance(layer, nn.Linear):
            width = layer.out_features
        elif isinstance(layer, nn.Dropout):
            if width is None:
                return None
            widths.append(width)
            rates.append(float(layer.p))
        elif any(True for _ in layer.parameters()) or any(True for _ in layer.buffers()):
            return None
    return (widths, rates) if widths else None


def masked_loss(module, n_features, widths, rates):
    """Cross-entropy of the model with given dropout masks.

    The records ``X`` carry, after their ``n_features`` columns, one keep indicator in
    ``[0, 1]`` per dropout unit and local epoch (epoch-major); a kept unit is scaled by
    ``1 / (1 - rate)`` as in training.
    """
    seq, prefix = _sequential(module)
    per_epoch = sum(widths)

    def loss(params, X, y, epoch=0):
        x = X[:, :n_features]
        offset = n_features + epoch * per_epoch
        k = 0
        for i, layer in enumerate(seq):
            if isinstance(layer, nn.Linear):
                bias = params.get(f"{prefix}{i}.bias")
                x = nn.functional.linear(x, params[f"{prefix}{i}.weight"], bias)
            elif isinstance(layer, nn.Dropout):
                mask = X[:, offset : offset + widths[k]]
                x = x * mask / (1 - rates[k])
                offset += widths[k]
                k += 1
            else:
                x = layer(x)
        return nn.functional.cross_entropy(x, y)

    loss.per_epoch = True
    return loss


class MaskedRelaxation:
    """A record relaxation extended by relaxed dropout masks (sigmoids, kept at 0.5+).

    Every method of :class:`Relaxation` acts on the record columns; the mask columns
    start at the keep probability (the model's expectation), are not scored by the prior
    and are rounded at 0.5 at the end. ``strip`` drops them, ``pad`` adds them at the
    keep probability (to records that have none).
    """

    def __init__(self, base, widths, rates, local_epochs):
        self.base = base
        self.kind = base.kind
        self.n_features = base.n_features
        self.layout = base.layout
        self.device = base.device
        keep = np.concatenate([np.full(w, 1 - r) for w, r in zip(widths, rates)])
        self.keep = torch.as_tensor(np.tile(keep, local_epochs), device=self.device)
        self.n_masks = int(self.keep.numel())

    def strip(self, X):
        return X[..., : self.n_features]

    def pad(self, X):
        if X.shape[-1] == self.n_features + self.n_masks:
            return X  # masks already there
        if isinstance(X, np.ndarray):
            keep = np.broadcast_to(self.keep.cpu().numpy(), X.shape[:-1] + (self.n_masks,))
            return np.concatenate([X, keep], -1)
        keep = self.keep.to(X.dtype).expand(*X.shape[:-1], self.n_masks)
        return torch.cat([X, keep], -1)

    def transform(self, Z):
        d = self.n_features
        return torch.cat([self.base.transform(Z[..., :d]), torch.sigmoid(Z[..., d:])], -1)

    def to_latent(self, X, eps=1e-4):
        X = torch.as_tensor(X, dtype=torch.float64, device=self.device)
        if X.shape[-1] == self.n_features:
            X = self.pad(X)
        d = self.n_features
        M = X[..., d:].clamp(0.05, 0.95)
        return torch.cat([self.base.to_latent(X[..., :d], eps), torch.log(M / (1 - M))], -1)

    def init(self, n_restarts, batch_size, gen):
        Z = self.base.init(n_restarts, batch_size, gen)
        keep = self.keep.to(Z.dtype).expand(n_restarts, batch_size, self.n_masks)
        return torch.cat([Z, torch.log(keep / (1 - keep))], -1)

    def neg_log_prior(self, X):
        return self.base.neg_log_prior(X[..., : self.n_features])

    def sample(self, n, gen):
        return self.base.sample(n, gen)

    def finalize(self, X):
        d = self.n_features
        masks = (X[..., d:] >= 0.5).astype(np.float64)
        return np.concatenate([self.base.finalize(X[..., :d]), masks], -1)

    def confidence(self, aligned, X_out):
        d = self.n_features
        return self.base.confidence(aligned[..., :d], X_out[..., :d])
