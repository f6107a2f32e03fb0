"""Attack any scikit-learn classifier with membership inference.

Four very different models are trained on the same 500 rows of the Location data
(Foursquare check-ins; scikit-learn's digits when that file is absent): a random forest,
gradient boosting, a pipeline (scaling, logistic regression by SGD), and the paper's torch MLP.
The same attacks then ask, for 500 training rows and 500 other rows, "was this row in
the training set?": the shadow-model attack (Shokri et al.), a loss threshold (Yeom et
al.) and the likelihood-ratio attack (LiRA, Carlini et al.). The script prints a table and
draws every attack's ROC curve on log-log axes to ``attack_any_model.png``.

Run it as it is (about a minute), or quicker::

    python examples/attack_any_model.py --quick --out /tmp
"""

# %%
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skfedmia import TorchMLPClassifier  # noqa: E402
from skfedmia.attacks.membership import (  # noqa: E402
    LikelihoodRatioAttack,
    MembershipInferenceAttack,
    ThresholdAttack,
)
from skfedmia.datasets import load_location, make_purchases  # noqa: E402
from skfedmia.metrics import plot_attack_roc  # noqa: E402


def load_data():
    """Location (binary features, 30 classes) when at hand, else built-in Purchases-like data.

    Location is read from ``$SKFEDMIA_LOCATION`` or the data home (see
    ``skfedmia.datasets.get_data_home``).
    """
    try:
        X, y = load_location(path=os.environ.get("SKFEDMIA_LOCATION"), return_X_y=True)
        return "Location", X, y
    except FileNotFoundError:
        X, y = make_purchases(n_samples=4000, n_classes=30, random_state=0)
        return "Purchases-like", X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description="Attack any sklearn classifier.")
    parser.add_argument("--quick", action="store_true", help="smaller, faster settings")
    parser.add_argument("--out", default=".", help="folder for the PNG plot")
    args = parser.parse_args(argv)
    args.quick = args.quick or bool(os.environ.get("SKFEDMIA_QUICK"))
    torch.set_num_threads(1)

    # %%
    # Data: the target's training rows (members), other rows (non-members), and the
    # attacker's own pool, disjoint from both.
    name, X, y = load_data()
    n = 150 if args.quick else 500
    perm = np.random.RandomState(0).permutation(len(y))
    train, out, pool = perm[:n], perm[n : 2 * n], perm[2 * n : 4 * n]
    X_eval = np.concatenate([X[train], X[out]])
    y_eval = np.concatenate([y[train], y[out]])
    membership = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]

    # %%
    # Four targets; anything with ``fit`` and ``predict_proba`` would do.
    epochs = 30 if args.quick else 100
    targets = {
        "random forest": RandomForestClassifier(n_estimators=50, random_state=0),
        "gradient boosting": HistGradientBoostingClassifier(
            max_iter=3 if args.quick else 15, max_leaf_nodes=15, random_state=0
        ),
        "scaled logistic SGD": make_pipeline(
            StandardScaler(), SGDClassifier(loss="log_loss", alpha=1e-3, random_state=0)
        ),
        "torch MLP": TorchMLPClassifier(max_epochs=epochs, random_state=0),
    }
    n_shadows = 2 if args.quick else 4
    rows = []
    fig, axes = plt.subplots(1, len(targets), figsize=(4.2 * len(targets), 4.2))
    for ax, (target_name, target) in zip(axes, targets.items(), strict=True):
        target.fit(X[train], y[train])
        attacks = {
            "shadow": MembershipInferenceAttack(
                target, n_shadow_models=n_shadows, disjoint=False, shadow_size=n, random_state=0
            ),
            "loss threshold": ThresholdAttack(target, signal="loss", random_state=0),
            "LiRA": LikelihoodRatioAttack(
                target, n_shadow_models=n_shadows, shadow_size=n, random_state=0
            ),
        }
        for attack_name, attack in attacks.items():
            start = time.perf_counter()
            attack.fit(X[pool], y[pool])
            report = attack.report(X_eval, y_eval, membership)
            rows.append(
                {
                    "target": target_name,
                    "train acc": target.score(X[train], y[train]),
                    "test acc": target.score(X[out], y[out]),
                    "attack": attack_name,
                    "accuracy": report.accuracy,
                    "AUC": report.roc_auc,
                    "TPR@1%FPR": report.tpr_at_1_fpr,
                    "seconds": time.perf_counter() - start,
                }
            )
            plot_attack_roc(
                membership, attack.decision_function(X_eval, y_eval), ax=ax, label=attack_name
            )
        ax.set_title(target_name)

    # %%
    table = pd.DataFrame(rows)
    print(f"{name}: {n} members, {n} non-members, attacker pool of {len(pool)} rows")
    print(table.to_string(index=False, float_format="%.3f"))
    fig.tight_layout()
    path = Path(args.out) / "attack_any_model.png"
    fig.savefig(path, dpi=100)
    print(f"ROC curves: {path}")
    return table


if __name__ == "__main__":
    main()
