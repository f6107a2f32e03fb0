"""The reproduction's output folder: CSV and JSON tables, figures and ``report.md``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ._beyond import beyond_report_lines
from ._figures import plot_steps
from ._store import write_atomic
from ._tables import (
    PAPER_TABLE1,
    PAPER_TABLE2,
    build_tables,
    build_timings,
    insider_after_node,
    peak_summary,
    per_seed_tables,
)
from ._verdicts import _markdown, _seed_table, insider_report_lines

__all__ = ["config_json", "write_report"]


#: Beyond-the-paper columns shown in the report's Tables I and II (the CSVs hold all).
_BEYOND_SHOWN = ("lira_auc", "rmia_auc", "lira_tpr_at_1pct_fpr", "rmia_tpr_at_1pct_fpr")


def _fmt(df: pd.DataFrame) -> str:
    """A Markdown table, floats to three decimals."""
    if df.empty:
        return "(no cells)\n"

    def cell(v):
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:.3f}"
        return str(v)

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def config_json(config) -> str:
    """The result-deciding fields of ``config`` as JSON text."""
    return json.dumps(config.result_fields(), indent=1, sort_keys=True, default=str) + "\n"


def write_report(records, out, config=None) -> dict:
    """Write CSV and JSON tables, PNG figures and ``report.md`` into ``out``.

    The tables hold results only, so two runs of the same cells write the same bytes;
    the cells' wall-clock seconds go to ``timings.csv``. With ``config``, its
    result-deciding fields go to ``config.json`` (the command line reads it back to
    refuse mixing another configuration's report into the folder).

    Parameters
    ----------
    records : list of dict
        Cell records, as :func:`run_reproduction` returns them.
    out : str or Path
        Output folder, created if needed.
    config : ReproductionConfig, default=None
        The configuration the records come from.

    Returns
    -------
    paths : dict
        Name -> path of every file written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table1, table2, steps = build_tables(records)
    paths = {}
    for name, df in (
        ("table1_centralized", table1),
        ("table2_final_cycle", table2),
        ("steps", steps),
    ):
        csv = out / f"{name}.csv"
        write_atomic(csv, df.to_csv(index=False))
        js = out / f"{name}.json"
        write_atomic(js, df.to_json(orient="records", indent=1))
        paths[name + ".csv"], paths[name + ".json"] = csv, js
    timings = out / "timings.csv"
    write_atomic(timings, build_timings(records).to_csv(index=False))
    paths["timings.csv"] = timings
    if config is not None:
        conf = out / "config.json"
        write_atomic(conf, config_json(config))
        paths["config.json"] = conf
    figures = plot_steps(steps, out / "figures")
    for p in figures:
        paths[p.name] = p
    peaks = peak_summary(steps) if not steps.empty else pd.DataFrame()
    after = insider_after_node(steps) if not steps.empty else pd.DataFrame()

    t1 = table1.merge(PAPER_TABLE1, on="n_classes", how="left", suffixes=("", "_paper"))
    cols1 = ["n_classes"]
    for col in PAPER_TABLE1.columns.drop("n_classes"):
        if col in t1:
            cols1 += [col, col + "_paper"]
    cols1 += [c for c in ("attack_auc", "attack_tpr_at_1pct_fpr", *_BEYOND_SHOWN) if c in t1]
    t2 = table2.merge(
        PAPER_TABLE2,
        on=["n_classes", "n_nodes", "local_epochs"],
        how="left",
        suffixes=("", "_paper"),
    )
    cols2 = [
        "n_classes",
        "n_nodes",
        "local_epochs",
        "test_accuracy",
        "test_accuracy_paper",
        "attack_accuracy",
        "attack_accuracy_paper",
        "attack_auc",
        "attack_tpr_at_1pct_fpr",
        *_BEYOND_SHOWN,
    ]
    cols2 = [c for c in cols2 if c in t2]

    lines = ['# Reproduction of "Information Leaks in Federated Learning"', ""]
    if config is not None:
        from ._cells import iter_cells
        from ._store import coverage_lines

        lines += coverage_lines(
            list(iter_cells(config)), records, by="kind", covers="table and verdict"
        )
        lines += [
            "Configuration:",
            "",
            "```json",
            json.dumps(config.result_fields(), indent=1, default=str),
            "```",
            "",
        ]
        if config.dataset == "purchases-like":
            from ..datasets import calibrated_label_taste

            n_target, n_shadow, n_test = config.pools()
            taste = ", ".join(
                f"{c} classes: {calibrated_label_taste(c):g}" for c in config.n_classes
            )
            lines += [
                f"Data: `make_purchases(n_samples={n_target + n_shadow + n_test}, "
                "n_classes=c, random_state=seed)` with its defaults (calibrated at 10,000 "
                "training rows); `label_taste`, the weight of the customers' tastes in the "
                f"vectors k-means labels (0: labels of the observed rows): {taste}.",
                "",
            ]
    lines += [
        "## Table I: centralized baseline",
        "",
        "Ours beside the paper's (`_paper`). Attack: shadow-model attack, balanced set of "
        "training rows and held-out rows. `lira_*` and `rmia_*`: offline LiRA and RMIA on "
        "the same rows, beyond the paper (see that section; empty for cells stored before "
        "these columns existed).",
        "",
        _fmt(t1[cols1] if len(t1) else t1),
        "The paper's Table I (Purchases, 10,000 records):",
        "",
        _fmt(PAPER_TABLE1),
        "## Table II: final cycle, outsider attack on all nodes' rows",
        "",
        _fmt(t2[cols2] if len(t2) else t2),
        "The paper's Table II:",
        "",
        _fmt(PAPER_TABLE2),
        "## Insider on N1: does the attack peak right after N1 trains?",
        "",
        "Mean attack accuracy, AUC and TPR at 1% FPR on N1's rows from cycle 2 on, right "
        "after N1 trained versus after the other nodes, and in how many of those cycles "
        "the attack accuracy after N1 is the cycle's highest.",
        "",
        _fmt(peaks),
    ]
    if len(after):
        metrics = [c for c in after.columns if c.endswith(("_after_N1", "_after_others"))]
        lines += [
            "The same with the mean over seeds ± the half-width of its 95% Student-t "
            "interval (per seed: the mean over the cycles from C2 on):",
            "",
            _markdown(_seed_table(after, ["n_classes", "n_nodes", "local_epochs"], metrics)),
        ]
    lines += insider_report_lines(records, paper_table1=PAPER_TABLE1, paper_table2=PAPER_TABLE2)
    lines += beyond_report_lines(records)
    per_seed = per_seed_tables(records)
    for name in ("collusion", "attribution"):
        df = per_seed[name]
        write_atomic(out / f"{name}.csv", df.to_csv(index=False))
        paths[name + ".csv"] = out / f"{name}.csv"
    lines += [
        "## Figures",
        "",
    ]
    lines += [f"![{p.stem}](figures/{p.name})" for p in figures]
    report = out / "report.md"
    write_atomic(report, "\n".join(lines) + "\n")
    paths["report.md"] = report
    return paths
