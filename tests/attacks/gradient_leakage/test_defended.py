"""The defense-aware attack: pruning with natural zeros, closed form under defenses, DP-SGD."""

import numpy as np
import pytest
import torch

from skfedmia.attacks.gradient_leakage import GradientInversionAttack, compute_gradient
from skfedmia.attacks.gradient_leakage._objective import pruning_view
from skfedmia.attacks.gradient_leakage._synthetic import make_sparse_binary
from skfedmia.defenses import (
    DPSGD,
    Compose,
    GaussianNoise,
    NoiseModel,
    RandomPruning,
    TopKSparsification,
)
from skfedmia.neural_net import MLPModule


def sparse_problem(batch_size, n_features=60, n_classes=5, hidden=24, seed=0):
    X, y = make_sparse_binary(
        400 + batch_size, n_features, n_groups=n_classes, n_active=6, random_state=seed
    )
    torch.manual_seed(seed)
    model = MLPModule(n_features, n_classes, hidden_layer_sizes=(hidden,))
    return model, X[:400], X[400:], y[400:]


def test_pruning_view_knows_which_zeros_the_defense_made():
    nm = TopKSparsification(fraction=0.5).noise_model()
    # 6 of 10 coordinates are zero before pruning: top-k 50% keeps 5, so it pruned nothing
    natural = torch.tensor([0.0, 3.0, 0.0, -2.0, 0.0, 0.0, 1.0, 0.0, 0.5, 0.0])
    zero, rule, tau = pruning_view(natural, nm)
    assert rule == "magnitude" and tau == 0.0 and int(zero.sum()) == 6
    # dense gradient: the zeros were smaller than the smallest kept magnitude
    dense = TopKSparsification(fraction=0.5).apply(torch.arange(1.0, 11.0))
    zero, rule, tau = pruning_view(dense, nm)
    assert tau == 6.0 and int(zero.sum()) == 5
    # random pruning: share of true zeros estimated from the zeros beyond the pruned half
    rp = RandomPruning(fraction=0.5).noise_model()
    obs = torch.tensor([0.0] * 8 + [1.0, 2.0])
    _, rule, pi = pruning_view(obs, rp)
    assert rule == "random" and pi == pytest.approx(6 / 8)
    assert pruning_view(natural, NoiseModel()) is None


@pytest.mark.parametrize("batch_size", [1, 8])
def test_defense_aware_pruning_is_not_worse_than_ignoring_it(batch_size):
    model, Xp, Xt, yt = sparse_problem(batch_size)
    g = compute_gradient(model, Xt, yt, flat=True)
    assert float((g == 0).float().mean()) > 0.5  # sparse inputs: natural zeros
    defense = TopKSparsification(fraction=0.5)
    pruned = defense.apply(g)
    kw = dict(n_restarts=2, max_iter=100, refine_iter=30, random_state=0)
    plain = GradientInversionAttack(**kw).fit(Xp)
    aware = GradientInversionAttack(loss="bayes", defense=defense, **kw).fit(Xp)
    s_plain = plain.report(plain.reconstruct(model, pruned, batch_size=batch_size), Xt, yt)
    s_aware = aware.report(aware.reconstruct(model, pruned, batch_size=batch_size), Xt, yt)
    assert s_aware["f1"] >= s_plain["f1"] - 1e-9
    # more than half of the coordinates were zero already, so top-k 50% removed nothing
    # non-zero: the defense-aware attack sees exactly what it would see undefended
    assert torch.equal(pruned, g)
    clean = plain.reconstruct(model, g, batch_size=batch_size)
    assert s_aware == plain.report(clean, Xt, yt)


@pytest.mark.parametrize("batch_size", [8, 16])
def test_modelled_pruning_of_nonzero_coordinates_is_not_worse(batch_size):
    # sparse inputs leave most coordinates zero; top-k 90% then also removes non-zero
    # ones, so the censored model differs from plain matching and both are run
    model, Xp, Xt, yt = sparse_problem(batch_size)
    g = compute_gradient(model, Xt, yt, flat=True)
    assert float((g == 0).float().mean()) > 0.5
    defense = TopKSparsification(fraction=0.9)
    pruned = defense.apply(g)
    assert pruning_view(pruned.double(), defense.noise_model())[2] > 0
    kw = dict(n_restarts=2, max_iter=100, refine_iter=30, random_state=0)
    plain = GradientInversionAttack(**kw).fit(Xp)
    aware = GradientInversionAttack(loss="bayes", defense=defense, **kw).fit(Xp)
    s_plain = plain.report(plain.reconstruct(model, pruned, batch_size=batch_size), Xt, yt)
    res = aware.reconstruct(model, pruned, batch_size=batch_size)
    assert aware.report(res, Xt, yt)["f1"] >= s_plain["f1"] - 1e-9
    # kept by the fit to the censored observation, never by the true records
    check = res.defense_check_
    fits_better = check["modelled"]["likelihood"] <= check["plain"]["likelihood"]
    assert check["kept"] == ("modelled" if fits_better else "plain")


@pytest.mark.parametrize("batch_size", [4, 16])
def test_modelled_search_starts_from_the_plain_fit(batch_size):
    # from random starts alone the censored likelihood is hard to search (flat over the
    # values a pruned coordinate may have had): here such a search fits worse than
    # plain matching; started from the plain fit as well, it never fits worse
    model, Xp, Xt, yt = sparse_problem(batch_size)
    g = compute_gradient(model, Xt, yt, flat=True)
    defense = TopKSparsification(fraction=0.9)
    pruned = defense.apply(g)
    assert pruning_view(pruned.double(), defense.noise_model())[2] > 0
    kw = dict(n_restarts=2, max_iter=100, refine_iter=30, random_state=0)
    aware = GradientInversionAttack(loss="bayes", defense=defense, **kw).fit(Xp)
    res = aware.reconstruct(model, pruned, batch_size=batch_size)
    check = res.defense_check_
    assert check["kept"] == "modelled"
    assert check["modelled"]["likelihood"] <= check["plain"]["likelihood"]
    assert check["modelled"]["direction"] <= check["plain"]["direction"]
    # the same search from random starts only (as before the plain fit was a start)
    cold = GradientInversionAttack(loss="bayes", defense=defense, compare_plain=False, **kw)
    cold_res = cold.fit(Xp).reconstruct(model, pruned, batch_size=batch_size)
    nm = defense.noise_model()
    plain = GradientInversionAttack(**kw).fit(Xp).reconstruct(model, pruned, batch_size=batch_size)
    plain_fit = censored_misfit(model, plain, pruned, nm)
    assert plain_fit == pytest.approx(check["plain"]["likelihood"], abs=1e-6)
    assert censored_misfit(model, cold_res, pruned, nm) > plain_fit


def censored_misfit(model, result, obs, nm):
    """1 - cosine between the observation and the records' gradient as top-k censors it."""
    sim = compute_gradient(model, result.X_, result.y_, flat=True).double()
    obs = obs.double()
    zero, _, tau = pruning_view(obs, nm)
    sim = torch.where(zero, torch.sign(sim) * torch.relu(sim.abs() - tau), sim)
    return float(1 - sim @ obs / (sim.norm() * obs.norm()))


def test_closed_form_is_tried_under_defenses():
    model, Xp, Xt, yt = sparse_problem(1)
    g = compute_gradient(model, Xt, yt, flat=True)
    # 90% magnitude pruning removes non-zero entries, yet every present feature keeps
    # some entry of its column: the closed form over kept entries stays exact
    defense = TopKSparsification(fraction=0.9)
    pruned = defense.apply(g)
    assert pruning_view(pruned.double(), defense.noise_model())[2] > 0
    gia = GradientInversionAttack(
        defense=defense, n_restarts=1, max_iter=0, refine_iter=0, random_state=0
    ).fit(Xp)
    res = gia.reconstruct(model, pruned, batch_size=1)
    assert res.method_ == "analytic"
    np.testing.assert_array_equal(res.X_, Xt)
    # under noise the closed form is a candidate beside the search, kept if it fits better
    noisy_def = GaussianNoise(sigma=float(g.abs().mean()))
    noisy = noisy_def.apply(g, random_state=0)
    gia = GradientInversionAttack(
        loss="bayes", defense=noisy_def, n_restarts=2, max_iter=50, refine_iter=10, random_state=0
    ).fit(Xp)
    res = gia.reconstruct(model, noisy, batch_size=1)
    assert res.method_ in ("analytic", "gradient")
    assert gia.report(res, Xt, yt)["f1"] >= 0.9


def test_attack_models_dpsgd():
    model, Xp, Xt, yt = sparse_problem(4)
    dp = DPSGD(noise_multiplier=0.01, max_grad_norm=0.5)
    grads = dp.privatize_gradient(model, torch.as_tensor(Xt), torch.as_tensor(yt), random_state=0)
    gia = GradientInversionAttack(
        loss="bayes", defense=dp, n_restarts=2, max_iter=100, refine_iter=30, random_state=0
    ).fit(Xp)
    res = gia.reconstruct(model, grads, batch_size=4, labels=yt)
    assert gia.report(res, Xt, yt)["f1"] >= 0.8


def test_compose_keeps_the_pruning_rule():
    nm = Compose([GaussianNoise(0.1), TopKSparsification(0.3)]).noise_model()
    assert nm.pruned and nm.prune_rule == "magnitude" and nm.prune_fraction == 0.3
    nm = Compose([TopKSparsification(0.3), GaussianNoise(0.1)]).noise_model()
    assert not nm.pruned and nm.prune_rule is None


@pytest.mark.parametrize("noise_multiplier", [0.1, 1.0])
def test_modelling_dpsgd_is_not_worse_than_ignoring_it(noise_multiplier):
    # at multiplier 1.0 the exact posterior pulls every record to the prior's mode (all
    # zeros, F1 0) while the plain cosine fit keeps some of the 1-bits
    model, Xp, Xt, yt = sparse_problem(8)
    dp = DPSGD(noise_multiplier=noise_multiplier, max_grad_norm=1.0)
    grads = dp.privatize_gradient(model, torch.as_tensor(Xt), torch.as_tensor(yt), random_state=0)
    kw = dict(n_restarts=2, max_iter=100, refine_iter=30, random_state=0)
    plain = GradientInversionAttack(**kw).fit(Xp)
    aware = GradientInversionAttack(loss="bayes", defense=dp, **kw).fit(Xp)
    s_plain = plain.report(plain.reconstruct(model, grads, batch_size=8), Xt, yt)
    res = aware.reconstruct(model, grads, batch_size=8)
    assert aware.report(res, Xt, yt)["f1"] >= s_plain["f1"] - 1e-9
    # the choice is made on the fit to the observation, never on the true records
    check = res.defense_check_
    fits_better = all(check["modelled"][k] <= check["plain"][k] for k in check["plain"])
    assert check["kept"] == ("modelled" if fits_better else "plain")
    if check["kept"] == "plain":
        assert aware.report(res, Xt, yt) == s_plain


def test_compare_plain_off_returns_the_posterior_alone():
    model, Xp, Xt, yt = sparse_problem(8)
    dp = DPSGD(noise_multiplier=1.0, max_grad_norm=1.0)
    grads = dp.privatize_gradient(model, torch.as_tensor(Xt), torch.as_tensor(yt), random_state=0)
    kw = dict(loss="bayes", defense=dp, n_restarts=2, max_iter=100, refine_iter=30)
    posterior = GradientInversionAttack(compare_plain=False, random_state=0, **kw).fit(Xp)
    res = posterior.reconstruct(model, grads, batch_size=8)
    assert res.defense_check_ is None
    hedged = GradientInversionAttack(random_state=0, **kw).fit(Xp)
    res_hedged = hedged.reconstruct(model, grads, batch_size=8)
    plain_kw = dict(n_restarts=2, max_iter=100, refine_iter=30, random_state=0)
    plain = GradientInversionAttack(**plain_kw).fit(Xp).reconstruct(model, grads, batch_size=8)
    # at multiplier 1 the posterior fits the noisy observation worse than the plain fit
    # (see test_modelling_dpsgd_is_not_worse_than_ignoring_it): the plain one is returned
    assert res_hedged.defense_check_["kept"] == "plain"
    np.testing.assert_array_equal(res_hedged.X_, plain.X_)
    with pytest.raises(ValueError, match="compare_plain"):
        GradientInversionAttack(compare_plain="yes").fit(Xp)


def test_posterior_under_noise_is_searched_from_random_starts_only():
    # under noise the posterior's search does not start from the plain fit, so the
    # check compares two independent searches: kept, it is the posterior found alone
    model, Xp, Xt, yt = sparse_problem(8)
    dp = DPSGD(noise_multiplier=0.01, max_grad_norm=1.0)
    grads = dp.privatize_gradient(model, torch.as_tensor(Xt), torch.as_tensor(yt), random_state=0)
    kw = dict(loss="bayes", defense=dp, n_restarts=2, max_iter=100, refine_iter=30)
    hedged = GradientInversionAttack(random_state=0, **kw).fit(Xp)
    res = hedged.reconstruct(model, grads, batch_size=8)
    alone = GradientInversionAttack(compare_plain=False, random_state=0, **kw).fit(Xp)
    assert res.defense_check_["kept"] == "modelled"
    np.testing.assert_array_equal(res.X_, alone.reconstruct(model, grads, batch_size=8).X_)
