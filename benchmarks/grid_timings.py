"""What a stored reproduction cost: its cells' wall-clock seconds, summed and per kind.

Reads ``timings.csv`` of a ``skfedmia reproduce`` output folder (written with its report:
one row per cell, the seconds that cell took where it ran) and prints, per kind of cell
(centralized baseline, federation at each number of local epochs), the number of cells,
their median and their sum, then the whole run's cell time and what it comes to at
``--workers`` cells at once (a lower bound on the wall time: it assumes the cells keep
every worker busy).

``--floor`` adds what the run's training of the paper's MLP alone costs, a lower bound
on any implementation of the protocol on this machine: the row-epochs every cell trains
(the target or federation, the insider monitor's shadow federation, the shadow models;
counted from the run's ``config.json``) times the seconds per row-epoch measured here, in
this run, on the lean training path of a node step (one model) and of the stacked shadow
models (ten at once), one torch thread, for each class count.

Run from the repository root::

    python benchmarks/grid_timings.py docs/results/reproduction/purchases-like --workers 2
    python benchmarks/grid_timings.py docs/results/reproduction/purchases-like --floor
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="output folder of skfedmia reproduce")
    parser.add_argument("--workers", type=int, default=2, help="cells at once (default: 2)")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure what training the paper's MLP alone costs in this run",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timings per class count")
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
    if args.floor:
        config_path = args.folder / "config.json"
        if not config_path.is_file():
            parser.error(f"{config_path} does not exist: --floor counts the run's cells from it")
        floor(json.loads(config_path.read_text(encoding="utf-8")), args.workers, args.repeats)


def row_epochs(spec, pools):
    """Row-epochs of the paper's MLP one cell trains: ``{"single": n, "stacked": n}``.

    ``single``: models trained alone (the centralized target, the federation's node steps,
    the monitor's shadow federation); ``stacked``: the shadow models, trained together.
    Mirrors ``skfedmia/experiments/_cells.py`` and the monitor's step calibration.
    """
    n_target, n_shadow, _ = pools
    shadows = spec["n_shadow_models"]
    if spec["kind"] == "centralized":
        epochs = spec["epochs"]
        size = min(n_target, n_shadow // 2)
        return {"single": n_target * epochs, "stacked": shadows * size * epochs}
    nodes, epochs, cycles = spec["n_nodes"], spec["local_epochs"], spec["n_cycles"]
    node_rows = n_target // nodes
    # the monitor's shadow federation: one set of pool rows per node, after held-back
    # non-members, shrunk alike when the pool is short
    held_back = min(node_rows + (n_target % nodes > 0), n_shadow // 3)
    scale = min(1.0, (n_shadow - held_back) / n_target)
    federation = n_target * epochs * cycles
    shadow_federation = int(n_target * scale) * epochs * cycles
    size = min(node_rows, n_shadow // 2)
    return {"single": federation + shadow_federation, "stacked": shadows * size * epochs}


def _seconds_per_row_epoch(n_classes, n_rows, batch_size, repeats, n_models=1):
    """Median seconds per row-epoch of the paper's MLP on ``n_rows`` Purchases-like rows."""
    import numpy as np
    import torch

    from skfedmia.datasets import make_purchases
    from skfedmia.federated._sequential import train_node_epochs
    from skfedmia.neural_net import TorchMLPClassifier, fit_mlp_ensemble

    torch.set_num_threads(1)
    X, y = make_purchases(n_samples=n_rows, n_classes=n_classes, random_state=0)
    classes = np.arange(n_classes)
    epochs = 2
    runs = []
    for r in range(-1, repeats):  # the first run warms up and is not counted
        model = TorchMLPClassifier(max_epochs=epochs, batch_size=batch_size, random_state=max(r, 0))
        start = time.process_time()
        if n_models == 1:
            train_node_epochs(model, X, y, epochs=epochs, classes=classes)
        else:
            fit_mlp_ensemble(
                model, [(X, y)] * n_models, random_states=list(range(n_models)), classes=classes
            )
        if r >= 0:
            runs.append((time.process_time() - start) / (n_rows * epochs * n_models))
    return statistics.median(runs)


def floor(config, workers, repeats):
    """Print the run's training cost of the paper's MLP, measured per row-epoch here."""
    from skfedmia.experiments import ReproductionConfig, iter_cells

    run = ReproductionConfig(**config)
    pools = run.pools()
    work = defaultdict(lambda: {"single": 0, "stacked": 0})
    for spec in iter_cells(run):
        for path, n in row_epochs(spec, pools).items():
            work[spec["n_classes"]][path] += n
    print()
    print("Training the paper's MLP alone (CPU seconds per row-epoch measured in this run):")
    print("| classes | row-epochs alone | s / row-epoch | row-epochs stacked | s / row-epoch | s |")
    print("| --- | --- | --- | --- | --- | --- |")
    total = 0.0
    for n_classes in sorted(work):
        single = _seconds_per_row_epoch(n_classes, 10_000, run.batch_size, repeats)
        stacked = _seconds_per_row_epoch(n_classes, 5_000, run.batch_size, repeats, n_models=10)
        w = work[n_classes]
        seconds = w["single"] * single + w["stacked"] * stacked
        total += seconds
        print(
            f"| {n_classes} | {w['single']:,} | {single * 1e6:.2f} us | {w['stacked']:,} | "
            f"{stacked * 1e6:.2f} us | {seconds:.0f} |"
        )
    print(
        f"training alone: {total / 3600:.2f} h of one core; at {workers} cores at least "
        f"{total / workers / 60:.0f} min of wall time"
    )


if __name__ == "__main__":
    main()
