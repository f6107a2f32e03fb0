"""Grid-search local epochs against membership-attack accuracy in sequential FL.

More local epochs per node make a federated model fit its nodes' rows more closely; the
paper (Pustozerova & Mayer, 2020) finds that this raises membership-attack accuracy. Here
``GridSearchCV`` measures both sides of that trade-off for each candidate: the usual test
accuracy, and the accuracy / AUC of a membership attack against the candidate on its own
training rows versus held-out rows (shadow models trained with the candidate's params).
The script prints the table and draws ``epochs_vs_attack_accuracy.png``.

Run it as it is (under a minute), or quicker::

    python examples/epochs_vs_attack_accuracy.py --quick --out /tmp
"""

# %%
from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from skfedmia import (  # noqa: E402
    SequentialFederatedClassifier,
    TorchMLPClassifier,
    make_membership_scorer,
)
from skfedmia.datasets import load_location, make_purchases  # noqa: E402


def load_data():
    """Location (binary features, 30 classes) when at hand, else built-in Purchases-like data.

    Location is read from ``$SKFEDMIA_LOCATION`` or the data home (see
    ``skfedmia.datasets.get_data_home``).
    """
    try:
        X, y = load_location(path=os.environ.get("SKFEDMIA_LOCATION"))
        return "Location", X, y
    except FileNotFoundError:
        X, y = make_purchases(n_samples=4000, n_classes=30, random_state=0)
        return "Purchases-like", X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description="Local epochs vs membership attack accuracy.")
    parser.add_argument("--quick", action="store_true", help="smaller, faster settings")
    parser.add_argument("--out", default=".", help="folder for the PNG plot")
    args = parser.parse_args(argv)
    args.quick = args.quick or bool(os.environ.get("SKFEDMIA_QUICK"))
    torch.set_num_threads(1)
    # shadow models of small folds see few rows of many classes; sklearn warns about it
    warnings.filterwarnings("ignore", message="The number of unique classes is greater")

    name, X, y = load_data()
    n_rows = 600 if args.quick else 1500
    rows = np.random.RandomState(0).permutation(len(y))[:n_rows]
    X, y = X[rows], y[rows]

    # %%
    # A sequential federation of 3 nodes, 2 cycles; the grid is the epochs per node visit.
    fed = SequentialFederatedClassifier(
        TorchMLPClassifier(batch_size=64), n_nodes=3, n_cycles=2, random_state=0
    )
    grid = {"local_epochs": [1, 3, 10] if args.quick else [1, 5, 15, 40]}
    common = dict(attack="loss", n_shadow_models=1, random_state=0)
    scoring = {
        "accuracy": "accuracy",
        "attack_accuracy": make_membership_scorer("accuracy", **common),
        "attack_auc": make_membership_scorer("roc_auc", **common),
    }
    search = GridSearchCV(fed, grid, scoring=scoring, refit="accuracy", cv=3)
    search.fit(X, y)

    # %%
    results = pd.DataFrame(
        {
            "local_epochs": search.cv_results_["param_local_epochs"].astype(int),
            "test accuracy": search.cv_results_["mean_test_accuracy"],
            "attack accuracy": search.cv_results_["mean_test_attack_accuracy"],
            "attack AUC": search.cv_results_["mean_test_attack_auc"],
        }
    )
    print(f"{name}: {n_rows} rows, 3-fold GridSearchCV, loss-threshold attack")
    print(results.to_string(index=False, float_format="%.3f"))

    fig, ax = plt.subplots(figsize=(5, 3.8))
    for column, marker in [("test accuracy", "o"), ("attack accuracy", "s"), ("attack AUC", "^")]:
        ax.plot(results["local_epochs"], results[column], marker=marker, label=column)
    ax.axhline(0.5, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("local epochs per node visit")
    ax.set_ylabel("score")
    ax.set_title(f"Sequential FL on {name}: utility vs leakage")
    ax.legend(fontsize="small")
    fig.tight_layout()
    path = Path(args.out) / "epochs_vs_attack_accuracy.png"
    fig.savefig(path, dpi=100)
    print(f"plot: {path}")
    return results


if __name__ == "__main__":
    main()
