"""Mini-batches sliced from tensors that already live on the training device.

skorch's default path wraps arrays in a :class:`skorch.dataset.Dataset` and feeds them
through a :class:`torch.utils.data.DataLoader`, which indexes one sample at a time and
collates the batch again.  For in-memory tabular data that per-sample work costs about a
third of an epoch of a small MLP.  Here the whole array is moved to the device once and
each batch is one ``index_select`` (or a contiguous slice when not shuffling).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, Options
from torch.utils.data import Dataset

from ..utils._device import resolve_device
from ..utils._validation import check_params

__all__ = ["TensorDataset", "TensorBatchIterator"]


class TensorDataset(Dataset):
    """Features and (optional) targets held as tensors on one device.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features; converted to ``float32``.
    y : array-like of shape (n_samples,), default=None
        Integer-encoded targets; converted to ``int64``.
    device : torch.device or str, default="cpu"
        Where the tensors live.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.neural_net import TensorDataset
    >>> ds = TensorDataset(np.zeros((3, 2)), np.array([0, 1, 0]))
    >>> len(ds), ds[1][1].item()
    (3, 1)
    """

    _parameter_constraints: dict = {
        "X": ["array-like"],
        "y": ["array-like", None],
        "device": [str, torch.device],
    }

    def __init__(self, X, y=None, device="cpu"):
        check_params(self, {"X": X, "y": y, "device": device})
        device = resolve_device(device)
        self.X = torch.as_tensor(np.asarray(X, dtype=np.float32)).to(device)
        self.y = None if y is None else torch.as_tensor(np.asarray(y, dtype=np.int64)).to(device)
        if self.y is not None and len(self.y) != len(self.X):
            raise ValueError(
                f"X and y have different numbers of rows: {len(self.X)} and {len(self.y)}."
            )

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        # skorch's Dataset convention: a dummy target when there is none.
        yi = self.y[i] if self.y is not None else torch.zeros((), dtype=torch.int64)
        return self.X[i], yi


class TensorBatchIterator:
    """Iterate over mini-batches of a :class:`TensorDataset` without per-sample work.

    Parameters
    ----------
    dataset : TensorDataset
    batch_size : int, default=128
        ``-1`` or a size at least ``len(dataset)`` gives one batch.
    shuffle : bool, default=False
        Draw a new permutation from torch's global generator at every iteration, so that
        seeding torch (as ``TorchMLPClassifier`` does with ``random_state``) fixes the order.
    drop_last : bool, default=False
        Leave out a last batch smaller than ``batch_size``.
    **kwargs
        Ignored; accepted so that the iterator can be built with the arguments of a
        ``torch.utils.data.DataLoader`` (such as ``num_workers``).

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.neural_net import TensorBatchIterator, TensorDataset
    >>> batches = TensorBatchIterator(TensorDataset(np.ones((5, 2)), np.zeros(5)), batch_size=2)
    >>> [len(xb) for xb, yb in batches]
    [2, 2, 1]
    """

    _parameter_constraints: dict = {
        "dataset": [TensorDataset],
        "batch_size": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Options(int, {-1}),
            None,
        ],
        "shuffle": ["boolean"],
        "drop_last": ["boolean"],
    }

    def __init__(self, dataset, batch_size=128, shuffle=False, drop_last=False, **kwargs):
        check_params(
            self,
            {
                "dataset": dataset,
                "batch_size": batch_size,
                "shuffle": shuffle,
                "drop_last": drop_last,
            },
        )
        self.dataset = dataset
        self.batch_size = len(dataset) if batch_size in (-1, None) else int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return math.ceil(n / self.batch_size)

    def __iter__(self):
        X, y = self.dataset.X, self.dataset.y
        n = len(X)
        bs = max(1, self.batch_size)
        if self.shuffle:
            # drawn on the CPU generator, which random_state seeds, then moved
            order = torch.randperm(n).to(X.device)
        stop = n - n % bs if self.drop_last else n
        for start in range(0, stop, bs):
            if self.shuffle:
                idx = order[start : start + bs]
                xb = X.index_select(0, idx)
                yb = y.index_select(0, idx) if y is not None else None
            else:
                xb = X[start : start + bs]
                yb = y[start : start + bs] if y is not None else None
            if yb is None:
                yb = torch.zeros(len(xb), dtype=torch.int64, device=X.device)
            yield xb, yb
