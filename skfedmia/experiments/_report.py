"""Tables, figures and a Markdown report from the reproduction's cells."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["PAPER_TABLE1", "PAPER_TABLE2", "build_tables", "plot_steps", "write_report"]

#: Table I of Pustozerova & Mayer (centralized): train acc, test acc, attack acc / precision /
#: recall / F1, by number of classes.
PAPER_TABLE1 = pd.DataFrame(
    [
        (10, 0.958, 0.781, 0.614, 0.571, 0.913, 0.703),
        (20, 0.974, 0.726, 0.653, 0.607, 0.871, 0.715),
        (50, 0.992, 0.645, 0.728, 0.659, 0.943, 0.776),
        (100, 0.990, 0.567, 0.771, 0.705, 0.933, 0.803),
    ],
    columns=[
        "n_classes",
        "train_accuracy",
        "test_accuracy",
        "attack_accuracy",
        "attack_precision",
        "attack_recall",
        "attack_f1",
    ],
)

#: Table II of the paper (final cycle, outsider attack on all nodes' rows).
PAPER_TABLE2 = pd.DataFrame(
    [
        (10, 3, 100, 0.699, 0.554),
        (10, 10, 100, 0.782, 0.598),
        (10, 15, 100, 0.782, 0.616),
        (20, 3, 100, 0.700, 0.577),
        (20, 10, 100, 0.720, 0.636),
        (20, 15, 100, 0.702, 0.654),
        (50, 3, 100, 0.666, 0.656),
        (50, 10, 100, 0.648, 0.716),
        (50, 15, 100, 0.599, 0.709),
        (100, 3, 100, 0.578, 0.713),
        (100, 10, 100, 0.527, 0.724),
        (100, 15, 100, 0.471, 0.700),
        (10, 3, 200, 0.726, 0.594),
        (10, 10, 200, 0.768, 0.604),
        (10, 15, 200, 0.771, 0.615),
        (20, 3, 200, 0.711, 0.634),
        (20, 10, 200, 0.693, 0.663),
        (20, 15, 200, 0.683, 0.682),
        (50, 3, 200, 0.659, 0.713),
        (50, 10, 200, 0.599, 0.708),
        (50, 15, 200, 0.589, 0.714),
        (100, 3, 200, 0.561, 0.739),
        (100, 10, 200, 0.477, 0.745),
        (100, 15, 200, 0.424, 0.691),
    ],
    columns=["n_classes", "n_nodes", "local_epochs", "test_accuracy", "attack_accuracy"],
)


def build_tables(records):
    """Turn cell records into (table1, table2, steps) DataFrames, averaged over seeds."""
    central, final, steps = [], [], []
    for rec in records:
        spec, res = rec["spec"], rec["result"]
        if spec["kind"] == "centralized":
            att = res["attack"]
            central.append(
                {
                    "n_classes": spec["n_classes"],
                    "seed": spec["seed"],
                    "train_accuracy": res["train_accuracy"],
                    "test_accuracy": res["test_accuracy"],
                    "attack_accuracy": att["accuracy"],
                    "attack_precision": att["precision"],
                    "attack_recall": att["recall"],
                    "attack_f1": att["f1"],
                    "attack_auc": att["roc_auc"],
                    "attack_tpr_at_1pct_fpr": att["tpr_at_1_fpr"],
                    "seconds": res["seconds"],
                }
            )
        else:
            keys = {k: spec[k] for k in ("n_classes", "n_nodes", "local_epochs", "seed")}
            out = res["outsider_attack"]
            final.append(
                {
                    **keys,
                    "test_accuracy": res["final_test_accuracy"],
                    "train_accuracy": res["final_train_accuracy"],
                    "attack_accuracy": out["accuracy"],
                    "attack_auc": out["roc_auc"],
                    "seconds": res["seconds"],
                }
            )
            for row in res["steps"]:
                steps.append({**keys, **row})
    group = ["n_classes"]
    table1 = pd.DataFrame(central)
    if len(table1):
        table1 = table1.drop(columns="seed").groupby(group, as_index=False).mean()
    table2 = pd.DataFrame(final)
    if len(table2):
        table2 = (
            table2.drop(columns="seed")
            .groupby(["n_classes", "n_nodes", "local_epochs"], as_index=False)
            .mean()
        )
    return table1, table2, pd.DataFrame(steps)


def plot_steps(steps: pd.DataFrame, folder) -> list[Path]:
    """One figure per node count, laid out like the paper's figures 1-3.

    One panel per (class count, epochs per node), stacked; the x axis is the model
    state CiNj, lines are the target's accuracy on N1's rows and on the test set and the
    attack's accuracy, precision and recall on N1's rows (averaged over seeds).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if steps.empty:
        return paths
    node_rows = steps[steps["attacked"].astype(str) != "all"]
    lines = [
        ("target_accuracy_attacked", "target acc. on N1 rows", "tab:blue", "-"),
        ("target_accuracy_test", "target acc. on test set", "tab:cyan", "--"),
        ("accuracy", "attack accuracy", "tab:red", "-"),
        ("precision", "attack precision", "tab:orange", ":"),
        ("recall", "attack recall", "tab:green", "-."),
    ]
    for n_nodes, by_nodes in node_rows.groupby("n_nodes"):
        classes = sorted(by_nodes["n_classes"].unique())
        epochs = sorted(by_nodes["local_epochs"].unique())
        panels = [(c, e) for c in classes for e in epochs]
        n_steps = by_nodes["step"].nunique()
        fig, axes = plt.subplots(
            len(panels),
            1,
            figsize=(min(16, 4 + 0.25 * n_steps), 3.4 * len(panels)),
            squeeze=False,
            sharey=True,
            layout="constrained",
        )
        for row, (c, e) in enumerate(panels):
            ax = axes[row][0]
            cell = by_nodes[(by_nodes["n_classes"] == c) & (by_nodes["local_epochs"] == e)]
            cell = cell.groupby(["step", "label"], as_index=False).mean(numeric_only=True)
            cell = cell.sort_values("step")
            for col, name, color, style in lines:
                if col in cell and cell[col].notna().any():
                    ax.plot(
                        cell["step"],
                        cell[col],
                        style,
                        color=color,
                        label=name,
                        marker="o",
                        markersize=2.5,
                        linewidth=1.2,
                    )
            ax.set_xticks(cell["step"])
            ax.set_xticklabels(cell["label"], rotation=90, fontsize=6)
            ax.set_ylim(0, 1.02)
            ax.grid(alpha=0.3)
            ax.set_title(f"{c} classes, {e} epochs per node", fontsize=9)
            n1 = cell[cell["label"].str.endswith("N1")]
            for x in n1["step"]:
                ax.axvline(x, color="grey", alpha=0.25, linewidth=0.8)
        axes[0][0].legend(fontsize=7, loc="lower right")
        fig.suptitle(
            f"Membership inference on N1 in sequential federated learning, {n_nodes} nodes"
        )
        path = folder / f"figure_nodes_{n_nodes}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def _peak_summary(steps: pd.DataFrame) -> pd.DataFrame:
    """Per run: is N1's attack accuracy right after N1 trained above the other steps?"""
    rows = []
    node_rows = steps[steps["attacked"].astype(str) == "0"]
    if node_rows.empty:
        node_rows = steps[steps["attacked"].astype(str) != "all"]
    for keys, run in node_rows.groupby(["n_classes", "n_nodes", "local_epochs"]):
        run = run.groupby(["step", "cycle", "node"], as_index=False)["accuracy"].mean()
        later = run[run["cycle"] >= 1]
        at_n1 = later[later["node"] == 0]["accuracy"]
        others = later[later["node"] != 0]["accuracy"]
        cycles_peaking = 0
        for _cycle, cyc in later.groupby("cycle"):
            n1 = cyc[cyc["node"] == 0]["accuracy"]
            rest = cyc[cyc["node"] != 0]["accuracy"]
            if len(n1) and len(rest) and n1.iloc[0] >= rest.max():
                cycles_peaking += 1
        rows.append(
            {
                "n_classes": keys[0],
                "n_nodes": keys[1],
                "local_epochs": keys[2],
                "attack_acc_after_N1": at_n1.mean() if len(at_n1) else np.nan,
                "attack_acc_after_others": others.mean() if len(others) else np.nan,
                "cycles_from_C2_where_N1_peaks": f"{cycles_peaking}/{later['cycle'].nunique()}",
            }
        )
    return pd.DataFrame(rows)


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


def write_report(records, out, config=None) -> dict:
    """Write CSV and JSON tables, PNG figures and ``report.md`` into ``out``.

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
        df.to_csv(csv, index=False)
        js = out / f"{name}.json"
        js.write_text(df.to_json(orient="records", indent=1))
        paths[name + ".csv"], paths[name + ".json"] = csv, js
    figures = plot_steps(steps, out / "figures")
    for p in figures:
        paths[p.name] = p
    peaks = _peak_summary(steps) if not steps.empty else pd.DataFrame()

    t1 = table1.merge(PAPER_TABLE1, on="n_classes", how="left", suffixes=("", "_paper"))
    cols1 = ["n_classes"]
    for col in PAPER_TABLE1.columns.drop("n_classes"):
        if col in t1:
            cols1 += [col, col + "_paper"]
    cols1 += [c for c in ("attack_auc", "attack_tpr_at_1pct_fpr") if c in t1]
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
    ]
    cols2 = [c for c in cols2 if c in t2]

    lines = ['# Reproduction of "Information Leaks in Federated Learning"', ""]
    if config is not None:
        lines += [
            "Configuration:",
            "",
            "```json",
            json.dumps(config.result_fields(), indent=1, default=str),
            "```",
            "",
        ]
    lines += [
        "## Table I: centralized baseline",
        "",
        "Ours beside the paper's (`_paper`). Attack: shadow-model attack, balanced set of "
        "training rows and held-out rows.",
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
        "Mean attack accuracy on N1's rows from cycle 2 on, right after N1 trained versus "
        "after the other nodes, and in how many of those cycles the step after N1 is the "
        "cycle's highest.",
        "",
        _fmt(peaks),
        "## Figures",
        "",
    ]
    lines += [f"![{p.stem}](figures/{p.name})" for p in figures]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths["report.md"] = report
    return paths
