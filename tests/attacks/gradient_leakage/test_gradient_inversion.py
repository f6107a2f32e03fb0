import numpy as np
import pytest
import torch

from skfedmia.attacks.gradient_leakage import (
    GradientInversionAttack,
    compute_gradient,
    match_records,
    reconstruction_scores,
    recover_label_counts,
    simulate_local_update,
)
from skfedmia.attacks.gradient_leakage._synthetic import make_sparse_binary
from skfedmia.defenses import ClipNorm, GaussianNoise, TopKSparsification
from skfedmia.neural_net import MLPModule


def paper_mlp(n_classes=100):
    torch.manual_seed(0)
    return MLPModule(n_features=600, n_classes=n_classes)


def small_problem(batch_size, n_features=40, n_classes=5, hidden=32, seed=0):
    X, y = make_sparse_binary(
        500 + batch_size, n_features, n_groups=n_classes, n_active=8, random_state=seed
    )
    torch.manual_seed(seed)
    model = MLPModule(n_features, n_classes, hidden_layer_sizes=(hidden,))
    return model, X[:500], X[500:], y[500:]


def test_batch_size_one_is_exact_in_closed_form():
    model = paper_mlp()
    rng = np.random.RandomState(0)
    x = rng.randn(1, 600).astype(np.float32)
    g = compute_gradient(model, x, [17])
    res = GradientInversionAttack(prior="gaussian").reconstruct(model, g, batch_size=1)
    assert res.method_ == "analytic"
    assert np.abs(res.X_ - x).max() < 1e-5
    assert res.y_.tolist() == [17]


def test_batch_size_one_binary_exact():
    model = paper_mlp()
    X, y = make_sparse_binary(1, random_state=3)
    res = GradientInversionAttack().reconstruct(model, compute_gradient(model, X, y), batch_size=1)
    np.testing.assert_array_equal(res.X_, X)
    assert res.y_.tolist() == y.tolist()


@pytest.mark.parametrize("batch_size", [2, 16, 64, 128])
def test_label_counts_exact_on_untrained_model(batch_size):
    model = paper_mlp()
    X, y = make_sparse_binary(3000 + batch_size, random_state=batch_size)
    Xt, yt = X[3000:], y[3000:]
    g = compute_gradient(model, Xt, yt)
    gia = GradientInversionAttack(max_iter=0, refine_iter=0, n_restarts=1).fit(X[:3000])
    res = gia.reconstruct(model, g, batch_size=batch_size)
    np.testing.assert_array_equal(res.label_counts_, np.bincount(yt, minlength=100))
    # also without public data (prior marginals 0.5)
    res = GradientInversionAttack(max_iter=0, refine_iter=0, n_restarts=1).reconstruct(
        model, g, batch_size=batch_size
    )
    np.testing.assert_array_equal(res.label_counts_, np.bincount(yt, minlength=100))


def test_recover_label_counts_rounding_sums_to_batch():
    p = np.full(4, 0.25)
    counts = recover_label_counts(np.array([0.05, -0.2, 0.1, 0.05]), 10, p)
    assert counts.sum() == 10


def test_small_batch_reconstruction_quality_and_repeatability():
    model, Xp, Xt, yt = small_problem(4)
    g = compute_gradient(model, Xt, yt)
    gia = GradientInversionAttack(n_restarts=2, max_iter=100, refine_iter=20, random_state=0)
    gia.fit(Xp)
    res = gia.reconstruct(model, g, batch_size=4)
    s = gia.report(res, Xt, yt)
    assert s["f1"] >= 0.95
    assert s["label_count_error"] == 0
    assert res.confidence_.shape == Xt.shape
    assert ((res.confidence_ >= 0) & (res.confidence_ <= 1)).all()
    res2 = gia.reconstruct(model, g, batch_size=4)
    np.testing.assert_array_equal(res.X_, res2.X_)
    assert res.loss_ == res2.loss_


def test_norm_clipping_leaves_cosine_reconstruction_unchanged():
    model, Xp, Xt, yt = small_problem(2)
    g = compute_gradient(model, Xt, yt, flat=True)
    clipped = ClipNorm(max_norm=float(g.norm()) / 10).apply(g)
    assert torch.linalg.vector_norm(clipped) < torch.linalg.vector_norm(g)
    # the attacker knows that updates are clipped, not by how much: labels are recovered
    # from the bias gradient up to scale, and the cosine objective is scale-free
    gia = GradientInversionAttack(
        defense=ClipNorm(1.0), n_restarts=1, max_iter=150, refine_iter=20, random_state=0
    )
    gia.fit(Xp)
    a = gia.reconstruct(model, g, batch_size=2)
    b = gia.reconstruct(model, clipped, batch_size=2)
    np.testing.assert_array_equal(a.y_, np.sort(yt))
    np.testing.assert_array_equal(a.y_, b.y_)
    assert gia.report(a, Xt, yt) == gia.report(b, Xt, yt)
    assert gia.report(b, Xt, yt)["exact_row_rate"] == 1.0


def test_defense_aware_attack_not_worse_under_gaussian_noise():
    model, Xp, Xt, yt = small_problem(3)
    g = compute_gradient(model, Xt, yt, flat=True)
    sigma = float(g.abs().mean())
    defense = GaussianNoise(sigma=sigma)
    noisy = defense.apply(g, random_state=0)
    kw = dict(n_restarts=2, max_iter=100, refine_iter=20, random_state=0)
    naive = GradientInversionAttack(loss="cosine", **kw).fit(Xp)
    aware = GradientInversionAttack(loss="bayes", defense=defense, **kw).fit(Xp)
    labels = yt  # isolate the input reconstruction from label recovery
    s_naive = naive.report(naive.reconstruct(model, noisy, batch_size=3, labels=labels), Xt, yt)
    s_aware = aware.report(aware.reconstruct(model, noisy, batch_size=3, labels=labels), Xt, yt)
    assert s_aware["accuracy"] >= s_naive["accuracy"] - 1e-9


def test_pruning_is_modelled():
    model, Xp, Xt, yt = small_problem(2)
    g = compute_gradient(model, Xt, yt, flat=True)
    defense = TopKSparsification(fraction=0.5)
    pruned = defense.apply(g)
    gia = GradientInversionAttack(
        defense=defense, n_restarts=1, max_iter=100, refine_iter=20, random_state=0
    ).fit(Xp)
    res = gia.reconstruct(model, pruned, batch_size=2, labels=yt)
    assert gia.report(res, Xt, yt)["f1"] >= 0.9


@pytest.mark.parametrize("local_epochs", [1, 5])
def test_multi_step_update_never_worse_than_one_gradient_shortcut(local_epochs):
    model, Xp, Xt, yt = small_problem(2, n_features=20, hidden=16)
    before, after = simulate_local_update(
        model, Xt, yt, lr=0.5, local_epochs=local_epochs, local_batch_size=1
    )
    kw = dict(n_restarts=1, max_iter=40, refine_iter=10, random_state=0)
    common = dict(update=(before, after), lr=0.5, local_epochs=local_epochs, local_batch_size=1)
    auto = GradientInversionAttack(update_mode="auto", **kw).fit(Xp)
    short = GradientInversionAttack(update_mode="gradient", **kw).fit(Xp)
    res_auto = auto.reconstruct(model, batch_size=2, labels=yt, **common)
    res_short = short.reconstruct(model, batch_size=2, labels=yt, **common)
    assert set(res_auto.mode_losses_) == {"gradient", "replay"}
    assert res_auto.loss_ <= res_auto.mode_losses_["gradient"]
    assert res_auto.loss_ <= res_short.loss_ + 1e-12
    assert auto.report(res_auto, Xt, yt)["f1"] >= short.report(res_short, Xt, yt)["f1"] - 1e-9


def test_skorch_like_model_and_continuous_prior():
    class Net:
        pass

    net = Net()
    net.module_ = MLPModule(8, 3, hidden_layer_sizes=(16,))
    rng = np.random.RandomState(0)
    X = rng.randn(2, 8).astype(np.float32)
    g = compute_gradient(net, X, [0, 2])
    gia = GradientInversionAttack(
        prior="gaussian", loss="l2", n_restarts=1, max_iter=100, refine_iter=50, random_state=0
    )
    res = gia.reconstruct(net, g, batch_size=2)
    s = gia.report(res, X, [0, 2])
    assert "mse" in s and s["mse"] < s["mean_mse"]


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(loss="l3"), "loss"),
        (dict(prior="beta"), "prior"),
        (dict(n_restarts=0), "n_restarts"),
        (dict(update_mode="x"), "update_mode"),
        (dict(defense="noise"), "defense"),
        (dict(prior_weight=-1.0), "prior_weight"),
        (dict(prior_weight=float("inf")), "prior_weight"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(max_iter=-1), "max_iter"),
        (dict(refine_iter=1.5), "refine_iter"),
        (dict(layout=[[0, 1]]), "layout"),
    ],
)
def test_bad_params(params, match):
    model, _, Xt, yt = small_problem(2)
    g = compute_gradient(model, Xt, yt)
    with pytest.raises(ValueError, match=match):
        GradientInversionAttack(**params).reconstruct(model, g, batch_size=2)


def test_bad_inputs():
    model, Xp, Xt, yt = small_problem(2)
    g = compute_gradient(model, Xt, yt)
    gia = GradientInversionAttack(max_iter=1, refine_iter=0, n_restarts=1)
    with pytest.raises(ValueError, match="batch_size"):
        gia.reconstruct(model, g, batch_size=0)
    with pytest.raises(ValueError, match="gradient"):
        gia.reconstruct(model, [t[:1] for t in g], batch_size=2)
    with pytest.raises(ValueError, match="gradient"):
        gia.reconstruct(model, torch.zeros(7), batch_size=2)
    with pytest.raises(ValueError, match="model"):
        gia.reconstruct(object(), g, batch_size=2)
    with pytest.raises(ValueError, match="model"):
        GradientInversionAttack().fit(np.zeros((3, 7))).reconstruct(model, g, batch_size=2)
    with pytest.raises(ValueError, match="lr"):
        gia.reconstruct(model, update=torch.zeros(sum(t.numel() for t in g)), batch_size=2)


def test_metrics_matching_and_baselines():
    X = np.array([[1, 0, 0, 0], [0, 1, 1, 0]], dtype=float)
    rec_idx, true_idx = match_records(X[::-1], X)
    assert true_idx[rec_idx].tolist() == [1, 0]
    s = reconstruction_scores(X[::-1], X, y_rec=[1, 0], y_true=[0, 1])
    assert s["f1"] == 1.0 and s["exact_row_rate"] == 1.0 and s["label_count_error"] == 0
    assert s["zeros_f1"] == 0.0 and s["zeros_accuracy"] == 5 / 8


def test_label_counts_always_sum_to_the_batch_under_heavy_noise():
    from skfedmia.attacks.gradient_leakage import recover_label_counts

    rng = np.random.RandomState(0)
    p = np.full(100, 0.01)
    for batch_size in (2, 8, 32):
        for _ in range(50):
            noisy_bias_grad = rng.normal(scale=0.5, size=100)  # gradient drowned in noise
            counts = recover_label_counts(noisy_bias_grad, batch_size, p)
            assert counts.sum() == batch_size and (counts >= 0).all()


def test_score_is_one_number_and_report_has_every_figure():
    model, Xp, Xt, yt = small_problem(2)
    g = compute_gradient(model, Xt, yt)
    gia = GradientInversionAttack(n_restarts=1, max_iter=50, refine_iter=10, random_state=0)
    result = gia.fit(Xp).reconstruct(model, g, batch_size=2)
    report = gia.report(result, Xt, yt)
    assert isinstance(report, dict) and "exact_row_rate" in report
    assert gia.score(result, Xt, yt) == report["f1"]
