"""Fitted targets shared by the attack tests (module-scoped to keep the suite fast)."""

from __future__ import annotations

import tarfile

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from skfedmia import TorchMLPClassifier


def read_location(path):
    """The Location benchmark as (X float32, y int) from its published tgz."""
    with tarfile.open(path) as archive:
        member = next(m for m in archive.getmembers() if m.isfile())
        frame = pd.read_csv(archive.extractfile(member), header=None)
    y = frame.iloc[:, 0].astype(str).str.strip('"').astype(int).to_numpy()
    return frame.iloc[:, 1:].to_numpy(np.float32), y


@pytest.fixture(scope="session")
def location_splits(location_path):
    """Location rows split into target training (members), non-members, an unused
    same-distribution set, and the attacker's pool."""
    X, y = read_location(location_path)
    perm = np.random.RandomState(0).permutation(len(y))
    parts = {"train": perm[:400], "out": perm[400:800], "unused": perm[800:1200]}
    parts["pool"] = perm[1200:2400]
    return X, y, parts


def fast_mlp(**kw):
    params = dict(max_epochs=40, lr=0.003, batch_size=64, random_state=0)
    params.update(kw)
    return TorchMLPClassifier(**params)


@pytest.fixture(scope="session")
def location_target(location_splits):
    """An MLP that overfits 400 Location rows (train accuracy 1, test about 0.5)."""
    X, y, parts = location_splits
    return fast_mlp().fit(X[parts["train"]], y[parts["train"]])


@pytest.fixture(scope="session")
def digits_forest(digits):
    """A deep random forest on 300 digits rows."""
    X, y, _, _ = digits
    return RandomForestClassifier(n_estimators=30, random_state=0).fit(X[:300], y[:300])


def eval_set(X, y, members, non_members):
    rows = np.concatenate([members, non_members])
    membership = np.r_[np.ones(len(members), dtype=int), np.zeros(len(non_members), dtype=int)]
    return X[rows], y[rows], membership
