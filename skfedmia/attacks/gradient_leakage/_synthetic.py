"""Purchases-like sparse binary data for tests, examples and benchmarks."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state


def make_sparse_binary(
    n_samples=1000, n_features=600, n_groups=100, n_active=60, background=0.01, random_state=None
):
    """Sparse binary rows drawn from latent groups; the label is the group.

    Each group switches on ``n_active`` random features with a probability drawn from
    U(0.3, 0.9); all other features fire with probability ``background``. With the
    defaults about 6-7% of the bits are set, as in the Purchases benchmark.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32 in {0, 1}
    y : ndarray of shape (n_samples,), int64 in ``[0, n_groups)``
    """
    rng = check_random_state(random_state)
    profiles = np.full((n_groups, n_features), float(background))
    for g in range(n_groups):
        idx = rng.choice(n_features, n_active, replace=False)
        profiles[g, idx] = rng.uniform(0.3, 0.9, n_active)
    y = rng.randint(n_groups, size=n_samples).astype(np.int64)
    X = (rng.random_sample((n_samples, n_features)) < profiles[y]).astype(np.float32)
    return X, y
