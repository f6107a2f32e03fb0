"""Markdown tables of the gradient-leakage benchmarks, written from their CSV files.

The guide (``docs/gradient_leakage.md``) shows these tables between the markers
``<!-- begin NAME -->`` and ``<!-- end NAME -->``; this script rewrites what lies
between them from ``NAME.csv``, so that the guide's numbers come from the runs and never
by hand:

    python benchmarks/gradient_leakage_tables.py --dir docs/results/gradient_leakage \
        --guide docs/gradient_leakage.md

Knows the noise, top-k and DP-SGD sweeps of ``gradient_leakage_sweep.py`` and the federations
of ``gradient_leakage_federated.py``.
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
    """``{(stage, batch, setting): {attack: row}}`` in the order of the CSV."""
    cells = defaultdict(dict)
    for r in rows:
        cells[(r["stage"], int(r["batch_size"]), float(r["noise"]))][r["attack"]] = r
    return cells


def _f1_cell(r):
    note = "closed form" if r["method"] == "analytic" else ""
    seconds = float(r["cpu_seconds"])
    return f"{float(r['f1']):.3f} ({seconds:.1f}{', ' + note if note else ''})"


def _summary(cells):
    """One generated sentence: in how many cells the defense-aware attack is not worse."""
    below = []
    for (stage, batch, setting), by in cells.items():
        p, a = float(by[PLAIN]["f1"]), float(by[AWARE]["f1"])
        if a < p - 1e-9:
            below.append(f"{stage}, batch {batch}, {setting:g}: {a:.4f} vs {p:.4f}")
    text = (
        f"\nThe defense-aware attack's F1 is at least the plain attack's in "
        f"{len(cells) - len(below)} of {len(cells)} cells"
    )
    return text + (f"; below it in: {'; '.join(below)}.\n" if below else ".\n")


def noise_table(rows):
    unrelaxed = "naive cosine, unrelaxed"
    out = []
    for (stage, batch, noise), by in _cells(rows).items():
        cells = [
            f"{float(by[a]['f1']):.2f} / {float(by[a]['accuracy']):.2f}"
            for a in (unrelaxed, PLAIN, AWARE)
        ]
        out.append([stage, batch, f"{noise:g}", *cells])
    header = ["stage", "batch", "noise / RMS", "cosine, unrelaxed", "cosine, sigmoid-relaxed"]
    return _table(header + ["defense-aware Bayes"], out) + _summary(_cells(rows))


def topk_table(rows):
    out = []
    for (stage, batch, frac), by in _cells(rows).items():
        p, a = by[PLAIN], by[AWARE]
        diff = float(a["f1"]) - float(p["f1"])
        out.append(
            [
                stage,
                batch,
                f"{frac:.0%}",
                _f1_cell(p),
                _f1_cell(a),
                f"{diff:+.4f}",
                int(float(a["label_count_error"])),
            ]
        )
    header = ["stage", "batch", "pruned", "plain", "defense-aware", "aware - plain"]
    return _table(header + ["label-count error"], out) + _summary(_cells(rows))


def dpsgd_table(rows):
    cells = _cells(rows)
    multipliers = sorted({k[2] for k in cells})
    grid = defaultdict(dict)
    for (stage, batch, mult), by in cells.items():
        p, a = by[PLAIN], by[AWARE]
        errors = {int(float(p["label_count_error"])), int(float(a["label_count_error"]))}
        grid[(stage, batch)][mult] = (
            f"{float(p['f1']):.2f} / {float(a['f1']):.2f} "
            f"({' / '.join(str(e) for e in sorted(errors))})"
        )
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


TABLES = {
    "gradient_leakage_sweep": noise_table,
    "gradient_leakage_sweep_topk": topk_table,
    "gradient_leakage_sweep_dpsgd": dpsgd_table,
    "gradient_leakage_federated": federated_table,
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
