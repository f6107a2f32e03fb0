"""
Attack any scikit-learn classifier
==================================

Four very different models are trained on the same rows of the Location data (Foursquare
check-ins; built-in Purchases-like data when that file is absent): a random forest,
gradient boosting, a pipeline (scaling, logistic regression by SGD), and the paper's torch
MLP. The same attacks then ask, for the training rows and as many other rows, "was this
row in the training set?": the shadow-model attack (Shokri et al.), a loss threshold (Yeom
et al.) and the likelihood-ratio attack (LiRA, Carlini et al.).

Set ``SKFEDMIA_QUICK=1`` for a shorter run (150 instead of 500 training rows, fewer shadow
models and epochs).
"""

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfedmia import TorchMLPClassifier
from skfedmia.attacks.membership import (
    LikelihoodRatioAttack,
    MembershipInferenceAttack,
    ThresholdAttack,
)
from skfedmia.datasets import load_location, make_purchases
from skfedmia.metrics import plot_attack_roc

quick = bool(os.environ.get("SKFEDMIA_QUICK"))
torch.set_num_threads(1)

# %%
# Data
# ----
# Location (binary features, 30 classes) is read from ``$SKFEDMIA_LOCATION`` or the data
# home when it is there. The target's training rows (members), other rows (non-members),
# and the attacker's own pool are disjoint.
try:
    X, y = load_location(path=os.environ.get("SKFEDMIA_LOCATION"), return_X_y=True)
    name = "Location"
except FileNotFoundError:
    X, y = make_purchases(n_samples=4000, n_classes=30, random_state=0)
    name = "Purchases-like"

n = 150 if quick else 500
perm = np.random.RandomState(0).permutation(len(y))
train = perm[:n]
# membership is defined for the labels the target knows: a small training set can miss a
# rare class, so the other rows are drawn among the classes the target saw
rest = perm[n:][np.isin(y[perm[n:]], np.unique(y[train]))]
out, pool = rest[:n], rest[n : 3 * n]
X_eval = np.concatenate([X[train], X[out]])
y_eval = np.concatenate([y[train], y[out]])
membership = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]

# %%
# Four targets, three attacks
# ---------------------------
# Anything with ``fit`` and ``predict_proba`` can be attacked. Each attack's ROC curve is
# drawn on log-log axes, where the low false-positive rates that matter for privacy show.
epochs = 30 if quick else 100
targets = {
    "random forest": RandomForestClassifier(n_estimators=50, random_state=0),
    "gradient boosting": HistGradientBoostingClassifier(
        max_iter=3 if quick else 15, max_leaf_nodes=15, random_state=0
    ),
    "scaled logistic SGD": make_pipeline(
        StandardScaler(), SGDClassifier(loss="log_loss", alpha=1e-3, random_state=0)
    ),
    "torch MLP": TorchMLPClassifier(max_epochs=epochs, random_state=0),
}
n_shadows = 2 if quick else 4
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
fig.tight_layout()

# %%
# Results
# -------
table = pd.DataFrame(rows)
print(f"{name}: {n} members, {n} non-members, attacker pool of {len(pool)} rows")
print(table.to_string(index=False, float_format="%.3f"))
plt.show()
