"""Leakage from inside a federation: the node hook payload and the recorder."""

import numpy as np
import pytest
import torch

from skfedmia import (
    FederatedAveragingClassifier,
    SequentialFederatedClassifier,
    TorchMLPClassifier,
)
from skfedmia.attacks.gradient_leakage import (
    GradientInversionAttack,
    GradientLeakageRecorder,
    compute_gradient,
)
from skfedmia.attacks.gradient_leakage._synthetic import make_sparse_binary
from skfedmia.defenses import TopKSparsification
from skfedmia.federated._adapters import get_flat_params


def tiny_data(n=12, seed=0):
    X, y = make_sparse_binary(200 + n, 16, n_groups=2, n_active=5, random_state=seed)
    return X[:200], X[200:], y[200:]


def sgd_net(dropout=0.0):
    return TorchMLPClassifier(
        hidden_layer_sizes=(12,),
        dropout=dropout,
        optimizer=torch.optim.SGD,
        lr=0.5,
        random_state=0,
    )


def fast_attack():
    return GradientInversionAttack(n_restarts=2, max_iter=60, refine_iter=20, random_state=0)


class Spy:
    def __init__(self):
        self.calls = []

    def __call__(self, federation, *, model, update, **kwargs):
        sent = update["params_sent"]
        now = get_flat_params(model.estimator)
        self.calls.append((update, bool(torch.equal(torch.as_tensor(now), sent))))


@pytest.mark.parametrize("federation", ["sequential", "averaging"])
def test_recorder_reconstructs_every_node_step(federation):
    X_pub, X, y = tiny_data()
    rec = GradientLeakageRecorder(fast_attack(), X_public=X_pub)
    kw = dict(n_nodes=3, callbacks=[rec], random_state=0)
    if federation == "sequential":
        fed = SequentialFederatedClassifier(sgd_net(), n_cycles=2, **kw)
    else:
        fed = FederatedAveragingClassifier(sgd_net(), n_rounds=2, **kw)
    fed.fit(X, y)
    assert len(rec.records_) == 6
    assert [(r["cycle"], r["node"]) for r in rec.records_][:3] == [(0, 0), (0, 1), (0, 2)]
    f1 = rec.history("f1")
    assert np.isfinite(f1).all()
    # every step's reconstruction beats guessing each feature's majority value
    assert (f1 > rec.history("marginal_f1")).all()
    assert rec.history("label_count_error").max() == 0
    assert all(r["assumptions"] == [] and r["defended"] is False for r in rec.records_)


def test_averaging_hook_sees_the_defended_update():
    X_pub, X, y = tiny_data()
    spy = Spy()
    defense = TopKSparsification(fraction=0.5)
    rec = GradientLeakageRecorder(fast_attack(), X_public=X_pub, steps=[(1, 0)])
    fed = FederatedAveragingClassifier(
        sgd_net(),
        n_nodes=3,
        n_rounds=2,
        update_defense=defense,
        callbacks=[spy, rec],
        random_state=0,
    ).fit(X, y)
    assert len(spy.calls) == 6
    for update, model_is_sent in spy.calls:
        delta = update["params_sent"] - update["params_before"]
        assert float((delta == 0).double().mean()) >= 0.5
        assert model_is_sent
        assert update["defended"] is True
        assert update["training"]["optimizer"] == "sgd" and update["training"]["lr"] == 0.5
    (record,) = rec.records_
    assert record["defended"] is True and np.isfinite(record["f1"])
    assert fed.history_[-1]["label"] == "R2avg"


def test_sequential_hook_gets_parameters_before_and_settings():
    X_pub, X, y = tiny_data()
    spy = Spy()
    SequentialFederatedClassifier(
        sgd_net(dropout=0.2), n_nodes=3, n_cycles=1, callbacks=[spy], random_state=0
    ).fit(X, y)
    update, model_is_sent = spy.calls[0]
    assert model_is_sent and update["defended"] is False
    t = update["training"]
    assert t["dropout"] == 0.2 and t["batch_size"] == 128 and t["local_epochs"] == 1
    assert t["n_rows"] == 4
    assert not torch.equal(update["params_before"], update["params_sent"])


def test_reconstruct_accepts_the_node_model_as_given():
    X_pub, X, y = tiny_data()
    seen = []

    def hook(federation, *, model, X, y, **kwargs):
        codes = np.searchsorted(federation.classes_, y)
        g = compute_gradient(model, X, codes)
        res = fast_attack().fit(X_pub).reconstruct(model, g, batch_size=len(y))
        seen.append(fast_attack().fit(X_pub).report(res, X, codes)["f1"])

    SequentialFederatedClassifier(
        sgd_net(), n_nodes=3, n_cycles=1, callbacks=[hook], random_state=0
    ).fit(X, y)
    assert len(seen) == 3 and np.isfinite(seen).all()


def test_recorder_reports_what_it_assumed_and_bad_params():
    X_pub, X, y = tiny_data()
    rec = GradientLeakageRecorder(fast_attack(), X_public=X_pub, steps=[(0, 0)])
    SequentialFederatedClassifier(
        sgd_net(dropout=0.2), n_nodes=3, n_cycles=1, callbacks=[rec], random_state=0
    ).fit(X, y)
    # the node's dropout masks are searched for with the records (an MLPModule): no
    # assumption left over
    assert rec.records_[0]["assumptions"] == []
    small = GradientLeakageRecorder(fast_attack(), max_rows=2)
    SequentialFederatedClassifier(
        sgd_net(), n_nodes=3, n_cycles=1, callbacks=[small], random_state=0
    ).fit(X, y)
    assert all("max_rows" in r["skipped"] for r in small.records_)
    assert np.isnan(small.history("f1")).all()
    with pytest.raises(ValueError, match="max_rows"):
        SequentialFederatedClassifier(
            sgd_net(), callbacks=[GradientLeakageRecorder(max_rows=0)], random_state=0
        ).fit(X, y)
    with pytest.raises(ValueError, match="attack"):
        SequentialFederatedClassifier(
            sgd_net(), callbacks=[GradientLeakageRecorder(attack="dlg")], random_state=0
        ).fit(X, y)


def test_averaging_nodes_of_a_round_start_from_the_same_global_model():
    _, X, y = tiny_data()
    spy = Spy()
    FederatedAveragingClassifier(
        sgd_net(), n_nodes=3, n_rounds=2, callbacks=[spy], random_state=0
    ).fit(X, y)
    starts = [torch.as_tensor(u["params_before"]) for u, _ in spy.calls]
    assert torch.equal(starts[3], starts[4]) and torch.equal(starts[3], starts[5])
    assert not torch.equal(starts[0], starts[3])
    sent = [u["params_sent"] for u, _ in spy.calls]
    assert all(not torch.equal(s, b) for s, b in zip(sent, starts))
