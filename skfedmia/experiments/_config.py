"""What decides a reproduction's results: the configuration and its presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ReproductionConfig", "DATASETS"]

DATASETS = ("purchases-like", "location", "purchases")

# rows for (federation, attacker's shadow pool, held-out test / non-members)
_DEFAULT_POOLS = {
    "purchases-like": (10_000, 20_000, 5_000),
    "purchases": (10_000, 20_000, 5_000),
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
    seeds : tuple of int, default=(0, 1, 2)
        Every table gives the mean over seeds and its 95% interval.
    n_target, n_shadow, n_test : int or None, default=None
        Rows in the federation, the attacker's shadow pool and the held-out pool (which
        also gives the non-members); ``None`` takes the data set's default.
    centralized_epochs : int, default=100
        Epochs of the centralized baseline (the paper's Table I).
    attacked_nodes : tuple of int, default=(0,)
        Nodes whose rows the insider attacks after every step (the paper shows N1).
    batch_size : int, default=128
    device : str, default="auto"
    attack_features : {"paper", "full"}, default="paper"
        Input of the shadow attack's attack model: the paper's probability vector and true
        label, or that plus the logit-scaled confidence (stronger, beyond the paper).
    n_jobs : int or None, default=None
        Cells computed at once, with joblib: ``None`` means one unless a
        ``joblib.parallel_config`` says otherwise (which is how a Dask cluster is used
        from library code), ``-1`` all cores. Each cell gives the same numbers however it
        is run.
    threads : int, default=1
        Torch threads per cell (the paper's small MLPs train fastest on one); the number
        of cells at once is capped so that ``n_jobs * threads`` fits the cores.
    """

    dataset: str = "purchases-like"
    data_path: str | None = None
    n_classes: tuple = (10, 20, 50, 100)
    n_nodes: tuple = (3, 10, 15)
    local_epochs: tuple = (100, 200)
    n_cycles: int = 5
    n_shadow_models: int = 10
    seeds: tuple = (0, 1, 2)
    n_target: int | None = None
    n_shadow: int | None = None
    n_test: int | None = None
    centralized_epochs: int = 100
    attacked_nodes: tuple = (0,)
    batch_size: int = 128
    device: str = "auto"
    attack_features: str = "paper"
    n_jobs: int | None = field(default=None, metadata={"affects_results": False})
    threads: int = field(default=1, metadata={"affects_results": False})

    @classmethod
    def quick(cls, **overrides) -> ReproductionConfig:
        """A preset that runs in a few minutes on a laptop CPU.

        Purchases-like data with 50 classes, 3 and 10 nodes, 3 cycles of 20 local epochs,
        5 shadow models, 4,000 federation rows.

        Parameters
        ----------
        **overrides
            Fields that replace the preset's values.
        """
        params = dict(
            n_classes=(50,),
            n_nodes=(3, 10),
            local_epochs=(20,),
            n_cycles=3,
            n_shadow_models=5,
            n_target=4_000,
            n_shadow=8_000,
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
        for name in (
            "n_cycles",
            "n_shadow_models",
            "centralized_epochs",
            "batch_size",
            "threads",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.attack_features not in ("paper", "full"):
            raise ValueError(
                f'attack_features must be "paper" or "full", got {self.attack_features!r}.'
            )
        if self.n_jobs is not None and int(self.n_jobs) == 0:
            raise ValueError("n_jobs must be a non-zero integer or None, got 0.")
        if min(self.n_nodes) < 1:
            raise ValueError(f"n_nodes must be positive, got {self.n_nodes}.")

    def pools(self) -> tuple[int, int, int]:
        default = _DEFAULT_POOLS[self.dataset]
        given = (self.n_target, self.n_shadow, self.n_test)
        return tuple(int(g) if g is not None else d for g, d in zip(given, default))

    def result_fields(self) -> dict:
        """The fields that decide results (``n_jobs`` and ``threads`` do not)."""
        out = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("affects_results", True):
                out[f.name] = getattr(self, f.name)
        return out
