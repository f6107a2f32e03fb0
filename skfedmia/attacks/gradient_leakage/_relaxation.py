"""Input relaxations and priors: how dummy records are parametrised and what is likely."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["Relaxation"]

_EPS = 1e-4


def _t(a, device):
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, device=device)


class Relaxation:
    """Maps free variables ``Z`` to relaxed records ``X`` and scores them under the prior.

    ``kind`` is ``"bernoulli"`` (``x = sigmoid(z)``, rounded at the end), ``"gaussian"``
    or ``"none"`` (``x = z``) or ``"mixed"`` (softmax over every one-hot group, a scaled
    sigmoid into the range of every continuous column; snapped to one-hot groups at the
    end). ``stats`` holds the fitted marginals (or ``None``).
    """

    def __init__(self, kind, n_features, device, stats=None, layout=None):
        self.kind = kind
        self.n_features = n_features
        self.device = device
        self.layout = layout
        stats = stats or {}
        if kind == "bernoulli":
            m = stats.get("means", np.full(n_features, 0.5))
            self.p = _t(np.clip(m, 1e-3, 1 - 1e-3), device)
        elif kind in ("gaussian", "none"):
            self.mu = _t(stats.get("means", np.zeros(n_features)), device)
            self.sd = _t(np.maximum(stats.get("stds", np.ones(n_features)), 1e-3), device)
        else:
            self._init_mixed(stats)

    # -- mixed -----------------------------------------------------------------------------
    def _init_mixed(self, stats):
        lay, dev = self.layout, self.device
        self.groups = [torch.as_tensor(g, device=dev) for g in lay.categorical]
        self.cont = torch.as_tensor(lay.continuous, dtype=torch.long, device=dev)
        means = stats.get("means")
        self.log_freq = []
        for g in lay.categorical:
            f = np.full(len(g), 1 / len(g)) if means is None else np.asarray(means)[g]
            f = np.clip(f, 1e-3, None)
            self.log_freq.append(torch.log(_t(f / f.sum(), dev)))
        b = lay.bounds if lay.bounds is not None else np.tile([0.0, 1.0], (len(lay.continuous), 1))
        self.low, self.high = _t(b[:, 0], dev), _t(b[:, 1], dev)
        if means is None:
            mu, sd = (b[:, 0] + b[:, 1]) / 2, (b[:, 1] - b[:, 0]) / 4
        else:
            mu = np.asarray(means)[lay.continuous]
            sd = np.maximum(np.asarray(stats["stds"])[lay.continuous], 1e-3)
        self.c_mu, self.c_sd = _t(mu, dev), _t(sd, dev)
        order = [i for g in lay.categorical for i in g] + list(lay.continuous)
        self.inverse = torch.as_tensor(np.argsort(order), device=dev)

    # -- the map ---------------------------------------------------------------------------
    def transform(self, Z):
        if self.kind == "bernoulli":
            return torch.sigmoid(Z)
        if self.kind != "mixed":
            return Z
        pieces = [torch.softmax(Z[..., g], -1) for g in self.groups]
        if len(self.cont):
            span = self.high - self.low
            pieces.append(self.low + span * torch.sigmoid(Z[..., self.cont]))
        return torch.cat(pieces, -1)[..., self.inverse]

    def to_latent(self, X, eps=_EPS):
        """Free variables whose transform is (close to) ``X``, clipped ``eps`` from the edges.

        A larger ``eps`` keeps sigmoids and softmaxes away from saturation (a start).
        """
        X = torch.as_tensor(X, dtype=torch.float64, device=self.device)
        if self.kind == "bernoulli":
            Xc = X.clamp(eps, 1 - eps)
            return torch.log(Xc) - torch.log1p(-Xc)
        if self.kind != "mixed":
            return X.clone()
        Z = torch.empty_like(X)
        for g in self.groups:
            Z[..., g] = torch.log(X[..., g].clamp(eps, 1.0))
        if len(self.cont):
            u = ((X[..., self.cont] - self.low) / (self.high - self.low)).clamp(eps, 1 - eps)
            Z[..., self.cont] = torch.log(u) - torch.log1p(-u)
        return Z

    def init(self, n_restarts, batch_size, gen):
        """Random starting points of shape (n_restarts, batch_size, n_features)."""
        Z = torch.randn(n_restarts, batch_size, self.n_features, generator=gen, dtype=torch.float64)
        Z = Z.to(self.device)
        if self.kind in ("gaussian", "none"):
            Z = self.mu + self.sd * Z
        return Z

    def neg_log_prior(self, X):
        """Negative log-prior of relaxed records ``X`` (R, B, d), summed per restart."""
        if self.kind == "bernoulli":
            Xc = X.clamp(0, 1)
            return -(Xc * torch.log(self.p) + (1 - Xc) * torch.log1p(-self.p)).sum((1, 2))
        if self.kind == "none":
            return torch.zeros(X.shape[0], dtype=X.dtype, device=X.device)
        if self.kind == "gaussian":
            return (((X - self.mu) / self.sd) ** 2 / 2).sum((1, 2))
        total = torch.zeros(X.shape[0], dtype=X.dtype, device=X.device)
        for g, lf in zip(self.groups, self.log_freq):
            total = total - (X[..., g] * lf).sum((1, 2))
        if len(self.cont):
            z = (X[..., self.cont] - self.c_mu) / self.c_sd
            total = total + (z**2 / 2).sum((1, 2))
        return total

    def sample(self, n, gen):
        """Records drawn from the prior (for the mean softmax of label recovery)."""
        u = torch.rand(n, self.n_features, generator=gen, dtype=torch.float64)
        if self.kind == "bernoulli":
            return (u.to(self.device) < self.p).double()
        if self.kind != "mixed":
            e = torch.randn(n, self.n_features, generator=gen, dtype=torch.float64)
            return self.mu + self.sd * e.to(self.device)
        X = torch.zeros(n, self.n_features, dtype=torch.float64, device=self.device)
        for g, lf in zip(self.groups, self.log_freq):
            codes = torch.multinomial(torch.exp(lf).cpu(), n, replacement=True, generator=gen)
            X[torch.arange(n), g[codes.to(self.device)]] = 1.0
        if len(self.cont):
            e = torch.randn(n, len(self.cont), generator=gen, dtype=torch.float64).to(self.device)
            X[:, self.cont] = torch.clamp(self.c_mu + self.c_sd * e, self.low, self.high)
        return X

    # -- the end ---------------------------------------------------------------------------
    def finalize(self, X):
        """Snap relaxed records (numpy) to valid ones."""
        if self.kind == "bernoulli":
            return (X >= 0.5).astype(np.float64)
        if self.kind == "mixed":
            return self.layout.project(X)
        return X

    def confidence(self, aligned, X_out):
        """Per-column and per-feature confidence from the restarts ``aligned`` to ``X_out``.

        Returns ``(columns, fields)``: ``columns`` of the shape of ``X_out``; ``fields``
        of shape (batch_size, n_fields) for mixed records, else ``None``.
        """
        if self.kind == "bernoulli":
            return np.where(X_out >= 0.5, aligned, 1 - aligned).mean(0), None
        if self.kind != "mixed":
            sd = self.sd.cpu().numpy()
            return 1.0 / (1.0 + aligned.std(0) / sd), None
        cols = np.zeros_like(X_out)
        fields = []
        for g in self.layout.categorical:
            # mean probability the pooled restarts give to the category reported
            p = (aligned[..., g] * X_out[None, :, g]).sum(-1).mean(0)
            cols[:, g] = p[:, None]
            fields.append(p)
        if self.layout.continuous:
            c = self.layout.continuous
            sd = self.c_sd.cpu().numpy()
            # share of restarts near the reported value (a soft quarter of a std)
            z = (aligned[..., c] - X_out[None, :, c]) / (0.25 * sd)
            conf = np.exp(-0.5 * z**2).mean(0)
            cols[:, c] = conf
            fields.extend(conf.T)
        return cols, np.stack(fields, 1)
