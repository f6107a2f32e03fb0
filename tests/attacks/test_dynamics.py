import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from skfedmia import SequentialFederatedClassifier, SnapshotRecorder, TorchMLPClassifier
from skfedmia.attacks.membership import ColludingInsidersAttack
from skfedmia.attacks.membership._dynamics import (
    LossChangeAttack,
    NodeAttributionAttack,
    per_record_loss,
)


@pytest.fixture(scope="module")
def memorising_federation():
    """Labels independent of features: whatever the model learns about a row is membership."""
    rng = np.random.RandomState(0)
    X = (rng.rand(900, 60) < 0.2).astype(np.float32)
    y = rng.randint(0, 10, 900)
    rec = SnapshotRecorder()
    fed = SequentialFederatedClassifier(
        TorchMLPClassifier(max_epochs=1, lr=0.005, random_state=0),
        n_nodes=3,
        n_cycles=2,
        local_epochs=15,
        callbacks=[rec],
        random_state=0,
    ).fit(X[:600], y[:600])
    snaps = {(r["cycle"], r["node"]): r["model"] for r in rec.snapshots_}
    return X, y, fed, snaps


def test_loss_change_separates_the_nodes_rows(memorising_federation):
    X, y, fed, s = memorising_federation
    n1 = fed.node_indices_[0]
    out = np.arange(600, 900)
    attack = LossChangeAttack(s[1, 0], model_before=s[0, 2], target_fpr=0.1).fit(
        X[out[:150]], y[out[:150]]
    )
    X_eval = np.r_[X[n1[:150]], X[out[150:]]]
    y_eval = np.r_[y[n1[:150]], y[out[150:]]]
    membership = np.r_[np.ones(150), np.zeros(150)]
    auc = roc_auc_score(membership, attack.decision_function(X_eval, y_eval))
    # chance is 0.5; this seeded run measures about 0.76
    assert auc > 0.65
    assert attack.score(X_eval, y_eval, membership) > 0.6
    # the held-out non-members pass the threshold at about the target rate
    fpr = attack.predict(X[out[150:]], y[out[150:]]).mean()
    assert fpr < 0.25
    # a step in which N1 did not train tells much less about N1's rows
    other = LossChangeAttack(s[1, 1], model_before=s[1, 0]).fit(X[out[:150]], y[out[:150]])
    assert roc_auc_score(membership, other.decision_function(X_eval, y_eval)) < auc - 0.1


def test_node_attribution_beats_chance(memorising_federation):
    X, y, fed, s = memorising_federation
    attack = NodeAttributionAttack(
        {0: (s[0, 2], s[1, 0]), 1: (s[1, 0], s[1, 1]), 2: (s[1, 1], s[1, 2])}
    )
    nodes = np.empty(600, dtype=int)
    for k, idx in enumerate(fed.node_indices_):
        nodes[idx] = k
    assert attack.score(X[:600], y[:600], nodes) > 0.6  # chance: 1/3


def test_errors(memorising_federation):
    X, y, fed, s = memorising_federation
    with pytest.raises(ValueError, match="never saw"):
        per_record_loss(s[0, 0], X[:3], [0, 1, 99])
    with pytest.raises(TypeError, match="predict_proba"):
        per_record_loss(object(), X[:3], y[:3])
    attack = LossChangeAttack(s[0, 1], model_before=s[0, 0]).fit(X[600:700], y[600:700])
    with pytest.raises(ValueError, match="`membership` must have one entry per row"):
        attack.score(X[:3], y[:3], [0, 1])
    with pytest.raises(ValueError, match="needs model_before"):
        LossChangeAttack(s[0, 1]).fit(X[600:700], y[600:700])
    # clone keeps both fitted models
    from sklearn.base import clone

    twin = clone(attack)
    assert twin.target is s[0, 1] and twin.model_before is s[0, 0]
    with pytest.raises(ValueError, match="transitions must name"):
        NodeAttributionAttack({}).predict(X[:3], y[:3])


def test_loss_change_refuses_models_of_other_classes(memorising_federation):
    X, y, fed, s = memorising_federation
    other = TorchMLPClassifier(max_epochs=2, random_state=0).fit(X[:200], y[:200] % 4)
    with pytest.raises(ValueError, match="same classes"):
        LossChangeAttack(s[0, 1], model_before=other).fit(X[600:700], y[600:700])
    fitted = LossChangeAttack(s[0, 1], model_before=s[0, 0]).fit(X[600:700], y[600:700])
    with pytest.raises(ValueError, match="same classes"):
        fitted.set_params(model_before=other).decision_function(X[:3], y[:3])


def test_node_attribution_misuse(memorising_federation):
    X, y, fed, s = memorising_federation
    other = TorchMLPClassifier(max_epochs=2, random_state=0).fit(X[:200], y[:200] % 4)
    with pytest.raises(ValueError, match="must be a pair"):
        NodeAttributionAttack({0: s[0, 0]}).predict(X[:3], y[:3])
    with pytest.raises(TypeError, match="predict_proba"):
        NodeAttributionAttack({0: (s[0, 0], "model")}).predict(X[:3], y[:3])
    with pytest.raises(NotFittedError, match="no classes_"):
        NodeAttributionAttack({0: (s[0, 0], TorchMLPClassifier())}).predict(X[:3], y[:3])
    with pytest.raises(ValueError, match="same classes"):
        NodeAttributionAttack({0: (s[0, 0], other)}).predict(X[:3], y[:3])
    with pytest.raises(ValueError, match="transitions"):
        NodeAttributionAttack([s[0, 0]]).predict(X[:3], y[:3])
    with pytest.raises(ValueError, match="y .* is required"):
        NodeAttributionAttack({0: (s[0, 0], s[0, 1])}).predict(X[:3], None)
    with pytest.raises(ValueError, match="nodes has 2 entries"):
        NodeAttributionAttack({0: (s[0, 0], s[0, 1])}).score(X[:3], y[:3], [0, 1])


def test_colluding_pair_falls_back_to_the_single_snapshot(memorising_federation):
    X, y, fed, s = memorising_federation
    n1 = fed.node_indices_[0]
    rows = np.r_[n1[:150], np.arange(600, 750)]
    membership = np.r_[np.ones(150), np.zeros(150)]
    single = ColludingInsidersAttack(s[1, 0], model_before=s[0, 2], weights=(0.0,))
    single.fit(X[rows], y[rows], membership)
    assert single.weight_ == 0.0
    logit_auc = roc_auc_score(membership, -per_record_loss(s[1, 0], X[rows], y[rows]))
    assert roc_auc_score(membership, single.decision_function(X[rows], y[rows])) == (
        pytest.approx(logit_auc)
    )
    pair = ColludingInsidersAttack(s[1, 0], model_before=s[0, 2]).fit(X[rows], y[rows], membership)
    assert pair.calibration_auc_[pair.weight_] >= pair.calibration_auc_[0.0]
    with pytest.raises(ValueError, match="both members"):
        pair.fit(X[rows], y[rows], np.ones(300))
    with pytest.raises(ValueError, match="needs model_before"):
        ColludingInsidersAttack(s[1, 0]).fit(X[rows], y[rows], membership)
    with pytest.raises(ValueError, match="weights must be finite"):
        ColludingInsidersAttack(s[1, 0], model_before=s[0, 2], weights=[-1]).fit(
            X[rows], y[rows], membership
        )


def test_colluding_pair_keeps_a_weight_only_for_a_gain_beyond_noise(memorising_federation):
    from skfedmia.metrics._intervals import delong_paired_se

    X, y, fed, s = memorising_federation
    n1 = fed.node_indices_[0]
    rows = np.r_[n1[:150], np.arange(600, 750)]
    membership = np.r_[np.ones(150), np.zeros(150)]
    plain = ColludingInsidersAttack(s[1, 0], model_before=s[0, 2]).fit(X[rows], y[rows], membership)
    strict = ColludingInsidersAttack(s[1, 0], model_before=s[0, 2], min_gain=1.0)
    assert strict.fit(X[rows], y[rows], membership).weight_ == 0.0
    assert strict.calibration_auc_ == plain.calibration_auc_
    se = ColludingInsidersAttack(s[1, 0], model_before=s[0, 2], min_gain="se")
    se.fit(X[rows], y[rows], membership)
    assert se.weight_ in (0.0, plain.weight_)
    gain = plain.calibration_auc_[plain.weight_] - plain.calibration_auc_[0.0]
    if se.weight_ > 0:
        assert gain > 0
    with pytest.raises(ValueError, match="min_gain"):
        ColludingInsidersAttack(s[1, 0], model_before=s[0, 2], min_gain=-0.1).fit(
            X[rows], y[rows], membership
        )
    # the paired standard error matches the spread of the AUC difference over resamples
    rng = np.random.RandomState(0)
    m = np.r_[np.ones(400), np.zeros(400)].astype(int)
    a = rng.normal(m * 1.0, 1.0)
    b = a + rng.normal(0.0, 0.5, len(m))
    boot = []
    for _ in range(400):
        i = np.r_[rng.choice(400, 400), 400 + rng.choice(400, 400)]
        boot.append(roc_auc_score(m[i], a[i]) - roc_auc_score(m[i], b[i]))
    assert delong_paired_se(m, a, b) == pytest.approx(np.std(boot), rel=0.2)
