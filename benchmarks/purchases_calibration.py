"""Test accuracy of the paper's MLP on Purchases-like data against the paper's Table I.

For each class count, ``make_purchases(n_samples=20_000, n_classes=c, random_state=seed)``
gives the rows; the paper's MLP (``TorchMLPClassifier()`` defaults: 600-128 tanh, dropout
0.2, Adam, learning rate 0.001, 100 epochs, batch 128) trains on the first ``--n-train``
rows and is scored on the last 5,000. The generator's defaults are calibrated so that, at
10,000 training rows, test accuracy lies within ±0.05 of the paper's (0.781, 0.726, 0.645,
0.567 for 10, 20, 50, 100 classes); ``--calibrated-for 5000 --n-train 5000`` measures the
earlier calibration.

Run from the repository root::

    python benchmarks/purchases_calibration.py
    python benchmarks/purchases_calibration.py --seeds 0 1 2 --classes 10 100
    python benchmarks/purchases_calibration.py --seeds 0 1 2 --classes 10 --knobs '{"n_groups": 20}'

``--knobs`` overrides the generator's calibrated knobs (a JSON object of
``make_purchases`` keyword arguments), to explore other calibrations.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skfedmia import TorchMLPClassifier  # noqa: E402
from skfedmia.datasets import make_purchases  # noqa: E402

PAPER_TEST_ACCURACY = {10: 0.781, 20: 0.726, 50: 0.645, 100: 0.567}


def measure(n_classes, *, seed, n_train, calibrated_for, epochs, knobs=None):
    X, y = make_purchases(
        n_samples=20_000,
        n_classes=n_classes,
        calibrated_for=calibrated_for,
        random_state=seed,
        **(knobs or {}),
    )
    model = TorchMLPClassifier(max_epochs=epochs, random_state=seed).fit(X[:n_train], y[:n_train])
    return model.score(X[:n_train], y[:n_train]), model.score(X[-5000:], y[-5000:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="+", default=[10, 20, 50, 100])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--calibrated-for", type=int, default=10_000, choices=[5_000, 10_000])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--knobs", type=json.loads, default={}, help="JSON object of make_purchases knobs"
    )
    args = parser.parse_args(argv)
    if not isinstance(args.knobs, dict):
        parser.error(f"--knobs must be a JSON object, got {args.knobs!r}")
    torch.set_num_threads(args.threads)
    print(
        f"make_purchases(calibrated_for={args.calibrated_for}, **{args.knobs}), "
        f"{args.n_train} training rows, "
        f"TorchMLPClassifier(max_epochs={args.epochs}); seeds {args.seeds}"
    )
    print("| classes | train accuracy | test accuracy | per seed | paper | difference |")
    print("| --- | --- | --- | --- | --- | --- |")
    start = time.perf_counter()
    for c in args.classes:
        runs = [
            measure(
                c,
                seed=s,
                n_train=args.n_train,
                calibrated_for=args.calibrated_for,
                epochs=args.epochs,
                knobs=args.knobs,
            )
            for s in args.seeds
        ]
        train, test = np.mean(runs, axis=0)
        paper = PAPER_TEST_ACCURACY.get(c, float("nan"))
        per_seed = " / ".join(f"{r[1]:.3f}" for r in runs)
        print(
            f"| {c} | {train:.3f} | {test:.3f} | {per_seed} | {paper:.3f} | {test - paper:+.3f} |",
            flush=True,
        )
    print(f"[{time.perf_counter() - start:.0f} s]")


if __name__ == "__main__":
    main()
