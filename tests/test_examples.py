"""Every script of the examples gallery runs as it is (with short settings) and draws."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import matplotlib
import pytest

from .conftest import LOCATION_TGZ

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.rglob("*.py"))


def test_examples_are_gallery_scripts():
    """Topic folders with a README.rst each; scripts named plot_*.py with # %% cells."""
    assert (EXAMPLES_DIR / "README.rst").exists()
    assert EXAMPLES, "no examples found"
    for script in EXAMPLES:
        relative = script.relative_to(EXAMPLES_DIR)
        assert len(relative.parts) == 2, f"{relative} is not in a topic folder"
        assert (script.parent / "README.rst").exists(), f"{relative.parent} lacks README.rst"
        assert script.name.startswith("plot_"), f"{relative} is not named plot_*.py"
        text = script.read_text()
        assert text.startswith('"""\n'), f"{relative} lacks a gallery docstring"
        title, underline = text.splitlines()[1:3]
        assert underline == "=" * len(title), f"{relative}: title not underlined with '='"
        assert "\n# %%\n" in text, f"{relative} has no # %% cells"


@pytest.mark.filterwarnings("ignore:FigureCanvasAgg is non-interactive:UserWarning")
@pytest.mark.parametrize(
    "script",
    EXAMPLES,
    ids=[p.relative_to(EXAMPLES_DIR).with_suffix("").as_posix() for p in EXAMPLES],
)
def test_example_runs(script, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKFEDMIA_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    if LOCATION_TGZ.exists():
        monkeypatch.setenv("SKFEDMIA_LOCATION", str(LOCATION_TGZ))
    monkeypatch.setattr(sys, "argv", [script.name])
    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(str(script), run_name="__main__")
        out = capsys.readouterr().out
        assert out.strip(), f"{script.name} printed nothing"
        figures = [plt.figure(num) for num in plt.get_fignums()]
        assert figures, f"{script.name} drew no figure for the gallery"
        for fig in figures:  # every figure shows something
            assert any(ax.has_data() for ax in fig.axes), f"{script.name}: an empty figure"
    finally:
        plt.close("all")
