"""The paper's published tables, and ours built from the cells' records."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "BEYOND_ATTACKS",
    "BEYOND_COLUMNS",
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "beyond_cells",
    "build_tables",
    "build_timings",
    "insider_after_node",
    "peak_summary",
    "per_seed_tables",
]

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


#: The attacks "beyond the paper": offline LiRA and RMIA, by the prefix of their figures.
BEYOND_ATTACKS = {"lira": "LiRA (offline)", "rmia": "RMIA (offline)"}
#: Their figures: name in a cell's result -> suffix of the table column.
_BEYOND_FIGURES = {
    "roc_auc": "auc",
    "tpr_at_1_fpr": "tpr_at_1pct_fpr",
    "tpr_at_01_fpr": "tpr_at_0_1pct_fpr",
}
#: The beyond-the-paper columns of Tables I and II (NaN for cells stored before them).
BEYOND_COLUMNS = [
    f"{attack}_{suffix}" for attack in BEYOND_ATTACKS for suffix in _BEYOND_FIGURES.values()
]


def _beyond_figures(find):
    """The beyond-the-paper columns of one cell: ``find(attack, figure)`` or NaN."""
    row = {}
    for attack in BEYOND_ATTACKS:
        for figure, suffix in _BEYOND_FIGURES.items():
            value = find(attack, figure)
            row[f"{attack}_{suffix}"] = np.nan if value is None else float(value)
    return row


def beyond_cells(records):
    """How many centralized and federated cells hold the beyond-the-paper figures.

    Cells stored before these columns existed lack them; the tables show NaN there.

    Parameters
    ----------
    records : list of dict
        Cell records, as :func:`run_reproduction` returns them.

    Returns
    -------
    counts : dict
        ``{kind: (cells with the figures, cells)}`` for ``"centralized"`` and
        ``"federated"``.
    """
    counts = {"centralized": [0, 0], "federated": [0, 0]}
    for rec in records:
        kind, res = rec["spec"]["kind"], rec["result"]
        has = "lira" in res if kind == "centralized" else "lira_roc_auc" in res["outsider_attack"]
        counts[kind][0] += int(has)
        counts[kind][1] += 1
    return {kind: tuple(n) for kind, n in counts.items()}


#: Columns of Table I and Table II, as written (seed-averaged) to the CSV files.
_TABLE1_COLUMNS = [
    "n_classes",
    "train_accuracy",
    "test_accuracy",
    "attack_accuracy",
    "attack_precision",
    "attack_recall",
    "attack_f1",
    "attack_auc",
    "attack_tpr_at_1pct_fpr",
    *BEYOND_COLUMNS,
]
_SETTING = ["n_classes", "n_nodes", "local_epochs"]
_TABLE2_COLUMNS = [
    *_SETTING,
    "test_accuracy",
    "train_accuracy",
    "attack_accuracy",
    "attack_auc",
    "attack_tpr_at_1pct_fpr",
    *BEYOND_COLUMNS,
]


def per_seed_tables(records):
    """Per-seed rows of the reproduction's cells, one table per kind of result.

    Parameters
    ----------
    records : list of dict
        Cell records, as :func:`run_reproduction` returns them.

    Returns
    -------
    tables : dict of pandas.DataFrame
        ``centralized`` (Table I's figures), ``final`` (outsider attack at the last step,
        with TPR at 1% FPR), ``steps`` (every monitor record), ``collusion`` (single vs
        colluding pair at N1's steps) and ``attribution`` (node attribution per cycle).
        ``centralized`` and ``final`` hold the beyond-the-paper columns
        (``BEYOND_COLUMNS``), ``steps`` the monitor's ``lira_*`` and ``rmia_*`` figures;
        NaN for cells stored before them.
    """
    central, final, steps, collusion, attribution = [], [], [], [], []
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
                    **_beyond_figures(lambda a, f, res=res: res.get(a, {}).get(f)),
                }
            )
            continue
        keys = {k: spec[k] for k in (*_SETTING, "seed")}
        out = res["outsider_attack"]
        final.append(
            {
                **keys,
                "test_accuracy": res["final_test_accuracy"],
                "train_accuracy": res["final_train_accuracy"],
                "attack_accuracy": out["accuracy"],
                "attack_auc": out["roc_auc"],
                "attack_tpr_at_1pct_fpr": out["tpr_at_1_fpr"],
                **_beyond_figures(lambda a, f, out=out: out.get(f"{a}_{f}")),
            }
        )
        steps += [{**keys, **row} for row in res["steps"]]
        for row in res.get("collusion", []):
            collusion.append(
                {
                    **keys,
                    "cycle": row["cycle"],
                    "label": row["label"],
                    "weight": row["weight"],
                    **{f"single_{k}": v for k, v in row["single"].items()},
                    **{f"pair_{k}": v for k, v in row["pair"].items()},
                }
            )
        attribution += [{**keys, **row} for row in res.get("attribution", [])]
    steps = pd.DataFrame(steps)
    if len(steps):
        # the columns the monitor writes, also for cells stored before it wrote them
        from ..attacks.membership._monitor import REFERENCE_FIGURES

        for attack in BEYOND_ATTACKS:
            for figure in REFERENCE_FIGURES:
                if f"{attack}_{figure}" not in steps:
                    steps[f"{attack}_{figure}"] = np.nan
    return {
        "centralized": pd.DataFrame(central),
        "final": pd.DataFrame(final),
        "steps": steps,
        "collusion": pd.DataFrame(collusion),
        "attribution": pd.DataFrame(attribution),
    }


def _seed_mean(frame, group, columns):
    if not len(frame):
        return frame
    return frame[columns].groupby(group, as_index=False).mean()


def build_tables(records):
    """Turn cell records into (table1, table2, steps) DataFrames, averaged over seeds.

    The tables hold results only, so the same cells always give the same tables; how long
    each cell took is in :func:`build_timings`.

    Parameters
    ----------
    records : list of dict
        Cell records, as :func:`run_reproduction` returns them.
    """
    t = per_seed_tables(records)
    table1 = _seed_mean(t["centralized"], ["n_classes"], _TABLE1_COLUMNS)
    table2 = _seed_mean(t["final"], _SETTING, _TABLE2_COLUMNS)
    return table1, table2, t["steps"]


def build_timings(records) -> pd.DataFrame:
    """Wall-clock seconds of every computed cell, one row per cell."""
    keys = ("kind", "n_classes", "n_nodes", "local_epochs", "seed")
    rows = [
        {**{k: rec["spec"].get(k) for k in keys}, "seconds": rec.get("seconds")} for rec in records
    ]
    return pd.DataFrame(rows, columns=[*keys, "seconds"])


#: The insider's metrics in the "peak after N1" tables: record column -> table name.
PEAK_METRICS = {
    "accuracy": "attack_acc",
    "roc_auc": "attack_auc",
    "tpr_at_1_fpr": "attack_tpr_at_1pct_fpr",
}


def _attacked_rows(steps):
    node_rows = steps[steps["attacked"].astype(str) == "0"]
    if node_rows.empty:
        node_rows = steps[steps["attacked"].astype(str) != "all"]
    return node_rows


def peak_summary(steps: pd.DataFrame) -> pd.DataFrame:
    """Per run: is N1's attack right after N1 trained above the other steps?

    For accuracy, AUC and TPR at 1% FPR: the mean over seeds and cycles from C2 on right
    after N1 trained and after the other nodes; and in how many cycles the attack
    accuracy after N1 is the cycle's highest (seed-averaged).
    """
    rows = []
    node_rows = _attacked_rows(steps)
    metrics = [m for m in PEAK_METRICS if m in node_rows]
    for keys, run in node_rows.groupby(["n_classes", "n_nodes", "local_epochs"]):
        run = run.groupby(["step", "cycle", "node"], as_index=False)[metrics].mean()
        later = run[run["cycle"] >= 1]
        row = {"n_classes": keys[0], "n_nodes": keys[1], "local_epochs": keys[2]}
        for metric in metrics:
            at_n1 = later[later["node"] == 0][metric]
            others = later[later["node"] != 0][metric]
            name = PEAK_METRICS[metric]
            row[f"{name}_after_N1"] = at_n1.mean() if len(at_n1) else np.nan
            row[f"{name}_after_others"] = others.mean() if len(others) else np.nan
        cycles_peaking = 0
        for _cycle, cyc in later.groupby("cycle"):
            n1 = cyc[cyc["node"] == 0]["accuracy"]
            rest = cyc[cyc["node"] != 0]["accuracy"]
            if len(n1) and len(rest) and n1.iloc[0] >= rest.max():
                cycles_peaking += 1
        row["cycles_from_C2_where_N1_peaks"] = f"{cycles_peaking}/{later['cycle'].nunique()}"
        rows.append(row)
    return pd.DataFrame(rows)


def insider_after_node(steps: pd.DataFrame) -> pd.DataFrame:
    """Per setting and seed: the insider on N1 right after N1 trained vs after the others.

    One row per (setting, seed) with, for accuracy, AUC and TPR at 1% FPR, the mean over
    the cycles from C2 on of the attack on N1's rows right after N1's step
    (``<metric>_after_N1``) and after the other nodes' steps (``<metric>_after_others``);
    the report gives their mean and 95% interval over seeds.
    """
    node_rows = _attacked_rows(steps)
    later = node_rows[node_rows["cycle"] >= 1]
    metrics = [m for m in PEAK_METRICS if m in later]
    rows = []
    for keys, run in later.groupby([*_SETTING, "seed"]):
        row = dict(zip([*_SETTING, "seed"], keys))
        for metric in metrics:
            name = PEAK_METRICS[metric]
            row[f"{name}_after_N1"] = run.loc[run["node"] == 0, metric].mean()
            row[f"{name}_after_others"] = run.loc[run["node"] != 0, metric].mean()
        rows.append(row)
    return pd.DataFrame(rows)
