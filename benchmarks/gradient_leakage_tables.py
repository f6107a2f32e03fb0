"""Markdown tables of the gradient-leakage benchmarks, written from their CSV files.

The guide (``docs/gradient_leakage.md``) shows these tables between the markers
``<!-- begin NAME -->`` and ``<!-- end NAME -->``; this script rewrites what lies
between them from ``NAME.csv``, so that the guide's numbers come from the runs and never
by hand:

    python benchmarks/gradient_leakage_tables.py --dir docs/results/gradient_leakage \
        --guide docs/gradient_leakage.md

Knows the noise, top-k and DP-SGD sweeps of ``gradient_leakage_sweep.py``, the federations
of ``gradient_leakage_federated.py`` and the mixed-type table of
``gradient_leakage_tabular.py``.
"""

from __future__ import annotations

import argparse
import csv
import os
from collections import defaultdict

PLAIN, AWARE = "naive (cosine)", "defense-aware (bayes)"


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cells(rows):
    """``{(stage, batch, setting): {attack: [row per node batch]}}`` in the order of the CSV.

    A sweep run with ``--n-batches N`` has N rows per attack and cell (different node
    records); earlier files have one.
    """
    cells = defaultdict(lambda: defaultdict(list))
    for r in rows:
        cells[(r["stage"], int(r["batch_size"]), float(r["noise"]))][r["attack"]].append(r)
    return cells


def _mean(rows, key):
    return sum(float(r[key]) for r in rows) / len(rows)


def _f1_cell(rows):
    """Mean F1 over the cell's batches, with CPU seconds (and the closed form, if used)."""
    note = "closed form" if all(r["method"] == "analytic" for r in rows) else ""
    seconds = _mean(rows, "cpu_seconds")
    return f"{_mean(rows, 'f1'):.3f} ({seconds:.1f}{', ' + note if note else ''})"


def _summary(cells):
    """Generated sentences: in how many cells (and node batches) the defense-aware attack
    is not worse than the plain one."""
    below, pairs, pairs_below, closest = [], 0, 0, None
    for (stage, batch, setting), by in cells.items():
        p, a = _mean(by[PLAIN], "f1"), _mean(by[AWARE], "f1")
        plain = {r.get("batch", "0"): float(r["f1"]) for r in by[PLAIN]}
        diffs = [float(r["f1"]) - plain[r.get("batch", "0")] for r in by[AWARE]]
        text = f"{stage}, batch {batch}, {setting:g}: {a:.4f} vs {p:.4f}"
        text += _paired_interval(diffs)
        if a < p - 1e-9:
            below.append(text)
        elif any(d < -1e-9 for d in diffs) and (closest is None or a - p < closest[0]):
            closest = (a - p, text)
        pairs += len(diffs)
        pairs_below += sum(d < -1e-9 for d in diffs)
    n_batches = max(len(by[AWARE]) for by in cells.values())
    text = (
        f"\nThe defense-aware attack's F1 is at least the plain attack's in "
        f"{len(cells) - len(below)} of {len(cells)} cells"
    )
    if n_batches > 1:
        text += f" (mean over {n_batches} node batches per cell)"
    text += f"; below it in: {'; '.join(below)}.\n" if below else ".\n"
    if n_batches > 1:
        text += (
            f"Batch by batch, it is at least the plain attack's in {pairs - pairs_below} "
            f"of {pairs} attacks.\n"
        )
        if closest is not None and not below:
            text += f"Narrowest margin of a cell with a batch below: {closest[1]}.\n"
    return text


def _paired_interval(diffs):
    """`` (difference -0.002, 95% interval [-0.008, 0.004] over 4 batches)``, or ``""``."""
    if len(diffs) < 2:
        return ""
    from skfedmia.experiments._verdicts import mean_interval

    mean, low, high = mean_interval(diffs)
    return (
        f" (difference {mean:+.4f}, 95% interval [{low:+.4f}, {high:+.4f}] "
        f"over {len(diffs)} batches)"
    )


def noise_table(rows):
    unrelaxed = "naive cosine, unrelaxed"
    out = []
    for (stage, batch, noise), by in _cells(rows).items():
        cells = [
            f"{_mean(by[a], 'f1'):.2f} / {_mean(by[a], 'accuracy'):.2f}"
            for a in (unrelaxed, PLAIN, AWARE)
        ]
        out.append([stage, batch, f"{noise:g}", *cells])
    header = ["stage", "batch", "noise / RMS", "cosine, unrelaxed", "cosine, sigmoid-relaxed"]
    return _table(header + ["defense-aware Bayes"], out) + _summary(_cells(rows))


def topk_table(rows):
    out = []
    for (stage, batch, frac), by in _cells(rows).items():
        p, a = by[PLAIN], by[AWARE]
        diff = _mean(a, "f1") - _mean(p, "f1")
        errors = [int(float(r["label_count_error"])) for r in a]
        out.append(
            [
                stage,
                batch,
                f"{frac:.0%}",
                _f1_cell(p),
                _f1_cell(a),
                f"{diff:+.4f}",
                max(errors),
            ]
        )
    header = ["stage", "batch", "pruned", "plain", "defense-aware", "aware - plain"]
    return _table(header + ["label-count error (max)"], out) + _summary(_cells(rows))


def dpsgd_table(rows):
    cells = _cells(rows)
    multipliers = sorted({k[2] for k in cells})
    grid = defaultdict(dict)
    for (stage, batch, mult), by in cells.items():
        p, a = by[PLAIN], by[AWARE]
        errors = [int(float(r["label_count_error"])) for r in (*p, *a)]
        grid[(stage, batch)][mult] = f"{_mean(p, 'f1'):.2f} / {_mean(a, 'f1'):.2f} ({max(errors)})"
    header = ["stage", "batch"] + [f"multiplier {m:g}" for m in multipliers]
    out = [[s, b] + [g.get(m, "") for m in multipliers] for (s, b), g in grid.items()]
    return _table(header, out) + _summary(cells)


def federated_table(rows):
    out = [
        [
            r["federation"],
            r["optimizer"],
            r["dropout"],
            r["defense"],
            f"{float(r['f1_median']):.2f}",
            f"{float(r['f1_min']):.2f}",
            f"{float(r['marginal_f1']):.2f}",
            int(float(r["label_count_error"])),
            r["cpu_seconds_median"],
        ]
        for r in rows
    ]
    header = ["federation", "optimizer", "dropout", "defense", "median F1", "min F1"]
    header += ["marginal F1", "max label-count error", "CPU s / step"]
    return _table(header, out)


MIXED, SAME_SEARCH, IG = "mixed (this attack)", "cosine, same search", "inverting gradients"


def tabular_table(rows):
    """The mixed-type benchmark (``gradient_leakage_tabular.py``): mean over its batches,
    with the goals at batch 8 and 32 judged per training stage."""
    cells = defaultdict(lambda: defaultdict(list))
    for r in rows:
        cells[(int(r["epochs"]), int(r["batch_size"]))][r["attack"]].append(r)
    present = [a for a in (MIXED, SAME_SEARCH, IG) if any(a in by for by in cells.values())]
    out, goals = [], []
    for (epochs, batch), by in cells.items():
        stage = "untrained" if epochs == 0 else f"{epochs} epochs"
        mixed = by[MIXED]
        # undefined (empty or NaN) where every feature was right
        auc = [v for v in (float(r["confidence_auc"] or "nan") for r in mixed) if v == v]
        out.append(
            [
                stage,
                batch,
                *(f"{_mean(by[a], 'accuracy'):.3f}" if by[a] else "" for a in present),
                f"{_mean(mixed, 'random_accuracy'):.3f}",
                f"{_mean(mixed, 'mode_accuracy'):.3f}",
                f"{sum(auc) / len(auc):.2f}" if auc else "n/a (no wrong feature)",
                " / ".join(f"{_mean(by[a], 'cpu_seconds'):.0f}" if by[a] else "" for a in present),
            ]
        )
        this = _mean(mixed, "accuracy")
        if batch == 8:
            verdict = "met" if this >= 0.95 else "missed"
            goals.append(f"- {stage}, batch 8, at least 0.95: {this:.3f}, **{verdict}**")
        if batch == 32:
            for name, label in ((IG, "Inverting Gradients"), (SAME_SEARCH, "cosine, same search")):
                if by[name]:
                    gap = this - _mean(by[name], "accuracy")
                    verdict = "met" if gap >= 0.10 else "missed"
                    goals.append(
                        f"- {stage}, batch 32, 10 points above {label}: {gap:+.3f}, **{verdict}**"
                    )
            gap = this - _mean(mixed, "random_accuracy")
            verdict = "met" if gap >= 0.10 else "missed"
            goals.append(
                f"- {stage}, batch 32, 10 points above random records: {gap:+.3f}, **{verdict}**"
            )
    columns = {MIXED: "this attack (mixed)", SAME_SEARCH: "cosine, same search"}
    columns[IG] = "Inverting Gradients"
    short = {**columns, IG: "IG"}
    header = ["stage", "batch", *(columns[a] for a in present), "random records", "mode"]
    header += ["confidence AUC", "CPU s (" + " / ".join(short[a] for a in present) + ")"]
    n_batches = max(len(by[MIXED]) for by in cells.values())
    return (
        _table(header, out)
        + f"\nShare of features right, mean over {n_batches} batches per cell. Goals:\n\n"
        + "\n".join(goals)
        + "\n"
    )


TABLES = {
    "gradient_leakage_sweep": noise_table,
    "gradient_leakage_sweep_topk": topk_table,
    "gradient_leakage_sweep_dpsgd": dpsgd_table,
    "gradient_leakage_federated": federated_table,
    "gradient_leakage_tabular": tabular_table,
}


def fill(guide_text, name, table):
    """``guide_text`` with the text between the markers of ``name`` replaced by ``table``."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    if begin not in guide_text or end not in guide_text:
        raise ValueError(f"the guide has no markers {begin!r} ... {end!r}.")
    head, rest = guide_text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{table}{end}{tail}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="docs/results/gradient_leakage", help="CSV folder")
    parser.add_argument("--guide", default="docs/gradient_leakage.md", help="page to fill")
    args = parser.parse_args(argv)
    with open(args.guide) as fh:
        text = fh.read()
    for name, make in TABLES.items():
        path = os.path.join(args.dir, f"{name}.csv")
        if os.path.exists(path):
            text = fill(text, name, make(_read(path)))
            print(f"filled {name}")
    with open(args.guide, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
