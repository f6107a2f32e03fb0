import numpy as np
import pytest
import torch

from skfedmia.defenses import DPSGD
from skfedmia.neural_net import MLPModule


def test_noise_model_describes_the_privatised_mean_gradient():
    dp = DPSGD(noise_multiplier=2.0, max_grad_norm=0.5)
    nm = dp.noise_model()
    assert nm.noise == "gaussian" and nm.scale == 1.0
    assert nm.clip_norm == 0.5 and nm.per_example_clip and not nm.pruned
    # the empirical noise on the mean gradient of a batch of 8 is scale / 8
    torch.manual_seed(0)
    model = MLPModule(n_features=4, n_classes=2, hidden_layer_sizes=(3,))
    X, y = torch.randn(8, 4), torch.tensor([0, 1] * 4)
    clean = DPSGD(noise_multiplier=0.0, max_grad_norm=0.5).privatize_gradient(model, X, y)
    diffs = []
    for seed in range(200):
        noisy = dp.privatize_gradient(model, X, y, random_state=seed)
        diffs.append(torch.cat([(a - b).ravel() for a, b in zip(noisy, clean)]).numpy())
    assert np.std(diffs) == pytest.approx(nm.scale / 8, rel=0.05)


def test_noise_model_without_noise_and_bad_params():
    assert DPSGD(noise_multiplier=0.0).noise_model().noise is None
    with pytest.raises(ValueError, match="max_grad_norm"):
        DPSGD(max_grad_norm=-1.0).noise_model()
