"""The lean training paths give the models the plain skorch paths give."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skfedmia import MembershipInferenceAttack, TorchMLPClassifier
from skfedmia.attacks.membership import _shadow_attack

# float32 rounding of the same updates, accumulated over a few hundred steps
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def _attack(target, attack_estimator):
    return MembershipInferenceAttack(
        target,
        shadow_estimator=TorchMLPClassifier(max_epochs=3, random_state=0),
        n_shadow_models=2,
        attack_estimator=attack_estimator,
        features="paper",
        random_state=0,
    )


def test_explicit_attack_model_trains_on_the_lean_path_to_the_same_model(digits, monkeypatch):
    X, y = digits
    target = TorchMLPClassifier(max_epochs=5, random_state=0).fit(X[:400], y[:400])
    model = TorchMLPClassifier(
        hidden_layer_sizes=(16,),
        activation="sigmoid",
        dropout=0.0,
        lr=0.01,
        max_epochs=4,
        batch_size=32,
    )
    lean = _attack(target, model).fit(X[800:], y[800:])
    monkeypatch.setattr(_shadow_attack, "can_fit_together", lambda estimator: False)
    plain = _attack(target, model).fit(X[800:], y[800:])
    # the lean path skips skorch's loop (no history); the plain one ran every epoch
    assert len(lean.attack_estimator_.history_) == 0
    assert len(plain.attack_estimator_.history_) == 4
    X_eval, y_eval = X[:800], y[:800]
    lean_scores = lean.decision_function(X_eval, y_eval)
    plain_scores = plain.decision_function(X_eval, y_eval)
    np.testing.assert_allclose(
        lean.attack_estimator_.predict_proba(np.eye(20, dtype=np.float32)),
        plain.attack_estimator_.predict_proba(np.eye(20, dtype=np.float32)),
        atol=TOLERANCE,
    )
    np.testing.assert_allclose(lean_scores, plain_scores, atol=1e-4)
    # a model the stacked path cannot reproduce still trains through skorch
    monkeypatch.undo()
    other = _attack(target, model.set_params(iterator_train__drop_last=True))
    assert len(other.fit(X[800:], y[800:]).attack_estimator_.history_) == 4


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_lean_node_steps_equal_partial_fit_bit_for_bit(digits, dropout):
    from skfedmia.federated._adapters import reset_optimizer
    from skfedmia.neural_net._ensemble import train_epochs_lean

    X, y = digits
    classes = np.unique(y)
    plain = TorchMLPClassifier(dropout=dropout, batch_size=64, random_state=3)
    lean = TorchMLPClassifier(dropout=dropout, batch_size=64, random_state=3)
    for step, rows in enumerate([slice(0, 300), slice(300, 600), slice(0, 300)]):
        if step == 2:  # a fresh optimizer, as a federation resets it between nodes
            reset_optimizer(plain)
            reset_optimizer(lean)
        plain.partial_fit(X[rows], y[rows], classes=classes, epochs=2)
        train_epochs_lean(lean, X[rows], y[rows], epochs=2, classes=classes)
    for a, b in zip(plain.module_.parameters(), lean.module_.parameters(), strict=True):
        assert torch_equal(a, b)
    state_a, state_b = plain.optimizer_.state_dict(), lean.optimizer_.state_dict()
    for key in state_a["state"]:
        for name in state_a["state"][key]:
            assert torch_equal(state_a["state"][key][name], state_b["state"][key][name])
    assert torch_equal(plain.torch_rng_state_[0], lean.torch_rng_state_[0])
    assert len(lean.history_) == len(plain.history_) == 6
    np.testing.assert_allclose(
        lean.history_[:, "train_loss"], plain.history_[:, "train_loss"], rtol=1e-6
    )


def torch_equal(a, b):
    import torch

    return bool(torch.equal(a.detach(), b.detach()))


@pytest.mark.parametrize("optimizer_state", ["reset", "local", "travel"])
def test_federation_and_monitor_unchanged_by_the_lean_node_steps(
    digits, monkeypatch, optimizer_state
):
    from skfedmia import SequentialFederatedClassifier
    from skfedmia.attacks.membership import MembershipMonitor
    from skfedmia.federated import _sequential

    X, y = digits

    def run():
        net = TorchMLPClassifier(max_epochs=3, random_state=0)
        attack = MembershipInferenceAttack(
            shadow_estimator=net, n_shadow_models=2, features="paper", random_state=0
        )
        monitor = MembershipMonitor(
            attack,
            attack_data=(X[600:1200], y[600:1200]),
            nonmember_data=(X[1200:], y[1200:]),
            colluding=True,
            outsider=True,
            random_state=0,
        )
        fed = SequentialFederatedClassifier(
            net,
            n_nodes=3,
            n_cycles=2,
            local_epochs=2,
            optimizer_state=optimizer_state,
            callbacks=[monitor],
            random_state=0,
        ).fit(X[:600], y[:600])
        return fed, monitor

    fed_lean, monitor_lean = run()
    monkeypatch.setattr(_sequential, "can_fit_together", lambda estimator: False)
    fed_plain, monitor_plain = run()
    assert len(fed_plain.estimator_.history_[-1]["batches"]) > 0  # skorch's own loop ran
    assert fed_lean.history_ == fed_plain.history_
    assert monitor_lean.history_ == monitor_plain.history_
    assert monitor_lean.collusion_ == monitor_plain.collusion_
    assert monitor_lean.attribution_ == monitor_plain.attribution_
    params = zip(
        fed_lean.estimator_.module_.parameters(), fed_plain.estimator_.module_.parameters()
    )
    assert all(torch_equal(a, b) for a, b in params)


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "identity", "elu"])
@pytest.mark.parametrize("optimizer_kwargs", [{}, {"optimizer__weight_decay": 0.01}])
def test_stacked_backward_by_hand_equals_one_by_one_training(digits, activation, optimizer_kwargs):
    # sigmoid, relu and identity take the hand-written backward pass and (fused Adam) the
    # direct kernel step; elu goes through autograd
    from sklearn.base import clone

    from skfedmia.neural_net import fit_mlp_ensemble

    X, y = digits
    data = [(X[i * 150 : (i + 1) * 150], y[i * 150 : (i + 1) * 150]) for i in range(3)]
    template = TorchMLPClassifier(
        hidden_layer_sizes=(16, 8),
        activation=activation,
        dropout=0.3,
        lr=0.01,
        max_epochs=4,
        batch_size=32,
        **optimizer_kwargs,
    )
    seeds = [2, 7, 1]
    together = fit_mlp_ensemble(template, data, random_states=seeds, classes=np.unique(y))
    for k, model in enumerate(together):
        alone = clone(template).set_params(random_state=seeds[k], classes=np.unique(y))
        alone.fit(*data[k])
        np.testing.assert_allclose(
            model.predict_proba(X[:300]), alone.predict_proba(X[:300]), atol=TOLERANCE
        )


def test_lean_node_steps_leave_printing_nets_to_skorch(digits, capsys):
    from skfedmia.neural_net._ensemble import train_epochs_lean

    X, y = digits
    net = TorchMLPClassifier(verbose=1, random_state=0)
    train_epochs_lean(net, X[:200], y[:200], epochs=2, classes=np.unique(y))
    assert "train_loss" in capsys.readouterr().out  # skorch's epoch table
    assert len(net.history_[-1]["batches"]) > 0
    quiet = TorchMLPClassifier(random_state=0)
    train_epochs_lean(quiet, X[:200], y[:200], epochs=2, classes=np.unique(y))
    assert capsys.readouterr().out == ""
    assert quiet.history_[-1]["batches"] == []
    np.testing.assert_array_equal(quiet.predict_proba(X[:50]), net.predict_proba(X[:50]))
