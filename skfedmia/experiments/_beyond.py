"""The report's "Beyond the paper" section: offline LiRA and RMIA beside the paper's attack."""

from __future__ import annotations

import pandas as pd

from ._tables import BEYOND_ATTACKS, beyond_cells, per_seed_tables
from ._verdicts import _markdown, _seed_table

__all__ = ["beyond_report_lines"]

_SETTING = ["n_classes", "n_nodes", "local_epochs"]
#: (column of the paper's attack, suffix of the beyond columns) compared in the tables
_COMPARED = [
    ("attack_auc", "auc"),
    ("attack_tpr_at_1pct_fpr", "tpr_at_1pct_fpr"),
]
#: the same for the monitor's per-step records
_STEP_COMPARED = [("roc_auc", "roc_auc"), ("tpr_at_1_fpr", "tpr_at_1_fpr")]


def _columns(compared, *, low=True):
    cols = []
    for paper, suffix in compared:
        cols += [paper, *(f"{attack}_{suffix}" for attack in BEYOND_ATTACKS)]
    if low:
        cols += [f"{attack}_tpr_at_0_1pct_fpr" for attack in BEYOND_ATTACKS]
    return cols


def _with_beyond(frame, column):
    """The rows that hold the beyond-the-paper figures (cells stored since they exist)."""
    if frame.empty or column not in frame:
        return frame.iloc[0:0]
    return frame[frame[column].notna()]


def _references_text(records):
    """How the centralized cells' references were trained, from their stored results."""
    found = sorted(
        {
            (r["n_models"], r["rows_each"], r["pool_rows"])
            for rec in records
            if rec["spec"]["kind"] == "centralized"
            for r in [rec["result"].get("reference_models")]
            if r is not None
        }
    )
    if not found:
        return "the shadow attack's shadow models"
    parts = [f"{n} models of {rows} rows each from a {pool}-row pool" for n, rows, pool in found]
    return "the shadow attack's own shadow models (" + "; ".join(parts) + ")"


def _wins(frame, paper, suffix):
    """``attack -> (cells where it beats the paper's attack, cells compared)``."""
    out = {}
    for attack in BEYOND_ATTACKS:
        both = frame[[paper, f"{attack}_{suffix}"]].dropna()
        out[attack] = (int((both[f"{attack}_{suffix}"] > both[paper]).sum()), len(both))
    return out


def _summary(name, frame, unit="cells"):
    """One generated sentence comparing the three attacks' means on the same cells."""
    if frame.empty:
        return []
    parts = []
    for paper, suffix in _COMPARED:
        means = [f"paper's attack {frame[paper].mean():.3f}"]
        means += [
            f"{label.split(' ')[0]} {frame[f'{attack}_{suffix}'].mean():.3f}"
            for attack, label in BEYOND_ATTACKS.items()
        ]
        wins = _wins(frame, paper, suffix)
        beat = ", ".join(
            f"{BEYOND_ATTACKS[a].split(' ')[0]} above it in {k}/{n}" for a, (k, n) in wins.items()
        )
        metric = "AUC" if suffix == "auc" else "TPR at 1% FPR"
        parts.append(f"{metric}: {', '.join(means)} ({beat})")
    unit = unit if len(frame) != 1 else unit[:-1]
    return [f"- {name} ({len(frame)} {unit}): " + "; ".join(parts) + "."]


def beyond_report_lines(records):
    """Markdown lines of the report's "Beyond the paper" section.

    What offline LiRA and RMIA are, which reference models they used, on how many cells
    their columns rest (cells stored before them lack them), and their figures beside the
    paper's attack on the same cells: Table I, Table II and the insider at N1's steps.

    Parameters
    ----------
    records : list of dict
        Cell records, as :func:`run_reproduction` returns them.
    """
    counts = beyond_cells(records)
    (c_with, c_all), (f_with, f_all) = counts["centralized"], counts["federated"]
    lines = [
        "## Beyond the paper: offline LiRA and RMIA",
        "",
        "Two attacks from after the paper score the same rows as its shadow-model attack, "
        "each against *reference models* trained like the target on the attacker's pool: "
        "the likelihood-ratio attack (LiRA, Carlini et al. 2022), which tests the target's "
        "logit-scaled confidence in a record's label against the reference models' "
        "confidence on that record, and RMIA (Zarifzadeh, Liu & Shokri 2024), which "
        "compares the target's probability of the label with the reference models' "
        "(the record's probability under models that did not see it). Both run *offline*: "
        "no reference model trained on an attacked record. They train no model of their "
        "own: they reuse models each cell trains anyway, and draw nothing random, so every "
        "other figure of a cell is the same with or without them.",
        "",
        f"- References of the centralized baseline (Table I): {_references_text(records)}, "
        "each trained like the target on rows of the attacker's pool; the evaluated rows "
        "(training rows and held-out rows) are in none of them. With two or more references "
        "LiRA keeps the offline test that ranks the pool's rows best with each reference "
        "in turn playing the target (its default: the in-Gaussian learned from the pool, "
        "the same with one deviation shared with the out-Gaussian, or the paper's "
        "one-sided test); RMIA tunes its offline correction and temperature the same way.",
        "- References of a federation (Table II and N1's steps): one per step attacked, "
        "right after each of N1's steps and after the last step (the outsider's final "
        "model), the insider's shadow federation at that very step (pool rows split into "
        "shadow nodes "
        "of the nodes' sizes, trained in the same order with the same local epochs): its "
        "nodes' rows so far are its members, the rest of the pool its non-members. With "
        "one reference LiRA uses its one-sided test over one global deviation of the "
        "pool's out-statistics; RMIA tunes its correction with the attacked model as an "
        "out-model of the pool. The shadow attack's own shadow models are not used there: "
        "they imitate one node step from a fresh model, i.e. the first step only, and "
        "would put that step on another footing than the later ones.",
        "- Columns: `lira_*` and `rmia_*` (AUC, TPR at 1% and 0.1% FPR) in "
        "`table1_centralized`, `table2_final_cycle` and `steps` (`lira_roc_auc`, "
        "`lira_tpr_at_1_fpr`, ... in the records right after N1's steps and the last step, "
        "empty at the other steps).",
        "",
        f"These columns rest on **{c_with} of {c_all} centralized cells and {f_with} of "
        f"{f_all} federated cells**; cells stored before these columns existed lack them "
        "(empty in the tables"
        + (
            ", and left out of the comparisons below, which use only cells holding all "
            "three attacks)."
            if c_with or f_with
            else "; a cell computed again, e.g. into another output folder, holds them)."
        ),
        "",
    ]
    if not c_with and not f_with:
        return lines
    t = per_seed_tables(records)
    central = _with_beyond(t["centralized"], "lira_auc")
    final = _with_beyond(t["final"], "lira_auc")
    lines += ["Means over the cells holding them (mean ± 95% half-width over seeds):", ""]
    if len(central):
        lines += [
            "### Table I beside LiRA and RMIA",
            "",
            _markdown(_seed_table(central, ["n_classes"], _columns(_COMPARED))),
        ]
    if len(final):
        lines += [
            "### Table II beside LiRA and RMIA (outsider, last step)",
            "",
            _markdown(_seed_table(final, _SETTING, _columns(_COMPARED))),
        ]
    steps = _with_beyond(t["steps"], "lira_roc_auc")
    n1 = pd.DataFrame()
    if len(steps):
        own = steps[(steps["attacked"].astype(str) == "0") & (steps["node"] == 0)]
        cols = _columns(_STEP_COMPARED, low=False)
        n1 = own.groupby([*_SETTING, "seed"], as_index=False)[cols].mean()
        lines += [
            "### Insider on N1's rows right after N1 trained (all of N1's steps)",
            "",
            _markdown(_seed_table(n1, _SETTING, cols)),
        ]
    summary = _summary("Centralized baseline", central) + _summary("Outsider, last step", final)
    if len(n1):
        renamed = n1.rename(
            columns={
                "roc_auc": "attack_auc",
                "tpr_at_1_fpr": "attack_tpr_at_1pct_fpr",
                **{f"{a}_roc_auc": f"{a}_auc" for a in BEYOND_ATTACKS},
                **{f"{a}_tpr_at_1_fpr": f"{a}_tpr_at_1pct_fpr" for a in BEYOND_ATTACKS},
            }
        )
        summary += _summary("Insider on N1 right after N1's steps", renamed, "runs")
    if summary:
        lines += [
            "Against the paper's attack, per cell (numbers generated from the cells above):",
            "",
            *summary,
            "",
        ]
    return lines
