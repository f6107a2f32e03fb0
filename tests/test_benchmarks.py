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
    # --floor counts the cells from the run's config.json, and says so when it is missing
    no_config = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "--floor"], capture_output=True, text=True
    )
    assert no_config.returncode == 2 and "config.json does not exist" in no_config.stderr


def _leakage_tables():
    import importlib.util

    path = SCRIPT.parent / "gradient_leakage_tables.py"
    spec = importlib.util.spec_from_file_location("gradient_leakage_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_leakage_tables_average_node_batches_and_count_pairs():
    tables = _leakage_tables()

    def row(attack, batch, f1):
        return dict(
            stage="untrained",
            batch_size="8",
            batch=str(batch),
            noise="0.5",
            attack=attack,
            method="gradient",
            f1=str(f1),
            cpu_seconds="2.0",
            label_count_error="0",
        )

    # the aware attack loses the first batch by 0.02 and wins the second by 0.04
    rows = [row(tables.PLAIN, 0, 0.90), row(tables.AWARE, 0, 0.88)]
    rows += [row(tables.PLAIN, 1, 0.70), row(tables.AWARE, 1, 0.74)]
    text = tables.topk_table(rows)
    assert "| untrained | 8 | 50% | 0.800 (2.0) | 0.810 (2.0) | +0.0100 | 0 |" in text
    assert "at least the plain attack's in 1 of 1 cells (mean over 2 node batches" in text
    assert "Batch by batch, it is at least the plain attack's in 1 of 2 attacks." in text
    # no cell below on average: the narrowest cell with a batch below is named with its
    # interval (differences -0.02 and +0.04: mean +0.01, sd 0.04243)
    assert (
        "Narrowest margin of a cell with a batch below: untrained, batch 8, 0.5: 0.8100 vs "
        "0.8000 (difference +0.0100, 95% interval [-0.3712, +0.3912] over 2 batches)."
    ) in text
    # a cell below on average names its paired difference with a t interval:
    # differences -0.02 and -0.04, mean -0.03, sd 0.01414, t(0.975, 1) = 12.706
    worse = [row(tables.PLAIN, 0, 0.90), row(tables.AWARE, 0, 0.88)]
    worse += [row(tables.PLAIN, 1, 0.70), row(tables.AWARE, 1, 0.66)]
    worse_text = tables.topk_table(worse)
    assert "(difference -0.0300, 95% interval [-0.1571, +0.0971] over 2 batches)" in worse_text
    assert "Narrowest margin" not in worse_text
    # one batch per cell (the files written before --n-batches): no batch sentence
    one = tables.topk_table([row(tables.PLAIN, 0, 0.9), row(tables.AWARE, 0, 0.8)])
    assert "below it in: untrained, batch 8, 0.5: 0.8000 vs 0.9000." in one
    assert "Batch by batch" not in one


def test_leakage_tables_judge_the_mixed_type_goals():
    tables = _leakage_tables()

    def row(attack, batch_size, accuracy):
        return dict(
            epochs="0",
            batch_size=str(batch_size),
            attack=attack,
            accuracy=str(accuracy),
            random_accuracy="0.45",
            mode_accuracy="0.3",
            confidence_auc="0.9",
            cpu_seconds="10",
        )

    rows = [row(tables.MIXED, 8, 0.96), row(tables.IG, 8, 0.9), row(tables.SAME_SEARCH, 8, 0.95)]
    rows += [row(tables.MIXED, 32, 0.70), row(tables.IG, 32, 0.55)]
    rows += [row(tables.SAME_SEARCH, 32, 0.65)]
    text = tables.tabular_table(rows)
    assert "- untrained, batch 8, at least 0.95: 0.960, **met**" in text
    assert "batch 32, 10 points above Inverting Gradients: +0.150, **met**" in text
    assert "batch 32, 10 points above cosine, same search: +0.050, **missed**" in text
    assert "batch 32, 10 points above random records: +0.250, **met**" in text


def test_grid_floor_counts_the_row_epochs_of_a_cell():
    import importlib.util

    spec = importlib.util.spec_from_file_location("grid_timings", SCRIPT.parent / "grid_timings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pools = (10_000, 20_000, 5_000)
    central = {"kind": "centralized", "n_shadow_models": 10, "epochs": 100}
    # the target on 10,000 rows; ten shadows of 10,000 rows (half the 20,000-row pool)
    assert module.row_epochs(central, pools) == {"single": 1_000_000, "stacked": 10_000_000}
    fed = {"kind": "federated", "n_shadow_models": 10, "n_nodes": 3, "local_epochs": 100}
    fed["n_cycles"] = 5
    # the federation and the monitor's shadow federation: 10,000 rows x 100 epochs x 5
    # cycles each; ten shadows of one node's 3,333 rows for 100 epochs
    assert module.row_epochs(fed, pools) == {"single": 10_000_000, "stacked": 3_333_000}
    # a short pool shrinks the shadow federation: 6,000 rows less 2,000 held back
    assert module.row_epochs(fed, (10_000, 6_000, 5_000))["single"] == 5_000_000 + 2_000_000


def test_purchases_calibration_prints_each_seed_beside_the_paper():
    script = SCRIPT.parent / "purchases_calibration.py"
    cmd = [sys.executable, str(script), "--classes", "10", "--seeds", "0", "1"]
    cmd += ["--epochs", "1", "--n-train", "600"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    row = [line for line in proc.stdout.splitlines() if line.startswith("| 10 |")]
    assert len(row) == 1
    cells = [c.strip() for c in row[0].strip("|").split("|")]
    per_seed = [float(v) for v in cells[3].split(" / ")]
    assert len(per_seed) == 2
    assert abs(float(cells[2]) - sum(per_seed) / 2) <= 1e-3  # the mean, up to rounding
    assert cells[4] == "0.781"  # the paper's 10-class test accuracy
