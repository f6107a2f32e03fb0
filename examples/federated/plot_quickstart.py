"""
Quick start: sequential federated learning
==========================================

Train a torch MLP across three nodes, cycle after cycle, on scikit-learn's digits: the
model visits node 1, 2, 3, then again 1, 2, 3 ... Every node trains it for a few epochs on
its own rows and passes only the parameters on. A
:class:`~skfedmia.federated.SnapshotRecorder` keeps the model as it leaves each node, the
model an insider of the federation would see.

Set ``SKFEDMIA_QUICK=1`` for a shorter run.
"""

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skfedmia import SequentialFederatedClassifier, SnapshotRecorder, TorchMLPClassifier

quick = bool(os.environ.get("SKFEDMIA_QUICK"))
X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

# %%
# The federation
# --------------
# The paper's target model (128 tanh units, dropout, Adam lr 0.001); each node step
# runs ``local_epochs`` epochs.
recorder = SnapshotRecorder()
fed = SequentialFederatedClassifier(
    TorchMLPClassifier(random_state=0),
    n_nodes=3,
    n_cycles=2 if quick else 5,
    local_epochs=2 if quick else 10,
    callbacks=[recorder],
    random_state=0,
)
fed.fit(X_train, y_train, validation_data=(X_test, y_test))

# %%
# Accuracy step by step
# ---------------------
# ``history_`` has one record per node step: the accuracy on the node's own rows and on
# the validation data.
print(f"test accuracy of the final model: {fed.score(X_test, y_test):.3f}")
print("rows per node:", [len(idx) for idx in fed.node_indices_])
history = pd.DataFrame(fed.history_)
print(history[["label", "train_accuracy", "validation_accuracy"]].to_string(index=False))

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(history["label"], history["train_accuracy"], marker="o", label="node's own rows")
ax.plot(history["label"], history["validation_accuracy"], marker="s", label="test rows")
ax.set_xlabel("step (cycle, node)")
ax.set_ylabel("accuracy")
ax.legend()
fig.tight_layout()

# %%
# Snapshots
# ---------
# Any snapshot is a fitted classifier: score it, attack it, compare it.
first = recorder.get(cycle=0, node=0)
gap = np.abs(first.predict_proba(X_test) - fed.predict_proba(X_test)).max()
print(f"largest probability change between C1N1 and the final model: {gap:.3f}")
plt.show()
