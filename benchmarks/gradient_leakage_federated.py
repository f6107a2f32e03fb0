"""Gradient leakage from inside a federation: a node hook reconstructs every node's rows.

Purchases-like sparse binary rows (100 features, 4 classes) are split over three nodes
of 8 rows; the model (one hidden layer of 64 tanh units) visits every node twice. After
every node step :class:`~skfedmia.attacks.gradient_leakage.GradientLeakageRecorder`
replays the node's local training on dummy records and scores the reconstruction. The
settings compare what the replay assumes with what the node did: SGD or Adam (the
default of :class:`~skfedmia.TorchMLPClassifier`), without dropout or with the default
dropout 0.2 (the replay searches for the masks), in the sequential federation and in
federated averaging, the latter also under top-k pruning of the update (modelled).

    python benchmarks/gradient_leakage_federated.py --out docs/results/gradient_leakage

``--settings 6`` reruns only the seventh setting (indices into the list below) and
replaces its row in an existing CSV, keeping the others.
"""

from __future__ import annotations

import argparse
import csv
import os

import numpy as np
import torch
from _leakage_common import write_rows

from skfedmia import (
    FederatedAveragingClassifier,
    SequentialFederatedClassifier,
    TorchMLPClassifier,
)
from skfedmia.attacks.gradient_leakage import GradientInversionAttack, GradientLeakageRecorder
from skfedmia.attacks.gradient_leakage._synthetic import make_sparse_binary
from skfedmia.defenses import TopKSparsification


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmark_results", help="output folder")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--settings", type=int, nargs="+", help="indices of settings to run")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    X, y = make_sparse_binary(1024, 100, n_groups=4, n_active=12, random_state=0)
    X_pub, X_fed, y_fed = X[:1000], X[1000:], y[1000:]
    settings = [
        ("sequential", "sgd", 0.0, None),
        ("sequential", "sgd", 0.2, None),
        ("sequential", "adam", 0.0, None),
        ("sequential", "adam", 0.2, None),
        ("averaging", "sgd", 0.0, None),
        ("averaging", "sgd", 0.2, None),
        ("averaging", "sgd", 0.0, "topk 50%"),
    ]
    os.makedirs(args.out, exist_ok=True)
    rows = []
    kept = {}
    if args.settings is not None:
        if not all(0 <= i < len(settings) for i in args.settings):
            raise ValueError(f"--settings must be indices below {len(settings)}.")
        path = os.path.join(args.out, "gradient_leakage_federated.csv")
        if os.path.exists(path):
            with open(path, newline="") as fh:
                kept = {_key(r): r for r in csv.DictReader(fh)}
        settings = [settings[i] for i in args.settings]
    for federation, optimizer, dropout, defense in settings:
        net = TorchMLPClassifier(
            hidden_layer_sizes=(64,),
            dropout=dropout,
            optimizer=torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam,
            lr=0.1 if optimizer == "sgd" else 0.001,
            random_state=0,
        )
        recorder = GradientLeakageRecorder(
            GradientInversionAttack(n_restarts=2, max_iter=300, refine_iter=500, random_state=0),
            X_public=X_pub,
        )
        kw = dict(n_nodes=3, callbacks=[recorder], random_state=0)
        if defense is not None:
            kw["update_defense"] = TopKSparsification(fraction=0.5)
        if federation == "sequential":
            SequentialFederatedClassifier(net, n_cycles=2, **kw).fit(X_fed, y_fed)
        else:
            FederatedAveragingClassifier(net, n_rounds=2, **kw).fit(X_fed, y_fed)
        row = dict(
            federation=federation,
            optimizer=optimizer,
            dropout=dropout,
            defense=defense or "none",
            node_steps=len(recorder.records_),
            f1_median=round(float(np.median(recorder.history("f1"))), 4),
            f1_min=round(float(np.min(recorder.history("f1"))), 4),
            marginal_f1=round(float(np.median(recorder.history("marginal_f1"))), 4),
            label_count_error=float(np.max(recorder.history("label_count_error"))),
            cpu_seconds_median=round(float(np.median(recorder.history("cpu_seconds"))), 1),
            assumptions="; ".join(recorder.records_[0]["assumptions"]) or "none",
        )
        rows.append(row)
        print(row, flush=True)
        kept[_key(row)] = row
        # after every setting: a long run keeps what it did
        path = write(list(kept.values()) if args.settings is not None else rows, args.out)
    print(f"wrote {path}")


def _key(row):
    return (row["federation"], row["optimizer"], float(row["dropout"]), row["defense"])


def write(rows, out):
    return write_rows(rows, os.path.join(out, "gradient_leakage_federated.csv"))


if __name__ == "__main__":
    main()
