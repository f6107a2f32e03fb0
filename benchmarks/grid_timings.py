"""What a stored reproduction cost: its cells' wall-clock seconds, summed and per kind.

Reads ``timings.csv`` of a ``skfedmia reproduce`` output folder (written with its report:
one row per cell, the seconds that cell took where it ran) and prints, per kind of cell
(centralized baseline, federation at each number of local epochs), the number of cells,
their median and their sum, then the whole run's cell time and what it comes to at
``--workers`` cells at once (a lower bound on the wall time: it assumes the cells keep
every worker busy).

Run from the repository root::

    python benchmarks/grid_timings.py docs/results/reproduction/purchases-like --workers 2
"""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="output folder of skfedmia reproduce")
    parser.add_argument("--workers", type=int, default=2, help="cells at once (default: 2)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    path = args.folder / "timings.csv"
    if not path.is_file():
        parser.error(f"{path} does not exist: give the output folder of skfedmia reproduce")
    groups = defaultdict(list)
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            kind = row["kind"]
            if kind == "federated":
                kind = f"federated, {int(float(row['local_epochs']))} local epochs"
            groups[kind].append(float(row["seconds"]))
    print(f"{path}")
    print("| cells | n | median s | sum s |")
    print("| --- | --- | --- | --- |")
    total = 0.0
    for kind in sorted(groups):
        seconds = groups[kind]
        total += sum(seconds)
        median = statistics.median(seconds)
        print(f"| {kind} | {len(seconds)} | {median:.0f} | {sum(seconds):.0f} |")
    n = sum(len(s) for s in groups.values())
    print(f"| all | {n} | | {total:.0f} |")
    print(
        f"cell time {total / 3600:.2f} h; at {args.workers} cells at once at least "
        f"{total / args.workers / 60:.0f} min of wall time"
    )


if __name__ == "__main__":
    main()
