"""The protocol of Pustozerova & Mayer, as cells that can be run, stored and resumed."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ..utils._random import draw_seed
from ._store import CellStore

__all__ = ["ReproductionConfig", "run_reproduction", "iter_cells", "load_data"]

DATASETS = ("purchases-like", "location", "purchases")

# rows for (federation, attacker's shadow pool, held-out test / non-members)
_DEFAULT_POOLS = {
    "purchases-like": (10_000, 5_000, 5_000),
    "purchases": (10_000, 5_000, 5_000),
    "location": (2_500, 1_500, 1_010),
}


@dataclass
class ReproductionConfig:
    """Everything that decides the reproduction's results.

    Parameters
    ----------
    dataset : {"purchases-like", "location", "purchases"}, default="purchases-like"
        Built-in Purchases-like data, or the published Location / Purchases files.
    data_path : str or None, default=None
        File or folder of a published data set (default: the data home).
    n_classes : tuple of int, default=(10, 20, 50, 100)
        Class counts (k-means relabelling for Purchases; Location has 30 classes and
        ignores this unless a count other than 30 is given, then it is relabelled too).
    n_nodes : tuple of int, default=(3, 10, 15)
    local_epochs : tuple of int, default=(100, 200)
    n_cycles : int, default=5
    n_shadow_models : int, default=10
    seeds : tuple of int, default=(0,)
    n_target, n_shadow, n_test : int or None, default=None
        Rows in the federation, the attacker's shadow pool and the held-out pool (which
        also gives the non-members); ``None`` takes the data set's default.
    centralized_epochs : int, default=100
        Epochs of the centralized baseline (the paper's Table I).
    attacked_nodes : tuple of int, default=(0,)
        Nodes whose rows the insider attacks after every step (the paper shows N1).
    batch_size : int, default=128
    device : str, default="auto"
    n_jobs : int or None, default=None
        Shadow models trained in parallel.
    """

    dataset: str = "purchases-like"
    data_path: str | None = None
    n_classes: tuple = (10, 20, 50, 100)
    n_nodes: tuple = (3, 10, 15)
    local_epochs: tuple = (100, 200)
    n_cycles: int = 5
    n_shadow_models: int = 10
    seeds: tuple = (0,)
    n_target: int | None = None
    n_shadow: int | None = None
    n_test: int | None = None
    centralized_epochs: int = 100
    attacked_nodes: tuple = (0,)
    batch_size: int = 128
    device: str = "auto"
    n_jobs: int | None = field(default=None, metadata={"affects_results": False})

    @classmethod
    def quick(cls, **overrides) -> ReproductionConfig:
        """A preset that runs in a few minutes on a laptop CPU.

        Purchases-like data with 50 classes, 3 and 10 nodes, 3 cycles of 20 local epochs,
        5 shadow models, 4,000 federation rows.
        """
        params = dict(
            n_classes=(50,),
            n_nodes=(3, 10),
            local_epochs=(20,),
            n_cycles=3,
            n_shadow_models=5,
            n_target=4_000,
            n_shadow=3_000,
            n_test=2_000,
            centralized_epochs=30,
        )
        params.update(overrides)
        return cls(**params)

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}.")
        for name in ("n_classes", "n_nodes", "local_epochs", "seeds", "attacked_nodes"):
            value = getattr(self, name)
            value = (value,) if np.isscalar(value) else tuple(int(v) for v in value)
            if not value:
                raise ValueError(f"{name} must not be empty.")
            setattr(self, name, value)
        for name in ("n_cycles", "n_shadow_models", "centralized_epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if min(self.n_nodes) < 1:
            raise ValueError(f"n_nodes must be positive, got {self.n_nodes}.")

    def pools(self) -> tuple[int, int, int]:
        default = _DEFAULT_POOLS[self.dataset]
        given = (self.n_target, self.n_shadow, self.n_test)
        return tuple(int(g) if g is not None else d for g, d in zip(given, default))

    def result_fields(self) -> dict:
        """The fields that decide results (``n_jobs`` does not)."""
        out = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("affects_results", True):
                out[f.name] = getattr(self, f.name)
        return out


def load_data(config: ReproductionConfig, n_classes: int, seed: int):
    """The rows of one (data set, class count, seed) cell: X, y."""
    from .. import datasets

    n_target, n_shadow, n_test = config.pools()
    total = n_target + n_shadow + n_test
    if config.dataset == "purchases-like":
        return datasets.make_purchases(
            n_samples=total, n_classes=n_classes, random_state=seed, return_X_y=True
        )
    if config.dataset == "location":
        X, y = datasets.load_location(path=config.data_path, return_X_y=True)
        if n_classes != len(np.unique(y)):
            y = datasets.relabel_kmeans(X, n_classes=n_classes, random_state=seed)
        return X, y
    return datasets.load_purchases(path=config.data_path, n_classes=n_classes, return_X_y=True)


def _split(config, X, y, seed):
    """Disjoint pools; shadow and test rows keep only labels the federation holds.

    Membership is defined only for labels the target knows, and a very small class may
    land entirely outside the federation's rows.
    """
    from ..datasets import attack_split

    n_target, n_shadow, n_test = config.pools()
    split = attack_split(
        X, y, n_target=n_target, n_shadow=n_shadow, n_test=n_test, random_state=seed
    )
    known = np.unique(split.y_target)
    for pool in ("shadow", "test"):
        keep = np.isin(split[f"y_{pool}"], known)
        for part in ("X", "y"):
            split[f"{part}_{pool}"] = split[f"{part}_{pool}"][keep]
    return split


def _target(config, epochs, seed):
    from ..neural_net import TorchMLPClassifier

    return TorchMLPClassifier(
        max_epochs=epochs, batch_size=config.batch_size, device=config.device, random_state=seed
    )


def iter_cells(config: ReproductionConfig):
    """The cells of a configuration, centralized baselines first."""
    common = {
        "dataset": config.dataset,
        "data_path": config.data_path,
        "pools": config.pools(),
        "n_shadow_models": config.n_shadow_models,
        "batch_size": config.batch_size,
        "device": config.device,
    }
    for seed in config.seeds:
        for c in config.n_classes:
            yield {
                "kind": "centralized",
                **common,
                "n_classes": c,
                "seed": seed,
                "epochs": config.centralized_epochs,
            }
    for seed in config.seeds:
        for c in config.n_classes:
            for nodes in config.n_nodes:
                for epochs in config.local_epochs:
                    yield {
                        "kind": "federated",
                        **common,
                        "n_classes": c,
                        "seed": seed,
                        "n_nodes": nodes,
                        "local_epochs": epochs,
                        "n_cycles": config.n_cycles,
                        "attacked_nodes": list(config.attacked_nodes),
                    }


def _attack(config, shadow, seed, train_size, pool):
    """The paper's shadow attack, shadows as large as the data they emulate.

    Shadows train on as many rows as the model they imitate saw (the insider knows the
    protocol): a whole federation's rows for the centralized baseline, one node's rows in
    a federation. When the pool cannot give every shadow its own disjoint rows of that
    size, each shadow draws its in / out halves from the whole pool.
    """
    from ..attacks.membership import MembershipInferenceAttack

    size = int(min(train_size, pool // 2))
    disjoint = 2 * size * config.n_shadow_models <= pool
    return MembershipInferenceAttack(
        shadow_estimator=shadow,
        n_shadow_models=config.n_shadow_models,
        shadow_size=size,
        disjoint=disjoint,
        n_jobs=config.n_jobs,
        random_state=seed,
    )


def run_centralized(config: ReproductionConfig, spec: dict, data) -> dict:
    """Table I: a model trained on all federation rows, attacked by the shadow attack."""
    from ..metrics import attack_report

    seed = spec["seed"]
    rng = np.random.RandomState(seed)
    split = _split(config, *data, seed)
    target = _target(config, spec["epochs"], draw_seed(rng)).fit(split.X_target, split.y_target)
    attack = _attack(
        config,
        _target(config, spec["epochs"], draw_seed(rng)),
        draw_seed(rng),
        train_size=len(split.y_target),
        pool=len(split.y_shadow),
    )
    attack.set_params(target=target).fit(split.X_shadow, split.y_shadow)
    n = min(len(split.y_target), len(split.y_test))
    members = rng.choice(len(split.y_target), size=n, replace=False)
    nonmembers = rng.choice(len(split.y_test), size=n, replace=False)
    X_eval = np.concatenate([split.X_target[members], split.X_test[nonmembers]])
    y_eval = np.concatenate([split.y_target[members], split.y_test[nonmembers]])
    membership = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
    scores = attack.decision_function(X_eval, y_eval)
    report = attack_report(membership, scores, predictions=(scores >= 0).astype(int)).to_dict()
    return {
        "train_accuracy": float(target.score(split.X_target, split.y_target)),
        "test_accuracy": float(target.score(split.X_test, split.y_test)),
        "attack": report,
    }


def run_federated(config: ReproductionConfig, spec: dict, data) -> dict:
    """Figures 1-3 and Table II: a sequential federation watched by an insider monitor."""
    from ..attacks.membership import MembershipMonitor
    from ..federated import SequentialFederatedClassifier

    seed = spec["seed"]
    rng = np.random.RandomState(seed + 1)
    split = _split(config, *data, seed)
    epochs = spec["local_epochs"]
    # shadows emulate one node step: the target architecture trained `epochs` epochs
    attack = _attack(
        config,
        _target(config, epochs, draw_seed(rng)),
        draw_seed(rng),
        train_size=len(split.y_target) // spec["n_nodes"],
        pool=len(split.y_shadow),
    )
    monitor = MembershipMonitor(
        attack,
        attacked_nodes=spec["attacked_nodes"],
        attack_data=(split.X_shadow, split.y_shadow),
        nonmember_data=(split.X_test, split.y_test),
        test_data=(split.X_test, split.y_test),
        outsider=True,
        random_state=draw_seed(rng),
    )
    fed = SequentialFederatedClassifier(
        _target(config, 1, draw_seed(rng)),
        n_nodes=spec["n_nodes"],
        n_cycles=spec["n_cycles"],
        local_epochs=epochs,
        callbacks=[monitor],
        random_state=draw_seed(rng),
    )
    fed.fit(split.X_target, split.y_target)
    steps = monitor.history_
    final = [r for r in steps if r["step"] == steps[-1]["step"]]
    outsider = next(r for r in final if r["attacked"] == "all")
    return {
        "steps": steps,
        "final_test_accuracy": float(fed.score(split.X_test, split.y_test)),
        "final_train_accuracy": float(fed.score(split.X_target, split.y_target)),
        "outsider_attack": {k: v for k, v in outsider.items() if k not in ("attacked",)},
        "node_rows": [len(i) for i in fed.node_indices_],
    }


def run_reproduction(config: ReproductionConfig, out, *, verbose: int = 1, on_cell=None):
    """Run every cell of ``config`` not yet stored under ``out``; return all cell records.

    Parameters
    ----------
    config : ReproductionConfig
    out : str or Path
        Output folder; finished cells go to ``out/cells/`` as they finish.
    verbose : int, default=1
        ``> 0`` shows a progress bar with an ETA.
    on_cell : callable, default=None
        Called with ``(spec, record, reused)`` after each cell (tests use it to interrupt).

    Returns
    -------
    records : list of dict
        ``{"spec": ..., "result": ...}`` for every cell of the configuration.
    """
    from pathlib import Path

    store = CellStore(Path(out) / "cells")
    cells = list(iter_cells(config))
    data_cache: dict = {}
    records = []
    todo = sum(not store.has(s) for s in cells)
    bar = tqdm(
        total=len(cells), disable=not verbose, desc="cells", unit="cell", initial=len(cells) - todo
    )
    with bar:
        for spec in cells:
            if store.has(spec):
                record = store.load(spec)
                records.append(record)
                if on_cell is not None:
                    on_cell(spec, record, True)
                continue
            key = (spec["n_classes"], spec["seed"])
            if key not in data_cache:
                data_cache.clear()
                data_cache[key] = load_data(config, *key)
            bar.set_postfix_str(_describe(spec))
            start = time.perf_counter()
            runner = run_centralized if spec["kind"] == "centralized" else run_federated
            result = runner(config, spec, data_cache[key])
            result["seconds"] = time.perf_counter() - start
            record = store.save(spec, result)
            records.append(record)
            bar.update()
            if on_cell is not None:
                on_cell(spec, record, False)
    return records


def _describe(spec):
    if spec["kind"] == "centralized":
        return f"centralized {spec['n_classes']} classes"
    return f"{spec['n_classes']} classes, {spec['n_nodes']} nodes, {spec['local_epochs']} epochs"
