"""Reconstruct a node's records from the gradient it sends on, with and without a defense.

Runs as is in about half a minute on a CPU.
"""

import torch

from skfedmia.attacks.gradient_leakage import GradientInversionAttack, compute_gradient
from skfedmia.datasets import make_purchases
from skfedmia.defenses import ClipNorm, Compose, GaussianNoise
from skfedmia.neural_net import MLPModule

# Purchases-like data: public rows for the attacker's prior, a batch of a node's rows.
X, y = make_purchases(n_samples=2004, n_classes=100, random_state=0)
X_public, X_node, y_node = X[:2000], X[2000:], y[2000:]

torch.manual_seed(0)
model = MLPModule(n_features=600, n_classes=100)  # the paper's 600-128(tanh)-softmax target

# 1. One record: closed form from the first layer's gradient.
g1 = compute_gradient(model, X_node[:1], y_node[:1])
gia = GradientInversionAttack(random_state=0).fit(X_public)
res = gia.reconstruct(model, g1, batch_size=1)
print("batch 1:", res.method_, gia.score(res, X_node[:1], y_node[:1])["f1"])

# 2. A batch of 4 records: sigmoid-relaxed Bayesian attack with cosine matching.
g = compute_gradient(model, X_node, y_node, flat=True)
gia = GradientInversionAttack(n_restarts=1, max_iter=100, refine_iter=10, random_state=0)
gia.fit(X_public)
res = gia.reconstruct(model, g, batch_size=4)
scores = gia.score(res, X_node, y_node)
print(
    f"batch 4: F1={scores['f1']:.3f} accuracy={scores['accuracy']:.3f} "
    f"(all-zeros baseline accuracy {scores['zeros_accuracy']:.3f})"
)

# 3. The node clips and noises what it sends; the attacker models the defense.
defense = Compose([ClipNorm(max_norm=1.0), GaussianNoise(sigma=3e-3)])
sent = defense.apply(g, random_state=0)
for loss, known in [("cosine", None), ("bayes", defense)]:
    attack = GradientInversionAttack(
        loss=loss, defense=known, n_restarts=1, max_iter=100, refine_iter=10, random_state=0
    ).fit(X_public)
    res = attack.reconstruct(model, sent, batch_size=4)
    print(f"defended, {loss:6s}: F1={attack.score(res, X_node, y_node)['f1']:.3f}")
