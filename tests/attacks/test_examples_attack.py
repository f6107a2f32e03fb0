"""The attack examples run as they are (with their --quick settings)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["attack_any_model", "epochs_vs_attack_accuracy"])
def test_example_runs(name, tmp_path, monkeypatch, location_path):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("SKFEDMIA_LOCATION", str(location_path))
    monkeypatch.setattr(sys, "argv", [f"{name}.py", "--quick", "--out", str(tmp_path)])
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    assert (tmp_path / f"{name}.png").stat().st_size > 0
