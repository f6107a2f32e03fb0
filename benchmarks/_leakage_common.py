"""Pieces the gradient-leakage benchmark scripts share: reaching a training stage, and
writing their rows so that a stopped run never leaves a half-written table behind."""

from __future__ import annotations

import csv
import io
import os
import tempfile

import torch


def train_adam(model, X, y, epochs, seed=0):
    """Plain Adam training (lr 0.001, batches of 64) to reach a training stage."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    for _ in range(epochs):
        for idx in torch.randperm(len(Xt), generator=gen).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    return model


def write_rows(rows, path):
    """Write ``rows`` (dicts with the same keys) as CSV to ``path``, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".rows.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            fh.write(buffer.getvalue())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
