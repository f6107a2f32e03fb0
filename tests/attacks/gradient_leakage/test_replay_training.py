"""Replaying a node's local training: dropout masks searched for with the records, Adam."""

import numpy as np
import pytest
import torch

from skfedmia.attacks.gradient_leakage import GradientInversionAttack, simulate_local_update
from skfedmia.attacks.gradient_leakage._synthetic import make_sparse_binary
from skfedmia.neural_net import MLPModule


def node(batch_size=4, dropout=0.0, seed=0):
    X, y = make_sparse_binary(400 + batch_size, 60, n_groups=4, n_active=6, random_state=seed)
    torch.manual_seed(seed)
    model = MLPModule(60, 4, hidden_layer_sizes=(32,), dropout=dropout)
    return model, X[:400], X[400:], y[400:]


def test_dropout_masks_are_searched_for_with_the_records():
    model, Xp, Xt, yt = node(batch_size=8, dropout=0.3)
    model.train()  # the node trains with dropout: random masks
    torch.manual_seed(1)
    update = simulate_local_update(model, Xt, yt, lr=0.1, local_epochs=2)
    kw = dict(n_restarts=2, max_iter=150, refine_iter=150, random_state=0)
    gia = GradientInversionAttack(**kw).fit(Xp)
    replay = dict(update=update, lr=0.1, local_epochs=2, batch_size=8, labels=yt)
    masked = gia.reconstruct(model, **replay)  # rates read from the model's Dropout
    expectation = gia.reconstruct(model, **replay, local_dropout=0.0)
    f1_masked = gia.report(masked, Xt, yt)["f1"]
    f1_expectation = gia.report(expectation, Xt, yt)["f1"]
    assert masked.X_.shape == Xt.shape
    assert f1_masked > f1_expectation
    assert f1_masked >= 0.9
    # the masks found with the records: one per hidden unit and local epoch, 0 or 1
    assert masked.dropout_masks_.shape == (8, 32 * 2)
    assert set(np.unique(masked.dropout_masks_)) <= {0.0, 1.0}
    # dropped units are about as frequent as the rate says
    assert 0.1 < 1 - masked.dropout_masks_.mean() < 0.5
    assert expectation.dropout_masks_ is None


def test_local_dropout_is_checked():
    model, Xp, Xt, yt = node(dropout=0.3)
    update = simulate_local_update(model, Xt, yt, lr=0.1)
    gia = GradientInversionAttack(n_restarts=1, max_iter=1, refine_iter=0).fit(Xp)
    with pytest.raises(ValueError, match="local_dropout"):
        gia.reconstruct(model, update=update, lr=0.1, batch_size=4, local_dropout=1.5)


def test_adam_replay_recovers_records_from_sign_like_updates():
    # a node's first Adam step is -lr * sign(g): the replay search softens it
    model, Xp, Xt, yt = node()
    update = simulate_local_update(model, Xt, yt, lr=0.001, optimizer="adam")
    kw = dict(n_restarts=2, max_iter=150, refine_iter=150, random_state=0)
    gia = GradientInversionAttack(update_mode="replay", **kw).fit(Xp)
    res = gia.reconstruct(
        model, update=update, lr=0.001, batch_size=4, local_optimizer="adam", labels=yt
    )
    marginal = float(np.mean(Xt))
    assert gia.report(res, Xt, yt)["f1"] > 2 * marginal


def test_pruned_update_with_dropout_continues_from_the_plain_fit_and_its_masks():
    # under pruning alone the modelled search also starts from the plain reconstruction
    # with the dropout masks found with its records (started at the masks' expectation
    # instead, it fits the censored update worse here); the fit check scores each
    # reconstruction with its own masks
    from skfedmia.defenses import TopKSparsification

    model, Xp, Xt, yt = node(batch_size=8, dropout=0.3)
    model.train()
    torch.manual_seed(1)
    before, after = simulate_local_update(model, Xt, yt, lr=0.1, local_epochs=2)
    defense = TopKSparsification(fraction=0.9)
    kw = dict(n_restarts=2, max_iter=150, refine_iter=150, random_state=0)
    gia = GradientInversionAttack(loss="bayes", defense=defense, **kw).fit(Xp)
    res = gia.reconstruct(
        model,
        update=defense.apply(after - before),
        lr=0.1,
        local_epochs=2,
        batch_size=8,
        labels=yt,
    )
    check = res.defense_check_
    assert res.method_ == "replay" and res.dropout_masks_.shape == (8, 64)
    assert check["kept"] == "modelled"
    assert check["modelled"]["likelihood"] <= check["plain"]["likelihood"]
