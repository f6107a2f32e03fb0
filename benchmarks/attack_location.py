"""Membership attacks on an MLP trained on the Location data (Foursquare, Bangkok).

Setting: 1,200 target training rows (members), 1,200 other rows (non-members), the
remaining 2,610 rows are the attacker's disjoint pool; the target is the paper's MLP
(``TorchMLPClassifier()`` defaults: 128 tanh units, dropout 0.2, Adam lr 1e-3, 100 epochs);
10 shadow / reference models. Prints one row per attack: accuracy, precision, recall, AUC,
TPR at 1% and 0.1% FPR, tied scores, and the wall time of ``fit`` + ``predict``.

Run from the repository root::

    python benchmarks/attack_location.py --data PATH/dataset_location.tgz [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from skfedmia import TorchMLPClassifier, datasets
from skfedmia.attacks.membership import (
    LikelihoodRatioAttack,
    MembershipInferenceAttack,
    ThresholdAttack,
)

DEFAULT_DATA = (
    Path(__file__).resolve().parents[1].parent / "shared/data/location/dataset_location.tgz"
)


def load_location(path):
    return datasets.load_location(path=path, return_X_y=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--shadows", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=None, help="names of attacks to run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    X, y = load_location(args.data)
    perm = np.random.RandomState(args.seed).permutation(len(y))
    train, out, pool = perm[:1200], perm[1200:2400], perm[2400:]
    start = time.perf_counter()
    target = TorchMLPClassifier(random_state=args.seed).fit(X[train], y[train])
    print(
        f"target: train acc {target.score(X[train], y[train]):.3f}, "
        f"test acc {target.score(X[out], y[out]):.3f} "
        f"({time.perf_counter() - start:.1f} s); pool {len(pool)} rows, "
        f"{args.shadows} shadow models, n_jobs={args.n_jobs}"
    )
    X_eval = np.concatenate([X[train], X[out]])
    y_eval = np.concatenate([y[train], y[out]])
    membership = np.r_[np.ones(1200, dtype=int), np.zeros(1200, dtype=int)]

    k, common = args.shadows, {"n_jobs": args.n_jobs, "random_state": args.seed}
    attacks = {
        "shadow (disjoint, paper features)": MembershipInferenceAttack(
            target, n_shadow_models=k, features="paper", **common
        ),
        "shadow (disjoint)": MembershipInferenceAttack(target, n_shadow_models=k, **common),
        "shadow (1200-row shadows)": MembershipInferenceAttack(
            target, n_shadow_models=k, disjoint=False, shadow_size=1200, **common
        ),
        "loss threshold (1 shadow)": ThresholdAttack(target, signal="loss", **common),
        "LiRA offline": LikelihoodRatioAttack(
            target, n_shadow_models=k, shadow_size=1200, **common
        ),
        "LiRA offline, per-example var": LikelihoodRatioAttack(
            target, n_shadow_models=k, shadow_size=1200, fixed_variance=False, **common
        ),
        "LiRA online (pool + candidates)": LikelihoodRatioAttack(
            target, n_shadow_models=k, shadow_size=1200, online=True, **common
        ),
    }
    rows = []
    for name, attack in attacks.items():
        if args.only and not any(word in name for word in args.only):
            continue
        start = time.perf_counter()
        if "online" in name:
            # online LiRA: reference models sample from the pool and the candidates alike
            attack.fit(np.concatenate([X[pool], X_eval]), np.concatenate([y[pool], y_eval]))
        else:
            attack.fit(X[pool], y[pool])
        scores = attack.decision_function(X_eval, y_eval)
        attack.predict(X_eval, y_eval)
        seconds = time.perf_counter() - start
        report = attack.report(X_eval, y_eval, membership)
        rows.append(
            {
                "attack": name,
                "accuracy": report.accuracy,
                "precision": report.precision,
                "recall": report.recall,
                "auc": report.roc_auc,
                "tpr@1%": report.tpr_at_1_fpr,
                "tpr@0.1%": report.tpr_at_01_fpr,
                "ties": report.n_tied_scores,
                "seconds": seconds,
            }
        )
        assert len(scores) == len(membership)
        print(
            pd.DataFrame(rows[-1:]).to_string(
                index=False, float_format="%.3f", header=len(rows) == 1
            )
        )
    print()
    print(pd.DataFrame(rows).to_string(index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()
