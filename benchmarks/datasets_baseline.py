"""Centralized baseline (the paper's Table I) on the built-in Purchases-like data and on Location.

For every task, the paper's target MLP (n_features-128 tanh-softmax, Adam, learning rate 0.001)
is trained on 5,000 rows (Location: 1,250) and its train and test accuracy are measured. Then
the shadow-model membership-inference attack of Shokri et al. is run against it: shadow models
of the same architecture are trained on disjoint shadow data (same number of rows as the
target, the other rows of the shadow pool being their "out" rows), and an attack MLP (64
sigmoid units) learns in/out from (true label's probability, sorted probability vector,
one-hot true label): the paper's (probability vector, label), aligned on the label. The attack is
evaluated on the target's training rows (in) and as many test rows (out).

All MLPs of one task (target and shadows) are trained together as one batched torch model:
the same arithmetic as training them one after the other, several times faster on a CPU.

Run from the repository root::

    python benchmarks/datasets_baseline.py                # Purchases 10/20/50/100 + Location
    python benchmarks/datasets_baseline.py --epochs 100 --batch-size 64 --n-shadow 10

The defaults (30 epochs, batch 128, 2 shadow models per task) keep the run within about ten
minutes on two busy cores; on this data, train and test accuracy after 30 epochs of batch 128
equal those after 60 epochs of batch 64 to within 0.01 (the models are at 100% train accuracy).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skfedmia.datasets import attack_split, load_location, make_purchases  # noqa: E402

LOCATION = ROOT.parent / "shared" / "data" / "location" / "dataset_location.tgz"

PAPER = {  # Pustozerova & Mayer (2020), Table I: train, test, attack acc / prec / recall / F1
    "Purchase-10": (0.958, 0.781, 0.614, 0.571, 0.913, 0.703),
    "Purchase-20": (0.974, 0.726, 0.653, 0.607, 0.871, 0.715),
    "Purchase-50": (0.992, 0.645, 0.728, 0.659, 0.943, 0.776),
    "Purchase-100": (0.990, 0.567, 0.771, 0.705, 0.933, 0.803),
}


class BatchedMLP:
    """``M`` one-hidden-layer MLPs trained at once, each on its own rows and labels.

    Parameters are initialised as ``torch.nn.Linear`` does, every model has its own loss term
    and Adam's update is elementwise, so this is exactly M independent trainings done in one
    batched computation. The softmax of model m spans its first ``n_classes[m]`` outputs.
    """

    def __init__(self, n_models, n_features, n_classes, *, hidden=128, activation="tanh", seed=0):
        self.gen = torch.Generator().manual_seed(seed)
        c_max = max(n_classes)

        def uniform(shape, fan_in):
            bound = 1.0 / np.sqrt(fan_in)
            return ((torch.rand(shape, generator=self.gen) * 2 - 1) * bound).requires_grad_()

        self.W1 = uniform((n_models, n_features, hidden), n_features)
        self.b1 = uniform((n_models, 1, hidden), n_features)
        self.W2 = uniform((n_models, hidden, c_max), hidden)
        self.b2 = uniform((n_models, 1, c_max), hidden)
        self.mask = torch.zeros(n_models, 1, c_max)
        for m, c in enumerate(n_classes):
            self.mask[m, :, c:] = float("-inf")
        self.n_classes = list(n_classes)
        self.act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]

    def _logits(self, rows, m=slice(None)):
        """Logits of models ``m`` for ``rows``: (M, B) row numbers of the fitted ``X``."""
        pre = torch.baddbmm(self.b1[m], self.X[rows], self.W1[m])
        return torch.baddbmm(self.b2[m], self.act(pre), self.W2[m]) + self.mask[m]

    def fit(self, X, train_idx, y, *, epochs=100, batch_size=64, lr=1e-3):
        """``X``: (n, d) rows shared by all models; ``train_idx``: (M, n_train) each model's
        training rows; ``y``: (M, n) each model's labels of all rows."""
        n_models, n_train = train_idx.shape
        c_max = self.mask.shape[-1]
        self.X = X
        opt = torch.optim.Adam([self.W1, self.b1, self.W2, self.b2], lr=lr)
        models = torch.arange(n_models)[:, None]
        for _ in range(epochs):
            perm = torch.argsort(torch.rand(n_models, n_train, generator=self.gen), dim=1)
            for start in range(0, n_train, batch_size):
                idx = train_idx.gather(1, perm[:, start : start + batch_size])  # (M, B)
                loss = torch.nn.functional.cross_entropy(
                    self._logits(idx).reshape(-1, c_max),
                    y[models, idx].reshape(-1),
                    reduction="none",
                )
                opt.zero_grad()
                loss.view(n_models, -1).mean(dim=1).sum().backward()
                opt.step()
        return self

    def predict_proba(self, m, X):
        """Probability vectors of model ``m`` for the rows ``X`` (n, d)."""
        with torch.no_grad():
            self.X = X
            rows = torch.arange(len(X))[None]
            out = self._logits(rows, slice(m, m + 1))[0, :, : self.n_classes[m]]
            return torch.softmax(out, dim=1)


def attack_features(proba, labels, n_classes):
    """Label-aligned attack input: the true label's probability, the probability vector
    sorted in decreasing order, and the one-hot true label.

    The paper feeds (probability vector, true label); aligning the vector on the label lets
    one small attack model serve all classes (with the raw vector it stays at chance here).
    """
    labels = torch.as_tensor(labels)
    onehot = torch.nn.functional.one_hot(labels, n_classes).float()
    p_true = proba.gather(1, labels[:, None])
    return torch.cat([p_true, proba.sort(dim=1, descending=True).values, onehot], dim=1)


def binary_scores(y_true, y_pred):
    tp = float(((y_pred == 1) & (y_true == 1)).sum())
    fp = float(((y_pred == 1) & (y_true == 0)).sum())
    fn = float(((y_pred == 0) & (y_true == 1)).sum())
    acc = float((y_pred == y_true).mean())
    prec = tp / max(tp + fp, 1.0)
    rec = tp / max(tp + fn, 1.0)
    f1 = 2 * prec * rec / max(prec + rec, 1e-12)
    return acc, prec, rec, f1


def run_tasks(X, ys, *, n_target, n_shadow_models, epochs, batch_size, seed):
    """Table I rows for several labelings ``ys`` of the same rows ``X``.

    One split for all tasks: ``n_target`` target rows, ``n_target`` test rows, the rest is the
    shadow pool (at least ``2 * n_target`` rows). Shadow model s trains on ``n_target`` random
    pool rows ("in") and gets ``n_target`` other pool rows as "out".
    Returns one (train acc, test acc, attack acc, precision, recall, F1) tuple per task.
    """
    split = attack_split(X, ys[0], n_target=n_target, n_test=n_target, random_state=seed)
    if len(split.shadow_index) < 2 * n_target:
        raise ValueError(
            f"the shadow pool needs {2 * n_target} rows, not {len(split.shadow_index)}"
        )
    rng = np.random.RandomState(seed)
    shadow_in, shadow_out = [], []
    for _ in range(n_shadow_models):
        perm = rng.permutation(split.shadow_index)
        shadow_in.append(perm[:n_target])
        shadow_out.append(perm[n_target : 2 * n_target])
    n_classes = [int(y.max()) + 1 for y in ys]
    per_task = 1 + n_shadow_models
    train_rows = np.stack([split.target_index, *shadow_in] * len(ys))
    labels = np.repeat(np.stack(ys), per_task, axis=0)
    Xt = torch.as_tensor(X, dtype=torch.float32)
    nets = BatchedMLP(
        len(train_rows), X.shape[1], np.repeat(n_classes, per_task).tolist(), seed=seed
    ).fit(
        Xt,
        torch.as_tensor(train_rows, dtype=torch.int64),
        torch.as_tensor(labels, dtype=torch.int64),
        epochs=epochs,
        batch_size=batch_size,
    )
    results = []
    for t, (y, c) in enumerate(zip(ys, n_classes)):
        target = t * per_task
        p_train = nets.predict_proba(target, Xt[split.target_index])
        p_test = nets.predict_proba(target, Xt[split.test_index])
        train_acc = float((p_train.argmax(1).numpy() == y[split.target_index]).mean())
        test_acc = float((p_test.argmax(1).numpy() == y[split.test_index]).mean())
        if n_shadow_models == 0:
            results.append((train_acc, test_acc, *([float("nan")] * 4)))
            continue
        feats, member = [], []
        for s, (rows_in, rows_out) in enumerate(zip(shadow_in, shadow_out), start=1):
            for rows, is_in in ((rows_in, 1), (rows_out, 0)):
                feats.append(attack_features(nets.predict_proba(target + s, Xt[rows]), y[rows], c))
                member.append(np.full(len(rows), is_in))
        A = torch.cat(feats)
        a = torch.as_tensor(np.concatenate(member), dtype=torch.int64)
        attack = BatchedMLP(1, A.shape[1], [2], hidden=64, activation="sigmoid", seed=seed)
        attack.fit(A, torch.arange(len(a))[None], a[None], epochs=20, batch_size=128)
        A_eval = torch.cat(
            [
                attack_features(p_train, y[split.target_index], c),
                attack_features(p_test, y[split.test_index], c),
            ]
        )
        truth = np.r_[np.ones(len(p_train)), np.zeros(len(p_test))]
        pred = attack.predict_proba(0, A_eval).argmax(1).numpy()
        results.append((train_acc, test_acc, *binary_scores(truth, pred)))
    return results


def _row(name, values):
    return f"{name:<14}" + "".join(f"{v:>8.3f}" for v in values)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="target and shadow epochs")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--n-shadow", type=int, default=2, help="shadow models per task")
    parser.add_argument("--classes", type=int, nargs="+", default=[10, 20, 50, 100])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-location", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    header = f"{'task':<14}" + "".join(
        f"{h:>8}" for h in ("train", "test", "att.acc", "att.pre", "att.rec", "att.F1")
    )
    print(
        f"MLP n_features-128(tanh)-softmax, Adam lr 0.001, {args.epochs} epochs, batch "
        f"{args.batch_size}; {args.n_shadow} shadow models per task; attack MLP 64 sigmoid.",
        flush=True,
    )
    start = time.perf_counter()
    # Purchases-like: 20,000 rows (5,000 target, 5,000 test, 10,000 shadow pool); the
    # generator's features do not depend on n_classes, only the k-means labels do.
    ys = []
    for c in args.classes:
        X, y = make_purchases(n_samples=20_000, n_classes=c, random_state=args.seed)
        ys.append(y)
    print(
        f"generated Purchases-like data in {time.perf_counter() - start:.1f} s; "
        f"density {X.mean():.3f}",
        flush=True,
    )
    results = run_tasks(
        X,
        ys,
        n_target=5000,
        n_shadow_models=args.n_shadow,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    print(header)
    for c, values in zip(args.classes, results):
        name = f"Purchase-{c}"
        print(_row(name, values))
        if name in PAPER:
            print(_row("  paper", PAPER[name]))
    print(f"[{time.perf_counter() - start:.0f} s]", flush=True)
    if not args.no_location:
        if LOCATION.is_file():
            X, y = load_location(path=LOCATION, return_X_y=True)
            # 5,010 rows: 1,250 target, 1,250 test, 2,510 shadow pool.
            (values,) = run_tasks(
                X,
                [y],
                n_target=1250,
                n_shadow_models=args.n_shadow,
                epochs=args.epochs,
                batch_size=args.batch_size,
                seed=args.seed,
            )
            print(_row("Location-30", values))
        else:
            print(f"Location skipped: {LOCATION} not found")
    print(f"[{time.perf_counter() - start:.0f} s in all]")


if __name__ == "__main__":
    main()
