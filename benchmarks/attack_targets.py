"""Membership attacks with their defaults across kinds of target model, not only MLPs.

An attack whose defaults are tuned on one kind of model can mislead on another: a
random forest's confidences saturate at 1 on its training rows and come in steps of
1 / n_trees, a logistic regression barely overfits. For each data set (scikit-learn's
digits, and a synthetic 3-class task) and target (random forest, gradient boosting,
logistic regression, the project's MLP) the target trains on a third of the rows, the
next third is the attacker's pool and the last third the non-members. Each attack runs
with its defaults apart from the number of models (8 references / shadows, to keep the
run short): the shadow attack, offline LiRA with its default test (``"auto"``) and with
each of the two tests it chooses between, and RMIA. Printed: ROC AUC and TPR at 1% FPR,
and which test LiRA's ``"auto"`` kept.

Run from the repository root, on one thread::

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/attack_targets.py [--no-write]

and the table is written to ``docs/results/membership/attack_targets.md``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from skfedmia import (
    LikelihoodRatioAttack,
    MembershipInferenceAttack,
    RelativeMembershipInferenceAttack,
    TorchMLPClassifier,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs/results/membership"
N_MODELS = 8


def datasets():
    X, y = load_digits(return_X_y=True)
    yield "digits", (X / 16).astype(np.float32), y
    X, y = make_classification(1200, 20, n_informative=8, n_classes=3, flip_y=0.05, random_state=0)
    yield "synthetic 3-class", X.astype(np.float32), y


def targets():
    return {
        "random forest": RandomForestClassifier(n_estimators=100, random_state=0),
        "gradient boosting": GradientBoostingClassifier(n_estimators=50, random_state=0),
        "logistic regression": LogisticRegression(max_iter=1000),
        "MLP": TorchMLPClassifier(max_epochs=60, random_state=0),
    }


def attacks(target):
    common = {"n_shadow_models": N_MODELS, "random_state": 0}
    return {
        "shadow": MembershipInferenceAttack(target, **common),
        "LiRA offline (auto)": LikelihoodRatioAttack(target, **common),
        "LiRA learned-in": LikelihoodRatioAttack(target, offline_method="learned-in", **common),
        "LiRA one-sided": LikelihoodRatioAttack(target, offline_method="one-sided", **common),
        "RMIA": RelativeMembershipInferenceAttack(target, **common),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = list(attacks(None))
    lines = [
        "| data | target | test acc | "
        + " | ".join(f"{n} AUC / TPR@1%" for n in names)
        + " | LiRA auto kept |",
        "|---|---|---|" + "---|" * len(names) + "---|",
    ]
    start = time.perf_counter()
    for data_name, X, y in datasets():
        third = len(y) // 3
        members, pool, outside = slice(0, third), slice(third, 2 * third), slice(2 * third, None)
        X_eval = np.concatenate([X[members], X[outside]])
        y_eval = np.concatenate([y[members], y[outside]])
        membership = np.r_[np.ones(third, dtype=int), np.zeros(len(y) - 2 * third, dtype=int)]
        for target_name, model in targets().items():
            target = model.fit(X[members], y[members])
            cells, kept = [], ""
            for name, attack in attacks(target).items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    attack.fit(X[pool], y[pool])
                report = attack.report(X_eval, y_eval, membership)
                cells.append(f"{report.roc_auc:.3f} / {report.tpr_at_1_fpr:.3f}")
                if name == "LiRA offline (auto)":
                    kept = attack.offline_method_
            accuracy = target.score(X[outside], y[outside])
            line = (
                f"| {data_name} | {target_name} | {accuracy:.3f} | "
                + " | ".join(cells)
                + f" | {kept} |"
            )
            print(line, flush=True)
            lines.append(line)
    text = (
        "Targets trained on a third of the rows, the attacker's pool the next third, the "
        f"non-members the last; {N_MODELS} reference / shadow models; one thread, "
        f"torch {torch.__version__}; `python benchmarks/attack_targets.py` "
        f"({time.perf_counter() - start:.0f} s).\n\n" + "\n".join(lines) + "\n"
    )
    print()
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "attack_targets.md").write_text(text)


if __name__ == "__main__":
    main()
