"""The benchmark script runs end to end with tiny settings (its numbers are not checked:
speed is measured by running the script, never asserted in tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def test_benchmark_script_writes_table_and_json(tmp_path):
    out = tmp_path / "results.json"
    cmd = [sys.executable, str(SCRIPT), "--cases", "mlp_epoch", "ensemble_3"]
    cmd += ["--repeats", "2", "--epochs", "1", "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "TorchMLPClassifier" in proc.stdout and "together" in proc.stdout
    results = {r["case"]: r for r in json.loads(out.read_text())["results"]}
    mlp = results["mlp_epoch"]["rows"]
    assert set(mlp) == {
        "plain torch loop",
        "plain loop, fused Adam",
        "TorchMLPClassifier",
        "skorch default",
    }
    assert mlp["plain torch loop"]["ratio"] == 1.0
    assert len(mlp["TorchMLPClassifier"]["runs"]) == 2
    assert mlp["TorchMLPClassifier"]["ratio_to_same_optimizer_loop"] > 0
    ensemble = results["ensemble_3"]["rows"]
    assert ensemble["together, unfused Adam"]["ratio_to"] == "one by one, unfused Adam"
    assert all(row["s_per_model"] > 0 for row in ensemble.values())
    assert results["ensemble_3"]["peak_rss_mb"] > 0


def test_grid_timings_sums_a_runs_cells(tmp_path):
    script = SCRIPT.parent / "grid_timings.py"
    (tmp_path / "timings.csv").write_text(
        "kind,n_classes,n_nodes,local_epochs,seed,seconds\n"
        "centralized,10,,,0,10.0\n"
        "federated,10,3,100,0,30.0\n"
        "federated,10,3,100,1,50.0\n"
    )
    cmd = [sys.executable, str(script), str(tmp_path), "--workers", "2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "| federated, 100 local epochs | 2 | 40 | 80 |" in proc.stdout
    assert "| all | 3 | | 90 |" in proc.stdout
    assert "at 2 cells at once at least 1 min" in proc.stdout
    bad = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "nowhere")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "timings.csv does not exist" in bad.stderr
