"""
Reconstruct a node's records from its gradient
==============================================

A node of a federation sends the gradient of its loss on a batch of its records. An
attacker who knows the model inverts that gradient into records, first for one record
(in closed form), then for a batch, and finally when the node clips and noises what it
sends, with an attack that models the defense (Balunović et al., 2022).

Set ``SKFEDMIA_QUICK=1`` for a shorter run (fewer optimisation steps).
"""

# %%
import os

import matplotlib.pyplot as plt
import torch

from skfedmia.attacks.gradient_leakage import GradientInversionAttack, compute_gradient
from skfedmia.datasets import make_purchases
from skfedmia.defenses import ClipNorm, Compose, GaussianNoise
from skfedmia.neural_net import MLPModule

quick = bool(os.environ.get("SKFEDMIA_QUICK"))
max_iter, refine_iter = (50, 5) if quick else (100, 10)

# Purchases-like data: public rows for the attacker's prior, a batch of a node's rows.
X, y = make_purchases(n_samples=2004, n_classes=100, random_state=0)
X_public, X_node, y_node = X[:2000], X[2000:], y[2000:]

torch.manual_seed(0)
model = MLPModule(n_features=600, n_classes=100)  # the paper's 600-128(tanh)-softmax target

# %%
# One record
# ----------
# The first layer's gradient is the outer product of the error and the record, so one
# record comes back exactly.
g1 = compute_gradient(model, X_node[:1], y_node[:1])
gia = GradientInversionAttack(random_state=0).fit(X_public)
res = gia.reconstruct(model, g1, batch_size=1)
print("batch 1:", res.method_, gia.report(res, X_node[:1], y_node[:1])["f1"])

# %%
# A batch of four records
# -----------------------
# A sigmoid-relaxed attack with cosine matching, the prior fitted on public rows.
g = compute_gradient(model, X_node, y_node, flat=True)
gia = GradientInversionAttack(
    n_restarts=1, max_iter=max_iter, refine_iter=refine_iter, random_state=0
)
gia.fit(X_public)
res = gia.reconstruct(model, g, batch_size=4)
scores = gia.report(res, X_node, y_node)
print(
    f"batch 4: F1={scores['f1']:.3f} accuracy={scores['accuracy']:.3f} "
    f"(all-zeros baseline accuracy {scores['zeros_accuracy']:.3f})"
)

# The node's records (rows sorted by label) and what the attack reconstructed.
order, order_rec = y_node.argsort(), res.y_.argsort()
fig, axes = plt.subplots(2, 1, figsize=(8, 2.4), sharex=True)
axes[0].imshow(X_node[order], aspect="auto", cmap="Greys", interpolation="nearest")
axes[0].set_ylabel("node")
axes[1].imshow(res.X_[order_rec], aspect="auto", cmap="Greys", interpolation="nearest")
axes[1].set_ylabel("attack")
axes[1].set_xlabel("product (feature)")
fig.tight_layout()

# %%
# A defended update
# -----------------
# The node clips and noises what it sends; the Bayesian attack knows the defense and
# uses its likelihood.
defense = Compose([ClipNorm(max_norm=1.0), GaussianNoise(sigma=3e-3)])
sent = defense.apply(g, random_state=0)
for loss, known in [("cosine", None), ("bayes", defense)]:
    attack = GradientInversionAttack(
        loss=loss,
        defense=known,
        n_restarts=1,
        max_iter=max_iter,
        refine_iter=refine_iter,
        random_state=0,
    ).fit(X_public)
    res = attack.reconstruct(model, sent, batch_size=4)
    print(f"defended, {loss:6s}: F1={attack.report(res, X_node, y_node)['f1']:.3f}")
plt.show()
