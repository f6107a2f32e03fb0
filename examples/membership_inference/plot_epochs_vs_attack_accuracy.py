"""
Local epochs against membership-attack accuracy
===============================================

More local epochs per node make a federated model fit its nodes' rows more closely; the
paper (Pustozerova & Mayer, 2020) finds that this raises membership-attack accuracy. Here
:class:`~sklearn.model_selection.GridSearchCV` measures both sides of that trade-off for
each candidate: the usual test accuracy, and the accuracy / AUC of a membership attack
against the candidate on its own training rows versus held-out rows (shadow models trained
with the candidate's parameters).

Set ``SKFEDMIA_QUICK=1`` for a shorter run (fewer rows and grid points).
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GridSearchCV

from skfedmia import SequentialFederatedClassifier, TorchMLPClassifier, make_membership_scorer
from skfedmia.datasets import load_location, make_purchases

quick = bool(os.environ.get("SKFEDMIA_QUICK"))
torch.set_num_threads(1)
# shadow models of small folds see few rows of many classes; sklearn warns about it
warnings.filterwarnings("ignore", message="The number of unique classes is greater")

# Location when at hand (``$SKFEDMIA_LOCATION`` or the data home), else Purchases-like data
try:
    X, y = load_location(path=os.environ.get("SKFEDMIA_LOCATION"), return_X_y=True)
    name = "Location"
except FileNotFoundError:
    X, y = make_purchases(n_samples=4000, n_classes=30, random_state=0)
    name = "Purchases-like"
n_rows = 600 if quick else 1500
rows = np.random.RandomState(0).permutation(len(y))[:n_rows]
X, y = X[rows], y[rows]

# %%
# The grid search
# ---------------
# A sequential federation of 3 nodes, 2 cycles; the grid is the epochs per node visit.
# Each scorer attacks the candidate on the rows it was fit on.
fed = SequentialFederatedClassifier(
    TorchMLPClassifier(batch_size=64), n_nodes=3, n_cycles=2, random_state=0
)
grid = {"local_epochs": [1, 3, 10] if quick else [1, 5, 15, 40]}
common = dict(attack="loss", n_shadow_models=1, random_state=0)
scoring = {
    "accuracy": "accuracy",
    "attack_accuracy": make_membership_scorer("accuracy", **common),
    "attack_auc": make_membership_scorer("roc_auc", **common),
}
search = GridSearchCV(fed, grid, scoring=scoring, refit="accuracy", cv=3)
search.fit(X, y)

# %%
# Utility against leakage
# -----------------------
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
plt.show()
