import numpy as np
import pytest
import torch
from sklearn.base import clone

from skfedmia import TorchMLPClassifier
from skfedmia.neural_net import can_fit_together, fit_mlp_ensemble

# the stacked models equal one-by-one training up to float32 rounding (CPU)
TOLERANCE = 1e-5


def _data(n_sets=5, n=60, d=12, n_classes=4, seed=0):
    rng = np.random.RandomState(seed)
    X = (rng.rand(n_sets * n, d) < 0.3).astype(np.float32)
    y = rng.randint(0, n_classes, n_sets * n)
    return [(X[i * n : (i + 1) * n], y[i * n : (i + 1) * n]) for i in range(n_sets)], X


@pytest.mark.parametrize(
    "dropout, optimizer, extra",
    [
        (0.0, torch.optim.Adam, {}),
        (0.3, torch.optim.Adam, {}),
        (0.3, torch.optim.Adam, {"optimizer__fused": False}),
        (0.0, torch.optim.SGD, {}),
        (0.3, torch.optim.SGD, {"optimizer__momentum": 0.9}),
        # RMSprop's first steps divide by the root of tiny squared-gradient averages,
        # which turns float rounding in near-zero gradients into 1e-5 differences with
        # the default eps=1e-8; with a larger eps the two paths agree to 1e-7
        (0.3, torch.optim.RMSprop, {"optimizer__eps": 1e-3}),
    ],
)
def test_equals_one_by_one_training(dropout, optimizer, extra):
    data, X = _data()
    template = TorchMLPClassifier(
        max_epochs=4,
        batch_size=16,
        dropout=dropout,
        optimizer=optimizer,
        lr=0.01,
        hidden_layer_sizes=(16, 8),
        **extra,
    )
    seeds = [3, 1, 4, 1, 5]
    together = fit_mlp_ensemble(template, data, random_states=seeds)
    for k, model in enumerate(together):
        alone = clone(template).set_params(random_state=seeds[k]).fit(*data[k])
        np.testing.assert_allclose(model.predict_proba(X), alone.predict_proba(X), atol=TOLERANCE)
    # different seeds give different models
    assert not np.allclose(together[0].predict_proba(X), together[1].predict_proba(X))


def test_unequal_sizes_and_missing_classes():
    data, X = _data(n_sets=3)
    data[1] = (data[1][0][:40], np.where(data[1][1][:40] == 3, 0, data[1][1][:40]))
    template = TorchMLPClassifier(max_epochs=2, batch_size=16)
    models = fit_mlp_ensemble(template, data, random_states=[0, 1, 2], classes=np.arange(4))
    assert all(m.predict_proba(X).shape == (len(X), 4) for m in models)
    alone = clone(template).set_params(random_state=1)
    alone.partial_fit(*data[1], classes=np.arange(4))
    np.testing.assert_allclose(models[1].predict_proba(X), alone.predict_proba(X), atol=TOLERANCE)


def test_global_rng_untouched_and_errors():
    data, _ = _data(n_sets=2)
    torch.manual_seed(7)
    state = torch.get_rng_state()
    fit_mlp_ensemble(TorchMLPClassifier(max_epochs=1), data, random_states=[0, 1])
    assert torch.equal(state, torch.get_rng_state())
    assert not can_fit_together(TorchMLPClassifier(criterion=torch.nn.NLLLoss))
    assert not can_fit_together(TorchMLPClassifier(optimizer=torch.optim.LBFGS))
    with pytest.raises(ValueError, match="cannot be trained as a stacked ensemble"):
        fit_mlp_ensemble(
            TorchMLPClassifier(optimizer=torch.optim.LBFGS), data, random_states=[0, 1]
        )
    with pytest.raises(ValueError, match="random_states has 1 seeds for 2 data sets"):
        fit_mlp_ensemble(TorchMLPClassifier(), data, random_states=[0])
    bad = [(data[0][0].copy(), data[0][1])]
    bad[0][0][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_mlp_ensemble(TorchMLPClassifier(), bad, random_states=[0])
