"""Every script in examples/ runs as it is (with short settings)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from .conftest import LOCATION_TGZ

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKFEDMIA_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if LOCATION_TGZ.exists():
        monkeypatch.setenv("SKFEDMIA_LOCATION", str(LOCATION_TGZ))
    monkeypatch.setattr(sys, "argv", [script.name])
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert out.strip(), f"{script.name} printed nothing"
    for png in tmp_path.glob("*.png"):  # plots the example draws are real images
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5_000
