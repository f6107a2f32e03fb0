"""MembershipMonitor: the insider's view of a sequential federation, step by step."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skfedmia import (
    MembershipInferenceAttack,
    SequentialFederatedClassifier,
    TorchMLPClassifier,
)
from skfedmia.attacks.membership import MembershipMonitor


def memorising_data(seed=0):
    """Labels independent of features: whatever a model learns about a row is membership."""
    rng = np.random.RandomState(seed)
    X = (rng.rand(1500, 60) < 0.2).astype(np.float32)
    y = rng.randint(0, 10, 1500)
    return X, y


def net(epochs=1):
    return TorchMLPClassifier(max_epochs=epochs, lr=0.005, random_state=0)


def shadow_attack():
    return MembershipInferenceAttack(shadow_estimator=net(15), n_shadow_models=2, random_state=0)


def run(monitor, X, y, *, n_cycles=3):
    fed = SequentialFederatedClassifier(
        net(), n_nodes=3, n_cycles=n_cycles, local_epochs=15, callbacks=[monitor], random_state=0
    )
    return fed.fit(X[:600], y[:600])


@pytest.fixture(scope="module")
def watched():
    """A 3-node, 3-cycle federation watched with step calibration and colluding insiders."""
    X, y = memorising_data()
    seen = []

    def record(*, step, node, shadow, model):
        # epochs the copy and the attacked model went through, up to this step
        seen.append((step, node, len(shadow.estimator.history_), len(model.estimator.history_)))

    monitor = MembershipMonitor(
        shadow_attack(),
        attack_data=(X[600:1200], y[600:1200]),
        nonmember_data=(X[1200:], y[1200:]),
        colluding=True,
        calibration_callback=record,
        random_state=0,
    )
    fed = run(monitor, X, y)
    return monitor, fed, seen


def test_calibration_copies_are_trained_to_the_attacked_step(watched):
    monitor, fed, seen = watched
    # one shadow step per real step, in the federation's order
    assert [s[0] for s in seen] == list(range(9))
    assert [s[1] for s in seen] == [int(k) for k in fed.node_orders_.ravel()]
    for step, _, shadow_epochs, model_epochs in seen:
        assert shadow_epochs == model_epochs == 15 * (step + 1)
    assert all(r["calibrated"] and r["calibration_step"] == r["step"] for r in monitor.history_)


def test_calibrated_accuracy_tracks_auc_at_late_steps(watched):
    monitor, _, _ = watched
    late = [r for r in monitor.history_ if r["cycle"] >= 1]
    for r in late:
        # at least half the ranking's advantage over chance survives in the decisions
        assert r["accuracy"] >= 0.5 + 0.5 * (r["roc_auc"] - 0.5), r
    calibrated = np.mean([r["accuracy"] for r in late])
    uncalibrated = np.mean([r["accuracy_uncalibrated"] for r in late])
    assert calibrated >= uncalibrated - 0.02


def test_colluding_insiders_never_weaker_than_one(watched):
    monitor, _, _ = watched
    # N1's steps from the second cycle on (C1N1 has no model before it to see)
    assert [r["label"] for r in monitor.collusion_] == ["C2N1", "C3N1"]
    for r in monitor.collusion_:
        assert r["pair"]["roc_auc"] >= r["single"]["roc_auc"], r
        assert r["pair"]["roc_auc"] > 0.6


def test_node_attribution_beats_chance(watched):
    monitor, _, _ = watched
    assert [r["label"] for r in monitor.attribution_] == ["C2", "C3"]
    for r in monitor.attribution_:
        assert r["chance"] == pytest.approx(1 / 3)
        assert r["accuracy"] > r["chance"] + 0.2, r


def test_the_callers_attack_is_not_changed():
    X, y = memorising_data()
    target = net(15).fit(X[:300], y[:300])
    attack = shadow_attack().set_params(target=target).fit(X[600:1200], y[600:1200])
    fitted_params = attack.get_params(deep=False)
    fitted_state = {k: v for k, v in vars(attack).items() if k.endswith("_")}
    unfitted = shadow_attack()
    for given in (attack, unfitted):
        monitor = MembershipMonitor(
            given,
            attack_data=(X[600:1200], y[600:1200]),
            nonmember_data=(X[1200:], y[1200:]),
            random_state=0,
        )
        run(monitor, X, y, n_cycles=1)
        assert monitor.attack_ is not given
    assert attack.target is target
    assert all(v is fitted_params[k] for k, v in attack.get_params(deep=False).items())
    assert all(getattr(attack, k) is v for k, v in fitted_state.items())
    assert unfitted.target is None and not hasattr(unfitted, "target_classes_")


def test_misuse_is_reported():
    X, y = memorising_data()
    monitor = MembershipMonitor(shadow_attack(), nonmember_data=(X[1200:], y[1200:]))
    with pytest.raises(NotFittedError, match="before on_fit_begin"):
        monitor.on_node_end(None, step=0, cycle=0, node=0, position=0, model=None)
    with pytest.raises(NotFittedError, match="no history"):
        monitor.to_frame()
    with pytest.raises(ValueError, match="attack_data"):
        run(monitor, X, y, n_cycles=1)
    with pytest.raises(ValueError, match="calibration"):
        run(MembershipMonitor(shadow_attack(), calibration="always"), X, y, n_cycles=1)
    with pytest.raises(ValueError, match="max_members"):
        run(MembershipMonitor(shadow_attack(), max_members=0), X, y, n_cycles=1)
    pool = (X[600:1200], y[600:1200])
    bad = MembershipMonitor(
        shadow_attack(), attack_data=pool, nonmember_data=pool, calibration="none", colluding=True
    )
    with pytest.raises(ValueError, match="colluding=True needs step calibration"):
        run(bad, X, y, n_cycles=1)
    bad = MembershipMonitor(
        shadow_attack(),
        attack_data=pool,
        nonmember_data=pool,
        calibration="none",
        reference_attacks="attacked",
    )
    with pytest.raises(ValueError, match="reference_attacks='attacked' needs step calibration"):
        run(bad, X, y, n_cycles=1)
    with pytest.raises(ValueError, match="attacked_nodes"):
        run(
            MembershipMonitor(
                shadow_attack(), attack_data=pool, nonmember_data=pool, attacked_nodes=[5]
            ),
            X,
            y,
            n_cycles=1,
        )
