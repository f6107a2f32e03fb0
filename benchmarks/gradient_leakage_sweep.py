"""Gradient leakage sweep: reconstruction quality vs batch size, training stage and noise.

For the paper's target MLP (600-128 tanh, 100 classes) on Purchases-like binary data, the
naive attack (cosine matching, Inverting Gradients) and the defense-aware Bayesian attack
(Gaussian likelihood of the known noise plus the fitted Bernoulli prior) reconstruct a
batch from a gradient protected by Gaussian noise of increasing strength. Noise is given
relative to the root mean square of the clean gradient's coordinates.

Writes ``gradient_leakage_sweep.csv`` and ``gradient_leakage_sweep.png`` to ``--out``.

``--defense topk`` sweeps top-k pruning instead (``--noise`` then lists the pruned
fractions, default 0.5 and 0.9) and ``--defense dpsgd`` DP-SGD (``--noise`` lists noise
multipliers; clipping norm 1); the plain attack ignores the defense (cosine matching),
the defense-aware one models it (``loss="bayes"``). Their files end in ``_topk`` /
``_dpsgd``.

    python benchmarks/gradient_leakage_sweep.py --quick      # a few minutes on a CPU
    python benchmarks/gradient_leakage_sweep.py              # the full grid (hours on a CPU)
    python benchmarks/gradient_leakage_sweep.py --batch-sizes 1 8 32 --noise 0 1 10

``--n-batches N`` attacks N batches of different node records per cell (the plot shows
their mean F1).

Three attacks per cell: the naive cosine attack unrelaxed (``prior="none"``: continuous
dummy records, rounded at 0.5), the naive cosine attack with the sigmoid relaxation of
binary features, and the defense-aware Bayesian attack.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from _leakage_common import train_adam, write_rows

from skfedmia.attacks.gradient_leakage import GradientInversionAttack, compute_gradient
from skfedmia.datasets import make_purchases
from skfedmia.defenses import DPSGD, GaussianNoise, TopKSparsification
from skfedmia.neural_net import MLPModule


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grid, few iterations")
    parser.add_argument("--out", default="benchmark_results", help="output folder")
    parser.add_argument("--batch-sizes", type=int, nargs="+", help="override the grid's")
    parser.add_argument("--noise", type=float, nargs="+", help="override the grid's")
    parser.add_argument("--max-iter", type=int, help="override Adam iterations")
    parser.add_argument("--refine-iter", type=int, help="override L-BFGS iterations")
    parser.add_argument(
        "--stages", nargs="+", help="training stages to keep, e.g. untrained '1 epoch'"
    )
    parser.add_argument(
        "--n-batches",
        type=int,
        default=1,
        help="node batches per cell (different records; 1: the first records only)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--defense", choices=["noise", "topk", "dpsgd"], default="noise", help="defense swept"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))

    if args.quick:
        batch_sizes, stages, noise = [1, 8], {"untrained": 0, "1 epoch": 1}, [0.0, 1.0, 10.0]
        attack_kw = dict(n_restarts=1, max_iter=100, refine_iter=20)
    else:
        batch_sizes = [1, 8, 32, 128]
        stages = {"untrained": 0, "1 epoch": 1, "20 epochs": 20}
        noise = [0.0, 0.3, 1.0, 3.0, 10.0, 30.0]
        attack_kw = dict(n_restarts=2, max_iter=500, refine_iter=300)
    batch_sizes = args.batch_sizes or batch_sizes
    if args.stages:
        stages = {k: v for k, v in stages.items() if k in args.stages}
    if args.defense == "topk":
        noise = [0.5, 0.9]
    elif args.defense == "dpsgd":
        noise = [0.01, 0.1, 1.0]
    noise = args.noise if args.noise is not None else noise
    suffix = "" if args.defense == "noise" else f"_{args.defense}"
    if args.max_iter:
        attack_kw["max_iter"] = args.max_iter
    if args.refine_iter:
        attack_kw["refine_iter"] = args.refine_iter

    if args.n_batches < 1:
        parser.error("--n-batches must be at least 1")
    n_node = args.n_batches * max(batch_sizes)
    X, y = make_purchases(n_samples=4000 + n_node, n_classes=100, random_state=0)
    X_pub, y_pub = X[:4000], y[:4000]
    X_node, y_node = X[4000:], y[4000:]
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for stage, epochs in stages.items():
        torch.manual_seed(0)
        model = train_adam(MLPModule(600, 100), X_pub, y_pub, epochs)
        for B, batch in itertools.product(batch_sizes, range(args.n_batches)):
            # batch b: the b-th block of max(batch_sizes) node records, its first B rows
            start = batch * max(batch_sizes)
            Xb, yb = X_node[start : start + B], y_node[start : start + B]
            g = compute_gradient(model, Xb, yb, flat=True)
            rms = float(g.norm()) / np.sqrt(g.numel())
            for rel in noise:
                if args.defense == "noise":
                    defense = GaussianNoise(sigma=rel * rms)
                    observed = defense.apply(g, random_state=0) if rel > 0 else g
                elif args.defense == "topk":
                    defense = TopKSparsification(fraction=rel)
                    observed = defense.apply(g)
                else:
                    defense = DPSGD(noise_multiplier=rel, max_grad_norm=1.0)
                    observed = defense.privatize_gradient(
                        model, torch.as_tensor(Xb), torch.as_tensor(yb), random_state=0
                    )
                attacks = {
                    "naive cosine, unrelaxed": GradientInversionAttack(
                        loss="cosine", prior="none", **attack_kw
                    ),
                    "naive (cosine)": GradientInversionAttack(loss="cosine", **attack_kw),
                    "defense-aware (bayes)": GradientInversionAttack(
                        loss="bayes", defense=defense if rel > 0 else None, **attack_kw
                    ),
                }
                if args.defense != "noise":
                    del attacks["naive cosine, unrelaxed"]
                for name, gia in attacks.items():
                    gia.set_params(random_state=0).fit(X_pub)
                    t0 = time.process_time()
                    res = gia.reconstruct(model, observed, batch_size=B)
                    s = gia.report(res, Xb, yb)
                    row = dict(
                        stage=stage,
                        batch_size=B,
                        batch=batch,
                        defense=args.defense,
                        noise=rel,
                        attack=name,
                        method=res.method_,
                        f1=round(s["f1"], 4),
                        accuracy=round(s["accuracy"], 4),
                        exact_row_rate=round(s["exact_row_rate"], 4),
                        label_count_error=s["label_count_error"],
                        zeros_accuracy=round(s["zeros_accuracy"], 4),
                        cpu_seconds=round(time.process_time() - t0, 1),
                    )
                    rows.append(row)
                    print(row, flush=True)
                    # after every row: a stopped run keeps the rows it finished
                    path = write_rows(
                        rows, os.path.join(args.out, f"gradient_leakage_sweep{suffix}.csv")
                    )

    fig, axes = plt.subplots(
        len(stages),
        len(batch_sizes),
        figsize=(3.2 * len(batch_sizes), 2.6 * len(stages)),
        squeeze=False,
        sharey=True,
    )
    for i, stage in enumerate(stages):
        for j, B in enumerate(batch_sizes):
            ax = axes[i, j]
            for name in sorted({r["attack"] for r in rows}):
                pts = [
                    r
                    for r in rows
                    if r["stage"] == stage and r["batch_size"] == B and r["attack"] == name
                ]
                levels = sorted({r["noise"] for r in pts})
                xs = [max(level, 1e-3) for level in levels]
                f1 = [np.mean([r["f1"] for r in pts if r["noise"] == v]) for v in levels]
                ax.plot(xs, f1, marker="o", label=name)
            ax.set_xscale("log")
            ax.set_title(f"{stage}, B={B}", fontsize=9)
            ax.set_ylim(-0.02, 1.02)
            if j == 0:
                ax.set_ylabel("1-bit F1")
            if i == len(stages) - 1:
                ax.set_xlabel(
                    {
                        "noise": "noise / gradient RMS (0 at left)",
                        "topk": "share of coordinates pruned",
                        "dpsgd": "DP-SGD noise multiplier",
                    }[args.defense]
                )
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, f"gradient_leakage_sweep{suffix}.png"), dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
