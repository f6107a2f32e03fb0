"""Disjoint target / shadow / test pools."""

import numpy as np
import pandas as pd
import pytest

from skfedmia.datasets import attack_split


@pytest.fixture
def Xy():
    rng = np.random.RandomState(0)
    X = rng.random_sample((1000, 4))
    y = np.repeat(np.arange(4), [400, 300, 200, 100])
    return X, y


def test_pools_are_disjoint_with_requested_sizes(Xy):
    X, y = Xy
    s = attack_split(X, y, n_target=500, n_shadow=300, n_test=150, random_state=0)
    assert (len(s.target_index), len(s.shadow_index), len(s.test_index)) == (500, 300, 150)
    union = np.concatenate([s.target_index, s.shadow_index, s.test_index])
    assert len(np.unique(union)) == 950
    for pool in ("target", "shadow", "test"):
        index = s[f"{pool}_index"]
        assert index.dtype == np.int64 and np.all(np.diff(index) > 0)
        assert np.array_equal(s[f"X_{pool}"], X[index])
        assert np.array_equal(s[f"y_{pool}"], y[index])


def test_fractions_and_rest(Xy):
    X, y = Xy
    s = attack_split(X, y, n_target=0.5, n_test=0.25, random_state=0)
    assert (len(s.target_index), len(s.test_index), len(s.shadow_index)) == (500, 250, 250)
    s0 = attack_split(X, y, n_target=600, n_test=400, random_state=0)
    assert len(s0.shadow_index) == 0 and s0.X_shadow.shape == (0, 4)


def test_repeatable_and_seeded(Xy):
    X, y = Xy
    a = attack_split(X, y, n_target=300, n_test=300, random_state=1)
    b = attack_split(X, y, n_target=300, n_test=300, random_state=1)
    c = attack_split(X, y, n_target=300, n_test=300, random_state=2)
    assert np.array_equal(a.target_index, b.target_index)
    assert not np.array_equal(a.target_index, c.target_index)


def test_stratified_pools_keep_class_proportions(Xy):
    X, y = Xy
    s = attack_split(X, y, n_target=500, n_shadow=250, n_test=250, random_state=0, stratify=y)
    assert np.array_equal(np.bincount(s.y_target), [200, 150, 100, 50])
    assert np.array_equal(np.bincount(s.y_test), [100, 75, 50, 25])
    assert np.array_equal(np.bincount(s.y_shadow), [100, 75, 50, 25])
    union = np.concatenate([s.target_index, s.shadow_index, s.test_index])
    assert len(np.unique(union)) == 1000


def test_dataframe_input(Xy):
    X, y = Xy
    frame = pd.DataFrame(X, index=np.arange(1000) + 10_000)
    s = attack_split(frame, pd.Series(y), n_target=100, n_test=100, random_state=0)
    assert isinstance(s.X_target, pd.DataFrame)
    assert np.array_equal(s.X_target.index.to_numpy(), s.target_index + 10_000)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"n_target": 600, "n_shadow": 300, "n_test": 200},
            r"n_target \+ n_shadow \+ n_test = 600 \+ 300 \+ 200 = 1100 rows requested, "
            "but X has only 1000 rows",
        ),
        ({"n_target": 1.5, "n_test": 10}, r"n_target=1.5: a float is a fraction"),
        ({"n_target": -1, "n_test": 10}, "n_target must be >= 0"),
        ({"n_target": "all", "n_test": 10}, "n_target must be an int"),
        ({"n_target": 10, "n_test": None}, "n_target and n_test must be given"),
    ],
)
def test_impossible_requests_name_the_parameters(Xy, kwargs, match):
    X, y = Xy
    with pytest.raises(ValueError, match=match):
        attack_split(X, y, random_state=0, **kwargs)


def test_mismatched_lengths(Xy):
    X, y = Xy
    with pytest.raises(ValueError, match="different numbers of rows"):
        attack_split(X[:10], y, n_target=1, n_test=1)
    with pytest.raises(ValueError, match=r"stratify must have shape \(1000,\)"):
        attack_split(X, y, n_target=1, n_test=1, stratify=y[:5])
