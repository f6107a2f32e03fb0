"""Shared fixtures: seeded generators, small real data sets, a single torch thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
LOCATION_TGZ = SHARED_DATA / "location" / "dataset_location.tgz"


@pytest.fixture(autouse=True)
def _seed_everything():
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def digits():
    """sklearn's digits, scaled to [0, 1], split 1200 / 597."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return X[:1200], y[:1200], X[1200:], y[1200:]


@pytest.fixture(scope="session")
def location_path():
    if not LOCATION_TGZ.exists():
        pytest.skip(f"Location data not found at {LOCATION_TGZ}")
    return LOCATION_TGZ
