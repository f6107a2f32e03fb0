import numpy as np
import pytest
import torch
from sklearn.base import clone

from skfedmia.defenses import (
    DPSGD,
    ClipNorm,
    Compose,
    GaussianNoise,
    LaplaceNoise,
    RandomPruning,
    TopKSparsification,
    compute_epsilon,
)
from skfedmia.neural_net import MLPModule

ALL = [
    ClipNorm(1.0),
    GaussianNoise(0.1, clip_norm=1.0),
    LaplaceNoise(0.1),
    TopKSparsification(0.5),
    RandomPruning(0.5),
    Compose([ClipNorm(1.0), GaussianNoise(0.1)]),
]


@pytest.mark.parametrize("defense", ALL, ids=lambda d: type(d).__name__)
def test_numpy_and_torch_repeatable_and_untouched(defense):
    rng = np.random.RandomState(0)
    u = rng.randn(50)
    before = u.copy()
    a = defense.apply(u, random_state=1)
    b = defense.apply(u, random_state=1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(u, before)
    assert isinstance(a, np.ndarray) and a.shape == u.shape
    t = defense.apply(torch.tensor(u), random_state=1)
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), a)
    assert repr(clone(defense)) == repr(defense)


def test_clip_and_sparsify_semantics():
    u = np.array([3.0, 0.0, -4.0, 0.5])
    assert np.linalg.norm(ClipNorm(1.0).apply(u)) == pytest.approx(1.0)
    np.testing.assert_array_equal(ClipNorm(10.0).apply(u), u)
    np.testing.assert_array_equal(TopKSparsification(0.5).apply(u), [3.0, 0.0, -4.0, 0.0])
    assert (RandomPruning(0.75).apply(np.ones(8), random_state=0) == 0).sum() == 6
    noisy = GaussianNoise(1.0).apply(np.zeros(20000), random_state=0)
    assert noisy.std() == pytest.approx(1.0, rel=0.05)
    lap = LaplaceNoise(1.0).apply(np.zeros(20000), random_state=0)
    assert lap.std() == pytest.approx(np.sqrt(2), rel=0.05)


def test_noise_models():
    assert GaussianNoise(0.5, clip_norm=2.0).noise_model().clip_norm == 2.0
    nm = Compose([TopKSparsification(0.5), GaussianNoise(0.1)]).noise_model()
    assert nm.noise == "gaussian" and not nm.pruned
    nm = Compose([LaplaceNoise(0.1), RandomPruning(0.5)]).noise_model()
    assert nm.noise == "laplace" and nm.pruned


@pytest.mark.parametrize(
    "defense, match",
    [
        (ClipNorm(0), "max_norm"),
        (GaussianNoise(-1), "sigma"),
        (GaussianNoise(1, clip_norm=-2), "clip_norm"),
        (LaplaceNoise("a"), "scale"),
        (TopKSparsification(1.0), "fraction"),
        (RandomPruning(-0.1), "fraction"),
        (Compose([1]), "defenses"),
    ],
)
def test_bad_params(defense, match):
    with pytest.raises(ValueError, match=match):
        defense.apply(np.ones(3))


def test_bad_update():
    with pytest.raises(ValueError, match="update"):
        ClipNorm(1.0).apply(np.ones((2, 2)))


def test_epsilon_from_accountant():
    eps = compute_epsilon(1.1, sample_rate=0.01, n_steps=1000, delta=1e-5)
    assert 1.0 < eps < 2.0
    assert compute_epsilon(1.1, 0.01, 1000, 1e-5, accountant="pld") < eps + 0.5
    assert GaussianNoise(2.0, clip_norm=1.0).epsilon(n_releases=10) > GaussianNoise(
        4.0, clip_norm=1.0
    ).epsilon(n_releases=10)
    with pytest.raises(ValueError, match="clip_norm"):
        GaussianNoise(1.0).epsilon()
    with pytest.raises(ValueError, match="accountant"):
        compute_epsilon(1.0, 0.1, 10, accountant="moments")


def test_dpsgd_clips_per_example_and_steps():
    torch.manual_seed(0)
    model = MLPModule(5, 3, hidden_layer_sizes=(4,))
    X, y = torch.randn(6, 5), torch.tensor([0, 1, 2, 0, 1, 2])
    dp = DPSGD(noise_multiplier=0.0, max_grad_norm=1e-3)
    per = dp.per_example_gradients(model, X, y)
    assert per[0].shape == (6, 4, 5)
    g = dp.privatize_gradient(model, X, y)
    norm = torch.sqrt(sum((t**2).sum() for t in g))
    assert norm <= 1e-3 + 1e-9
    # without clipping or noise the privatised gradient is the ordinary one
    plain = DPSGD(noise_multiplier=0.0, max_grad_norm=1e6).privatize_gradient(model, X, y)
    loss = torch.nn.functional.cross_entropy(model(X), y)
    ref = torch.autograd.grad(loss, list(model.parameters()))
    for a, b in zip(plain, ref):
        torch.testing.assert_close(a, b)
    dp = DPSGD(noise_multiplier=1.0, max_grad_norm=1.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    dp.step(model, opt, X, y, random_state=0)
    assert dp.n_steps_ == 1 and dp.epsilon(sample_rate=0.1) > 0
    with pytest.raises(ValueError, match="max_grad_norm"):
        DPSGD(max_grad_norm=0).privatize_gradient(model, X, y)
