"""Whether the paper's findings hold in a run: paired differences with 95% intervals.

Every finding compares two things that differ in one respect only, matched on everything
else (setting, seed and cycle), so that seed-to-seed spread cancels:

(a) the attack on N1 right after N1 trained vs after the other nodes of the same cycle,
    from the second cycle on;
(b) N1's attack after its own step with more local epochs vs fewer;
(c) the same with more nodes vs fewer;
(d) the same with more classes vs fewer;
(e) colluding insiders (models before and after N1's step) vs the single snapshot.

A finding *holds* when the 95% interval of the mean paired difference lies above 0, *does
not hold* when it lies at or below 0, and is *unclear* otherwise (or with fewer than two
pairs). The same rule per setting gives the number of settings where it holds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ._tables import per_seed_tables

__all__ = ["FINDINGS", "mean_interval", "verdicts", "verdicts_markdown"]

FINDINGS = {
    "a": "the attack on N1 peaks right after N1 trains (from C2 on)",
    "b": "more local epochs raise the attack on N1",
    "c": "more nodes raise the attack on N1",
    "d": "more classes raise the attack on N1",
    "e": "colluding insiders (before and after N1's step) learn more than one snapshot",
}
_SETTING = ["n_classes", "n_nodes", "local_epochs"]


def mean_interval(values, confidence=0.95):
    """Mean and two-sided Student-t interval of ``values`` (NaN bounds below 2 values).

    Examples
    --------
    >>> from skfedmia.experiments._verdicts import mean_interval
    >>> mean, low, high = mean_interval([0.1, 0.2, 0.3])
    >>> round(mean, 3), bool(low < mean < high)
    (0.2, True)
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return np.nan, np.nan, np.nan
    mean = float(values.mean())
    if n < 2:
        return mean, np.nan, np.nan
    sem = float(values.std(ddof=1)) / np.sqrt(n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sem
    return mean, mean - half, mean + half


def _verdict(low, high):
    if not np.isfinite(low) or not np.isfinite(high):
        return "unclear"
    if low > 0:
        return "holds"
    if high <= 0:
        return "does not hold"
    return "unclear"


def _attacked_node_rows(steps, attacked):
    rows = steps[steps["attacked"].astype(str) == str(attacked)]
    return rows[rows["cycle"] >= 1]


def _peak_units(steps, metric, attacked):
    """(a): per setting, seed and cycle, N1's step minus the mean of the other steps."""
    rows = _attacked_node_rows(steps, attacked)
    units = []
    for keys, cyc in rows.groupby([*_SETTING, "seed", "cycle"]):
        own = cyc.loc[cyc["node"] == attacked, metric]
        rest = cyc.loc[cyc["node"] != attacked, metric]
        if len(own) and len(rest):
            units.append((*keys[:3], float(own.mean() - rest.mean())))
    return pd.DataFrame(units, columns=[*_SETTING, "diff"])


def _level(steps, metric, attacked):
    """N1's attack right after its own steps, per setting, seed and cycle (from C2 on)."""
    rows = _attacked_node_rows(steps, attacked)
    rows = rows[rows["node"] == attacked]
    return rows.groupby([*_SETTING, "seed", "cycle"], as_index=False)[metric].mean()


def _factor_units(level, factor, metric):
    """Paired differences between consecutive values of ``factor``, all else matched."""
    others = [k for k in _SETTING if k != factor]
    values = sorted(level[factor].unique())
    units = []
    for low, high in zip(values[:-1], values[1:]):
        a = level[level[factor] == low].drop(columns=factor)
        b = level[level[factor] == high].drop(columns=factor)
        merged = a.merge(b, on=[*others, "seed", "cycle"], suffixes=("_low", "_high"))
        for _, row in merged.iterrows():
            units.append(
                {
                    **{k: row[k] for k in others},
                    factor: f"{low}->{high}",
                    "diff": row[f"{metric}_high"] - row[f"{metric}_low"],
                }
            )
    return pd.DataFrame(units, columns=[*_SETTING, "diff"])


def _summarise(key, units, statistic):
    mean, low, high = mean_interval(units["diff"]) if len(units) else (np.nan,) * 3
    holding = total = 0
    for _, group in units.groupby(_SETTING) if len(units) else ():
        total += 1
        _, g_low, g_high = mean_interval(group["diff"])
        if len(group) == 1:
            holding += int(group["diff"].iloc[0] > 0)
        else:
            holding += int(_verdict(g_low, g_high) == "holds")
    verdict = _verdict(low, high)
    return {
        "finding": key,
        "claim": FINDINGS[key],
        "verdict": verdict,
        "statistic": statistic,
        "mean_difference": mean,
        "ci_low": low,
        "ci_high": high,
        "n_pairs": int(len(units)),
        "settings_holding": holding,
        "settings": total,
    }


def verdicts(steps, *, metric="accuracy", attacked=0, collusion=None):
    """Each finding as holds / does not hold / unclear, with the statistic it rests on.

    Parameters
    ----------
    steps : pandas.DataFrame
        One row per (setting, seed, step, attacked set), with columns ``n_classes``,
        ``n_nodes``, ``local_epochs``, ``seed``, ``cycle``, ``node``, ``attacked`` and
        ``metric`` (the monitor's ``history_`` of every run, stacked).
    metric : str, default="accuracy"
        The attack metric compared (``"roc_auc"``, ``"tpr_at_1_fpr"`` ...).
    attacked : int, default=0
        The attacked node (N1 is 0).
    collusion : pandas.DataFrame, default=None
        For finding (e): one row per (setting, seed, cycle) with ``single`` and ``pair``
        values of the metric; without it (e) is left out.

    Returns
    -------
    table : pandas.DataFrame
        One row per finding: ``finding``, ``claim``, ``verdict``, ``statistic``,
        ``mean_difference``, ``ci_low``, ``ci_high``, ``n_pairs``, ``settings_holding``,
        ``settings``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skfedmia.experiments._verdicts import verdicts
    >>> rows = [dict(n_classes=10, n_nodes=3, local_epochs=100, seed=s, cycle=c, node=k,
    ...              attacked=0, accuracy=0.8 if k == 0 else 0.6)
    ...         for s in (0, 1) for c in (1, 2) for k in range(3)]
    >>> verdicts(pd.DataFrame(rows)).set_index("finding").loc["a", "verdict"]
    'holds'
    """
    steps = pd.DataFrame(steps)
    out = [
        _summarise(
            "a",
            _peak_units(steps, metric, attacked),
            f"{metric} after N1 minus mean after the other nodes, same cycle (C2 on)",
        )
    ]
    level = _level(steps, metric, attacked)
    for key, factor in (("b", "local_epochs"), ("c", "n_nodes"), ("d", "n_classes")):
        out.append(
            _summarise(
                key,
                _factor_units(level, factor, metric),
                f"{metric} after N1's step: next larger {factor} minus smaller, all else "
                "matched (C2 on)",
            )
        )
    if collusion is not None and len(collusion):
        units = pd.DataFrame(collusion)
        units = units.assign(diff=units["pair"] - units["single"])[[*_SETTING, "diff"]]
        out.append(
            _summarise("e", units, f"{metric} of the colluding pair minus the single snapshot")
        )
    return pd.DataFrame(out)


def verdicts_markdown(table) -> str:
    """The verdict table as Markdown lines (one finding a row)."""
    lines = [
        "| finding | verdict | mean paired difference [95% interval] | pairs | settings "
        "where it holds | statistic |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for _, r in pd.DataFrame(table).iterrows():
        interval = (
            f"{r['mean_difference']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
            if np.isfinite(r["ci_low"])
            else (f"{r['mean_difference']:+.3f}" if np.isfinite(r["mean_difference"]) else "-")
        )
        lines.append(
            f"| ({r['finding']}) {r['claim']} | **{r['verdict']}** | {interval} | "
            f"{r['n_pairs']} | {r['settings_holding']}/{r['settings']} | {r['statistic']} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------- report section
def _interval_text(values):
    mean, low, high = mean_interval(values)
    if not np.isfinite(mean):
        return ""
    if not np.isfinite(low):
        return f"{mean:.3f}"
    return f"{mean:.3f} ± {(high - low) / 2:.3f}"


def _seed_table(rows, group, columns):
    """Mean ± half-width of the 95% interval over seeds, one row per ``group``."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    out = []
    for keys, part in frame.groupby(group):
        keys = keys if isinstance(keys, tuple) else (keys,)
        row = dict(zip(group, keys))
        row["seeds"] = int(part["seed"].nunique())
        for col in columns:
            row[col] = _interval_text(part[col])
        out.append(row)
    return pd.DataFrame(out)


def _markdown(frame):
    if frame is None or len(frame) == 0:
        return "(none)\n"
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"

    def cell(v):
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:.3f}"
        return str(v)

    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def _paper_gap(ours, paper, on, pairs):
    """Mean absolute difference to the paper and cells within ±0.05, per column pair."""
    merged = ours.groupby(on, as_index=False).mean(numeric_only=True).merge(paper, on=on)
    lines = []
    for col in pairs:
        if col not in merged or f"{col}_paper" not in merged:
            continue
        diff = (merged[col] - merged[f"{col}_paper"]).abs().dropna()
        if diff.empty:
            continue
        lines.append(
            f"- `{col}`: mean absolute difference {diff.mean():.3f}; "
            f"{int((diff <= 0.05).sum())}/{len(diff)} cells within ±0.05."
        )
    return lines


def insider_report_lines(records, *, paper_table1=None, paper_table2=None):
    """Markdown for the report: seed intervals, paper gaps, verdicts and colluding insiders."""
    t = per_seed_tables(records)
    lines = ["## Seeds, intervals and verdicts", ""]
    lines += [
        "Every value below is the mean over seeds ± the half-width of its 95% Student-t "
        "interval (no interval with one seed).",
        "",
        "### Table I with intervals",
        "",
    ]
    cols1 = [
        "train_accuracy",
        "test_accuracy",
        "attack_accuracy",
        "attack_auc",
        "attack_tpr_at_1pct_fpr",
    ]
    lines.append(_markdown(_seed_table(t["centralized"], ["n_classes"], cols1)))
    group2 = ["n_classes", "n_nodes", "local_epochs"]
    cols2 = ["test_accuracy", "attack_accuracy", "attack_auc", "attack_tpr_at_1pct_fpr"]
    lines += ["### Table II with intervals (outsider, last step)", ""]
    lines.append(_markdown(_seed_table(t["final"], group2, cols2)))
    gaps = []
    if paper_table1 is not None and len(t["centralized"]):
        paper = paper_table1.rename(columns=lambda c: c if c == "n_classes" else c + "_paper")
        found = _paper_gap(
            t["centralized"].drop(columns="seed"),
            paper,
            ["n_classes"],
            ["test_accuracy", "attack_accuracy"],
        )
        gaps += [f"Table I {line[2:]}" for line in found]
    if paper_table2 is not None and len(t["final"]):
        paper = paper_table2.rename(columns=lambda c: c if c in group2 else c + "_paper")
        found = _paper_gap(
            t["final"].drop(columns="seed"), paper, group2, ["test_accuracy", "attack_accuracy"]
        )
        gaps += [f"Table II {line[2:]}" for line in found]
    if gaps:
        lines += ["### Against the paper (means over seeds)", "", *[f"- {g}" for g in gaps], ""]
    steps = t["steps"]
    if not steps.empty:
        node_steps = steps[steps["attacked"].astype(str) != "all"]
        strong = node_steps[node_steps["roc_auc"] >= 0.9]
        bad = strong[strong["accuracy"] < 0.75]
        lines += [
            "### Decisions calibrated at the step attacked",
            "",
            f"Insider steps with AUC ≥ 0.9: {len(strong)}; of these with attack accuracy "
            f"below 0.75: {len(bad)}"
            + (f" (lowest {bad['accuracy'].min():.3f})." if len(bad) else "."),
            "",
        ]
        if "accuracy_uncalibrated" in node_steps:
            lines += [
                f"Mean attack accuracy on N1's rows: {node_steps['accuracy'].mean():.3f} with "
                "thresholds re-set at every step, "
                f"{node_steps['accuracy_uncalibrated'].mean():.3f} with the attack's own "
                "threshold.",
                "",
            ]
        collusion = None
        if not t["collusion"].empty:
            c = t["collusion"]
            collusion = c.assign(single=c["single_roc_auc"], pair=c["pair_roc_auc"])
        for metric in ("accuracy", "roc_auc"):
            table = verdicts(
                steps, metric=metric, collusion=collusion if metric == "roc_auc" else None
            )
            lines += [f"### Findings on `{metric}`", "", verdicts_markdown(table), ""]
    if not t["collusion"].empty:
        c = t["collusion"]
        cols = [
            "single_roc_auc",
            "pair_roc_auc",
            "single_tpr_at_1_fpr",
            "pair_tpr_at_1_fpr",
            "single_accuracy",
            "pair_accuracy",
        ]
        lines += [
            "### Colluding insiders on N1's rows (steps of N1 from C2 on)",
            "",
            "Single snapshot: the attack on the model after N1's step. Pair: the insiders "
            "just before and after N1 also use the loss drop across the step.",
            "",
            _markdown(_seed_table(c, group2, cols)),
        ]
        gain = (c["pair_roc_auc"] - c["single_roc_auc"]).to_numpy()
        mean, low, high = mean_interval(gain)
        more = _verdict(low, high)
        lines += [
            f"Colluding insiders learn more than one snapshot: **{more}** (AUC pair minus "
            f"single {mean:+.3f}"
            + (f", 95% interval [{low:+.3f}, {high:+.3f}]" if np.isfinite(low) else "")
            + f"; pair ≥ single in {int((gain >= 0).sum())}/{len(gain)} N1 steps).",
            "",
        ]
    if not t["attribution"].empty:
        a = t["attribution"]
        lines += [
            "### Node attribution (which node held a member record), per cycle from C2",
            "",
            _markdown(_seed_table(a, group2, ["accuracy", "chance"])),
        ]
    return lines
