"""The balanced member / non-member evaluation set, and the places that draw one."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from skfedmia import SequentialFederatedClassifier, TorchMLPClassifier, make_membership_scorer
from skfedmia.attacks.membership import MembershipMonitor, ThresholdAttack, _scorer
from skfedmia.attacks.membership._base import balanced_evaluation_set


def test_balanced_disjoint_and_labelled():
    (members, non_members), membership = balanced_evaluation_set(
        np.arange(10), np.arange(100, 104), random_state=0
    )
    assert len(members) == len(non_members) == 4
    assert len(set(members)) == 4 and set(members) <= set(range(10))
    assert list(non_members) == [100, 101, 102, 103]  # all of the smaller side, sorted
    assert not set(members) & set(non_members)
    assert np.all(np.diff(members) > 0)
    np.testing.assert_array_equal(membership, [1] * 4 + [0] * 4)
    assert membership.dtype == np.int64


def test_reproducible_with_a_seed():
    def draw(seed):
        return balanced_evaluation_set(np.arange(50), np.arange(50, 90), n=10, random_state=seed)

    (a_in, a_out), _ = draw(3)
    (b_in, b_out), _ = draw(3)
    np.testing.assert_array_equal(a_in, b_in)
    np.testing.assert_array_equal(a_out, b_out)
    (c_in, c_out), _ = draw(4)
    assert not (np.array_equal(a_in, c_in) and np.array_equal(a_out, c_out))


@pytest.mark.parametrize("sort", [True, False])
def test_draws_members_then_non_members_from_the_generator(sort):
    # the contract the call sites rely on: rng.choice of each side, members first, even a
    # side of exactly n rows, and the generator is left where a caller's next draw follows
    members, non_members = np.arange(20, 32), np.arange(7)
    rng = np.random.RandomState(11)
    (got_in, got_out), _ = balanced_evaluation_set(
        members, non_members, random_state=rng, sort=sort
    )
    expected = np.random.RandomState(11)
    want_in = expected.choice(members, size=7, replace=False)
    want_out = expected.choice(non_members, size=7, replace=False)
    if sort:
        want_in, want_out = np.sort(want_in), np.sort(want_out)
    np.testing.assert_array_equal(got_in, want_in)
    np.testing.assert_array_equal(got_out, want_out)
    assert rng.randint(1 << 30) == expected.randint(1 << 30)


def test_draw_members_only_keeps_the_non_members_order():
    shuffled = np.array([9, 3, 7, 1, 5])
    rng = np.random.RandomState(0)
    (members, non_members), membership = balanced_evaluation_set(
        np.arange(100, 110), shuffled, n=3, random_state=rng, draw="members", sort=False
    )
    np.testing.assert_array_equal(non_members, [9, 3, 7])
    np.testing.assert_array_equal(
        members, np.random.RandomState(0).choice(np.arange(100, 110), 3, replace=False)
    )
    assert len(membership) == 6


def test_errors():
    with pytest.raises(ValueError, match="needs that many of each"):
        balanced_evaluation_set(np.arange(3), np.arange(5), n=4)
    with pytest.raises(ValueError, match='draw must be "both" or "members"'):
        balanced_evaluation_set(np.arange(3), np.arange(5), draw="none")


def test_monitor_draws_its_sets_with_the_helper(digits):
    X, y, X_test, y_test = digits
    X_out, y_out = X_test[:150], y_test[:150]
    monitor = MembershipMonitor(
        ThresholdAttack(signal="loss", random_state=0),
        attack_data=(X[600:1000], y[600:1000]),
        nonmember_data=(X_out, y_out),
        attacked_nodes=[0, 2],
        outsider=True,
        max_members=120,
        calibration="none",
        random_state=7,
    )
    fed = SequentialFederatedClassifier(
        TorchMLPClassifier(max_epochs=1, random_state=0),
        n_nodes=3,
        n_cycles=1,
        local_epochs=1,
        callbacks=[monitor],
        random_state=0,
    ).fit(X[:600], y[:600])
    rng = np.random.RandomState(7)
    candidates = [fed.node_indices_[0], fed.node_indices_[2], np.arange(600)]
    for key, rows in zip([0, 2, "all"], candidates):
        n = min(len(rows), 120, len(y_out))
        (members, non_members), membership = balanced_evaluation_set(
            rows, np.arange(len(y_out)), n=n, random_state=rng
        )
        got = monitor.eval_sets_[key]
        np.testing.assert_array_equal(got["member_indices"], members)
        np.testing.assert_array_equal(got["nonmember_indices"], non_members)
        np.testing.assert_array_equal(got["membership"], membership)
        np.testing.assert_array_equal(got["X"], np.concatenate([X[members], X_out[non_members]]))


def test_scorer_draws_its_set_with_the_helper(digits, monkeypatch):
    X, y, X_test, y_test = digits
    fed = SequentialFederatedClassifier(
        SGDClassifier(loss="log_loss", random_state=0), n_nodes=2, n_cycles=1, random_state=0
    ).fit(X[:300], y[:300])
    calls = []

    def spy(*args, **kwargs):
        result = balanced_evaluation_set(*args, **kwargs)
        calls.append((kwargs, result))
        return result

    monkeypatch.setattr(_scorer, "balanced_evaluation_set", spy)
    scorer = make_membership_scorer("roc_auc", attack="loss", random_state=0)
    value = scorer(fed, X_test[:200], y_test[:200])
    assert 0 <= value <= 1
    [(kwargs, ((members, non_members), membership))] = calls
    assert kwargs["draw"] == "members"
    assert len(members) == len(non_members) == len(membership) // 2
    assert set(members) <= set(range(300))
