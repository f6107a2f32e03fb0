"""The figures of the Purchases-like benchmark; minutes on a CPU, run with ``-m slow``."""

import numpy as np
import pytest
import torch

from skfedmia.attacks.gradient_leakage import GradientInversionAttack, compute_gradient
from skfedmia.attacks.gradient_leakage._synthetic import make_sparse_binary
from skfedmia.neural_net import MLPModule


@pytest.mark.slow
@pytest.mark.parametrize("batch_size, min_f1", [(32, 0.95), (128, 0.85)])
def test_purchases_like_f1(batch_size, min_f1):
    X, y = make_sparse_binary(3000 + batch_size, random_state=0)
    torch.manual_seed(0)
    model = MLPModule(600, 100)
    g = compute_gradient(model, X[3000:], y[3000:])
    gia = GradientInversionAttack(n_restarts=2, max_iter=500, refine_iter=500, random_state=0)
    res = gia.fit(X[:3000]).reconstruct(model, g, batch_size=batch_size)
    scores = gia.report(res, X[3000:], y[3000:])
    assert scores["label_count_error"] == 0
    assert scores["f1"] >= min_f1
    assert np.isfinite(res.loss_)
