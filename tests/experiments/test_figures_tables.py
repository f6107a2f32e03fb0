"""Table II and the insider-on-N1 tables carry AUC and TPR at 1% FPR beside accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skfedmia.experiments import write_report
from skfedmia.experiments._tables import build_tables, insider_after_node, peak_summary
from skfedmia.experiments._verdicts import mean_interval

from .test_figures import _records

SETTING = dict(n_classes=10, n_nodes=3, local_epochs=20)


def _attack(rng):
    return {
        "accuracy": rng.uniform(0.5, 0.9),
        "precision": rng.uniform(0.5, 0.9),
        "recall": rng.uniform(0.5, 0.9),
        "f1": rng.uniform(0.5, 0.9),
        "roc_auc": rng.uniform(0.5, 0.9),
        "tpr_at_1_fpr": rng.uniform(0.01, 0.2),
    }


def _cells(seeds=(0, 1, 2)):
    """Records shaped like the driver's, with made-up numbers (no training)."""
    rng = np.random.RandomState(0)
    steps = _records(3, 3, seeds=seeds)
    records = []
    for seed in seeds:
        records.append(
            {
                "spec": {"kind": "centralized", "n_classes": 10, "seed": seed},
                "result": {
                    "train_accuracy": 1.0,
                    "test_accuracy": rng.uniform(0.4, 0.6),
                    "attack": _attack(rng),
                },
            }
        )
        mine = steps[steps["seed"] == seed].drop(columns=[*SETTING, "seed"])
        records.append(
            {
                "spec": {"kind": "federated", **SETTING, "seed": seed},
                "result": {
                    "steps": mine.to_dict("records"),
                    "final_test_accuracy": rng.uniform(0.4, 0.6),
                    "final_train_accuracy": 1.0,
                    "outsider_attack": _attack(rng),
                },
            }
        )
    return records


def test_table2_has_the_outsiders_tpr_averaged_over_seeds():
    records = _cells()
    _, table2, _ = build_tables(records)
    tprs = [
        r["result"]["outsider_attack"]["tpr_at_1_fpr"] for r in records if "steps" in r["result"]
    ]
    assert table2.loc[0, "attack_tpr_at_1pct_fpr"] == pytest.approx(np.mean(tprs))
    aucs = [r["result"]["outsider_attack"]["roc_auc"] for r in records if "steps" in r["result"]]
    assert table2.loc[0, "attack_auc"] == pytest.approx(np.mean(aucs))


def test_insider_after_n1_per_seed_and_summary():
    records = _cells()
    _, _, steps = build_tables(records)
    after = insider_after_node(steps)
    assert len(after) == 3  # one row per seed
    seed1 = steps[(steps["seed"] == 1) & (steps["attacked"].astype(str) == "0")]
    seed1 = seed1[seed1["cycle"] >= 1]
    row = after[after["seed"] == 1].iloc[0]
    assert row["attack_tpr_at_1pct_fpr_after_N1"] == pytest.approx(
        seed1.loc[seed1["node"] == 0, "tpr_at_1_fpr"].mean()
    )
    assert row["attack_auc_after_others"] == pytest.approx(
        seed1.loc[seed1["node"] != 0, "roc_auc"].mean()
    )
    peaks = peak_summary(steps)
    for name in ("attack_acc", "attack_auc", "attack_tpr_at_1pct_fpr"):
        for where in ("after_N1", "after_others"):
            assert peaks.loc[0, f"{name}_{where}"] == pytest.approx(after[f"{name}_{where}"].mean())


def test_report_shows_tpr_with_intervals(tmp_path):
    records = _cells()
    write_report(records, tmp_path)
    table2 = pd.read_csv(tmp_path / "table2_final_cycle.csv")
    assert "attack_tpr_at_1pct_fpr" in table2
    report = (tmp_path / "report.md").read_text()
    section = report.split("## Table II")[1].split("The paper's Table II")[0]
    assert "attack_tpr_at_1pct_fpr" in section and "attack_auc" in section
    after = insider_after_node(build_tables(records)[2])
    mean, low, high = mean_interval(after["attack_tpr_at_1pct_fpr_after_N1"])
    assert f"{mean:.3f} ± {(high - low) / 2:.3f}" in report.split("## Insider on N1")[1]
