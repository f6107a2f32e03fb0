"""The reproduction end to end with tiny settings: files, monitor records, resume."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from skfedmia.experiments import ReproductionConfig, run_reproduction, write_report
from skfedmia.experiments._cli import main

TINY = [
    "--classes",
    "5",
    "--nodes",
    "2 3",
    "--epochs",
    "2",
    "--cycles",
    "2",
    "--shadow-models",
    "2",
    "--n-target",
    "300",
    "--n-shadow",
    "300",
    "--n-test",
    "200",
    "--centralized-epochs",
    "2",
    "--seeds",
    "0",
    "--quiet",
]


def tiny_config(**kw):
    params = dict(
        seeds=(0,),
        n_classes=(5,),
        n_nodes=(2, 3),
        local_epochs=(2,),
        n_cycles=2,
        n_shadow_models=2,
        n_target=300,
        n_shadow=300,
        n_test=200,
        centralized_epochs=2,
    )
    params.update(kw)
    return ReproductionConfig(**params)


def test_cli_end_to_end(tmp_path, capsys):
    assert main(["reproduce", *TINY, "--out", str(tmp_path)]) == 0
    assert "report:" in capsys.readouterr().out
    for name in ("table1_centralized", "table2_final_cycle", "steps"):
        df = pd.read_csv(tmp_path / f"{name}.csv")
        assert len(df) > 0
        assert json.loads((tmp_path / f"{name}.json").read_text())
    steps = pd.read_csv(tmp_path / "steps.csv")
    # 2 nodes x 2 cycles + 3 nodes x 2 cycles steps, each with N1 and the outsider set
    assert len(steps) == 2 * (2 * 2 + 3 * 2)
    assert set(steps["attacked"].astype(str)) == {"0", "all"}
    assert steps["accuracy"].between(0, 1).all()
    for n in (2, 3):
        png = tmp_path / "figures" / f"figure_nodes_{n}.png"
        assert png.stat().st_size > 10_000
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (tmp_path / "report.md").read_text()
    assert "Table I" in report and "0.645" in report  # the paper's numbers beside ours


def test_monitor_records_in_reproduction(tmp_path):
    records = run_reproduction(tiny_config(n_nodes=(3,)), tmp_path, verbose=0)
    fed = next(r for r in records if r["spec"]["kind"] == "federated")
    steps = fed["result"]["steps"]
    labels = [s["label"] for s in steps if s["attacked"] == 0]
    assert labels == ["C1N1", "C1N2", "C1N3", "C2N1", "C2N2", "C2N3"]
    assert fed["result"]["node_rows"] == [100, 100, 100]


def test_resume_skips_finished_cells_and_matches(tmp_path):
    config = tiny_config()
    full = run_reproduction(config, tmp_path / "full", verbose=0)

    class Interrupt(Exception):
        pass

    done = []

    def stop_after_two(spec, record, reused):
        done.append(spec)
        if len(done) == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_reproduction(config, tmp_path / "resumed", verbose=0, on_cell=stop_after_two)
    assert len(list((tmp_path / "resumed" / "cells").glob("*.json"))) == 2

    events = []
    resumed = run_reproduction(
        config, tmp_path / "resumed", verbose=0, on_cell=lambda s, r, reused: events.append(reused)
    )
    assert events == [True, True, False]  # finished cells are not recomputed
    # a report of a partial run says what it rests on; a complete one says so too
    write_report(resumed[:2], tmp_path / "partial", config=config)
    partial = (tmp_path / "partial" / "report.md").read_text()
    assert "rest on 2 of the configuration's 3 cells" in partial
    assert "1 federated not yet computed" in partial
    write_report(resumed, tmp_path / "whole", config=config)
    assert (
        "All 3 cells of the configuration are computed."
        in (tmp_path / "whole" / "report.md").read_text()
    )
    for a, b in zip(full, resumed):
        assert a["spec"] == b["spec"]
        assert json.dumps(a["result"], sort_keys=True) == json.dumps(b["result"], sort_keys=True)

    # a changed configuration never mixes with old results
    changed = run_reproduction(
        tiny_config(n_cycles=3),
        tmp_path / "resumed",
        verbose=0,
        on_cell=lambda s, r, reused: events.append((s["kind"], reused)),
    )
    assert ("federated", True) not in events[3:]
    assert len(changed) == 3
    paths = write_report(changed, tmp_path / "resumed")
    steps = pd.read_csv(paths["steps.csv"])
    assert steps["cycle"].max() == 2  # three cycles, none from the old run
    assert np.isfinite(steps["accuracy"]).all()
