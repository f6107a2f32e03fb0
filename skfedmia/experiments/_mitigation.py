"""The mitigations of Pustozerova & Mayer's section V, measured on sequential federations.

Every mitigation the paper proposes is a parameter of
:class:`~skfedmia.SequentialFederatedClassifier` (or of its local learner), so the study
is a grid of federations, one resumable cell each:

- ``input_noise``: Gaussian noise on every node's training inputs (``input_noise=``);
- ``update_noise``: the update a node sends on clipped to ``update_clip`` and perturbed
  by Gaussian noise (``update_defense=GaussianNoise(...)``), strength = noise multiplier;
- ``dp_sgd``: DP-SGD at every node (per-example clipping and noise, :class:`DPSGDCallback`
  on the local :class:`~skfedmia.TorchMLPClassifier`), strength = noise multiplier;
- ``random_order``: a new node order every cycle (``node_order="random"``), at the base
  schedule and at every schedule of ``more_cycles``;
- ``more_cycles``: fewer local epochs and more cycles at the same total epochs per node;
- ``peer_to_peer``: no new training; the coordinator of a peer-to-peer federation sees
  only the final model, so its row is the undefended federation seen from the outside.

After every node step an insider attacks the model (the paper's shadow attack, trained
once per schedule on the attacker's own rows, unaware of the defense). A cell records the
test accuracy, the insider attack on N1 right after N1's last visit, the colluding insiders
just before and after that visit (:class:`~skfedmia.attacks.membership.ColludingInsidersAttack`
on the models around N1's step, paired with the single insider on the same rows), the attack
an insider who assumes the fixed order would run, which node an insider attributes each
record to, the outsider attack on the final model, the privacy accountant's epsilon for the
DP settings and the epsilon the insider's decisions prove
(:class:`skfedmia.metrics.EpsilonAudit`, its threshold fit on the attacker's shadow rows).

Examples
--------
The mitigations are federation parameters, so they compose with ``GridSearchCV`` and
the membership scorer reports the attack figure for every candidate:

>>> from sklearn.datasets import load_digits
>>> from sklearn.linear_model import SGDClassifier
>>> from sklearn.model_selection import GridSearchCV
>>> from skfedmia import SequentialFederatedClassifier, make_membership_scorer
>>> from skfedmia.defenses import GaussianNoise
>>> X, y = load_digits(return_X_y=True)
>>> fed = SequentialFederatedClassifier(SGDClassifier(loss="log_loss", random_state=0),
...                                     n_nodes=2, n_cycles=2, random_state=0)
>>> grid = GridSearchCV(fed, {"input_noise": [0.0, 0.5],
...                           "update_defense": [None, GaussianNoise(0.1, clip_norm=1.0)]},
...                     scoring={"accuracy": "accuracy",
...                              "attack_auc": make_membership_scorer(
...                                  "roc_auc", attack="loss", random_state=0)},
...                     refit=False, cv=2)
>>> results = grid.fit(X / 16, y).cv_results_
>>> len(results["mean_test_attack_auc"]), bool((results["mean_test_accuracy"] > 0.5).all())
(4, True)
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from skorch.callbacks import Callback

__all__ = [
    "MITIGATIONS",
    "DPSGDCallback",
    "MitigationConfig",
    "iter_mitigation_cells",
    "mitigation_table",
    "plot_privacy_utility",
    "run_mitigation_cell",
    "run_mitigation_study",
    "write_mitigation_report",
]

#: mitigations of the study, in the order of its tables
MITIGATIONS = (
    "none",
    "input_noise",
    "update_noise",
    "dp_sgd",
    "random_order",
    "more_cycles",
    "peer_to_peer",
)

_DATASETS = ("purchases-like", "location", "purchases")
_POOLS = {
    "purchases-like": (10_000, 5_000, 5_000),
    "purchases": (10_000, 5_000, 5_000),
    "location": (2_500, 1_500, 1_010),
}


# --------------------------------------------------------------------------- DP-SGD
class DPSGDCallback(Callback):
    """DP-SGD for a skorch net: replace every batch gradient by its private version.

    A skorch callback that, once the net has computed a training batch's gradient, writes
    :meth:`skfedmia.defenses.DPSGD.privatize_gradient` into the parameters' ``.grad``
    (every example's gradient clipped to ``max_grad_norm``, summed, Gaussian noise of
    standard deviation ``noise_multiplier * max_grad_norm`` added, divided by the batch
    size) before the optimizer steps. Any optimizer then runs DP-SGD (its steps only
    post-process private gradients). The net must use cross-entropy on logits (the
    default of :class:`~skfedmia.TorchMLPClassifier`).

    Parameters
    ----------
    noise_multiplier : float, default=1.0
        Noise standard deviation relative to ``max_grad_norm``, ``>= 0``.
    max_grad_norm : float, default=1.0
        Per-example clipping norm, ``> 0``.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise.

    Attributes
    ----------
    n_steps_ : int
        Private gradients written since the net was initialised.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia import TorchMLPClassifier
    >>> from skfedmia.experiments import DPSGDCallback
    >>> X = np.random.default_rng(0).normal(size=(64, 5))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> dp = DPSGDCallback(noise_multiplier=1.0, max_grad_norm=1.0, random_state=0)
    >>> net = TorchMLPClassifier(max_epochs=2, batch_size=32, callbacks=[dp],
    ...                          random_state=0).fit(X, y)
    >>> dict(net.callbacks_)["DPSGDCallback"].n_steps_
    4
    """

    _parameter_constraints: dict = {
        "noise_multiplier": [Interval(numbers.Real, 0, None, closed="left")],
        "max_grad_norm": [Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, noise_multiplier=1.0, max_grad_norm=1.0, random_state=None):
        self.noise_multiplier = noise_multiplier
        self.max_grad_norm = max_grad_norm
        self.random_state = random_state

    def initialize(self):
        from ..defenses import DPSGD

        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), type(self).__name__
        )
        self.dpsgd_ = DPSGD(
            noise_multiplier=self.noise_multiplier, max_grad_norm=self.max_grad_norm
        )
        self.rng_ = check_random_state(self.random_state)
        self.n_steps_ = 0
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        import torch

        criterion = getattr(net, "criterion_", None)
        if not isinstance(criterion, torch.nn.CrossEntropyLoss):
            raise ValueError(
                "DPSGDCallback computes per-example cross-entropy on logits; the net's "
                f"criterion is {type(criterion).__name__}, not torch.nn.CrossEntropyLoss."
            )

    def on_grad_computed(self, net, named_parameters, batch=None, training=False, **kwargs):
        if not training:
            return
        from skorch.dataset import unpack_data

        X, y = unpack_data(batch)
        module = net.module_
        grads = self.dpsgd_.privatize_gradient(module, X, y, random_state=self.rng_)
        trainable = [p for p in module.parameters() if p.requires_grad]
        for p, g in zip(trainable, grads, strict=True):
            p.grad = g.detach().to(p.dtype)
        self.n_steps_ += 1


# --------------------------------------------------------------------------- config
def _positive_numbers(name, values, *, integer=False):
    values = (values,) if np.isscalar(values) else tuple(values)
    out = []
    for v in values:
        kind = numbers.Integral if integer else numbers.Real
        if not isinstance(v, kind) or isinstance(v, bool) or not np.isfinite(v) or v <= 0:
            what = "positive integers" if integer else "finite numbers > 0"
            raise ValueError(f"{name} must hold {what}, got {v!r}.")
        out.append(int(v) if integer else float(v))
    return tuple(out)


@dataclass
class MitigationConfig:
    """Everything that decides the mitigation study's results.

    Parameters
    ----------
    dataset : {"purchases-like", "location", "purchases"}, default="purchases-like"
    data_path : str or None, default=None
        File or folder of a published data set.
    n_classes : int, default=50
        Class count (Location keeps its 30 classes unless another count is given).
    n_nodes : tuple of int, default=(3, 10)
    seeds : tuple of int, default=(0, 1, 2)
    n_cycles, local_epochs : int, default=5, 100
        The undefended schedule (the paper's five cycles of 100 epochs).
    schedules : tuple of (n_cycles, local_epochs), default=((10, 50), (25, 20), (50, 10))
        The ``more_cycles`` strengths; each must keep ``n_cycles * local_epochs``.
    input_noise : tuple of float, default=(0.1, 0.3, 1.0)
        Standard deviations of the Gaussian noise on node inputs.
    update_noise : tuple of float, default=(0.001, 0.003, 0.01)
        Noise multipliers (noise standard deviation per coordinate over ``update_clip``)
        of the noise on what a node sends on.
    update_clip : float, default=5.0
        L2 norm a node's update is clipped to before its noise.
    dpsgd_noise : tuple of float, default=(0.5, 1.0, 2.0)
        Noise multipliers of DP-SGD at every node.
    dpsgd_epsilon : tuple of float or None, default=None
        DP-SGD strengths as target epsilons instead of noise multipliers: each cell's
        noise multiplier is the smallest that keeps a node of ``n_target // n_nodes`` rows
        within the target (at ``delta``, over the whole schedule). Overrides
        ``dpsgd_noise``.
    dpsgd_clip : float, default=1.0
        DP-SGD's per-example clipping norm.
    delta : float, default=1e-5
        The delta of every accountant epsilon and of the empirical bound, in ``(0, 1)``.
    mitigations : tuple of str, default=all of :data:`MITIGATIONS`
    n_eval : int, default=500
        Member rows per node and non-member rows each attack is evaluated on.
    n_shadow_models : int, default=5
    attack_features : {"full", "paper"}, default="full"
        The insider's and outsider's attack model input: the paper's probability vector
        and true label plus the logit-scaled confidence (``"full"``, the stronger attack,
        so that a mitigation is judged against the strongest insider), or the paper's
        input alone (``"paper"``).
    n_target, n_shadow, n_test : int or None, default=None
        Rows of the federation, the attacker's pool and the held-out pool.
    batch_size : int, default=128
    device : str, default="auto"
    n_jobs : int or None, default=None
        Cells computed at once: ``-1`` all cores, ``None`` one at a time (or what an
        enclosing ``joblib.parallel_config`` asks for, e.g. a Dask cluster). Capped so that
        ``n_jobs * threads`` fits the cores; every cell's numbers are those of a serial run.
    threads : int, default=1
        Torch threads per cell (the study's small MLPs train fastest on one).
    """

    dataset: str = "purchases-like"
    data_path: str | None = None
    n_classes: int = 50
    n_nodes: tuple = (3, 10)
    seeds: tuple = (0, 1, 2)
    n_cycles: int = 5
    local_epochs: int = 100
    schedules: tuple = ((10, 50), (25, 20), (50, 10))
    input_noise: tuple = (0.1, 0.3, 1.0)
    update_noise: tuple = (0.001, 0.003, 0.01)
    update_clip: float = 5.0
    dpsgd_noise: tuple = (0.5, 1.0, 2.0)
    dpsgd_epsilon: tuple | None = None
    dpsgd_clip: float = 1.0
    delta: float = 1e-5
    mitigations: tuple = MITIGATIONS
    n_eval: int = 500
    n_shadow_models: int = 5
    attack_features: str = "full"
    n_target: int | None = None
    n_shadow: int | None = None
    n_test: int | None = None
    batch_size: int = 128
    device: str = "auto"
    n_jobs: int | None = field(default=None, metadata={"affects_results": False})
    threads: int = field(default=1, metadata={"affects_results": False})

    @classmethod
    def quick(cls, **overrides) -> MitigationConfig:
        """A preset for a few minutes on one CPU core: Location (or small Purchases-like).

        Three nodes, one seed, three cycles of 20 epochs (schedules 6x10, 12x5, 20x3),
        3 shadow models, 300 evaluated rows per node.

        Parameters
        ----------
        **overrides
            Fields that replace the preset's values.
        """
        params = dict(
            dataset="location",
            n_classes=30,
            n_nodes=(3,),
            seeds=(0,),
            n_cycles=3,
            local_epochs=20,
            schedules=((6, 10), (12, 5), (20, 3)),
            n_shadow_models=3,
            n_eval=300,
        )
        params.update(overrides)
        if params.get("dataset") != "location":
            params.setdefault("n_target", 3_000)
            params.setdefault("n_shadow", 2_000)
            params.setdefault("n_test", 1_500)
        return cls(**params)

    def __post_init__(self):
        if self.dataset not in _DATASETS:
            raise ValueError(f"dataset must be one of {_DATASETS}, got {self.dataset!r}.")
        if self.attack_features not in ("full", "paper"):
            raise ValueError(
                f'attack_features must be "full" or "paper", got {self.attack_features!r}.'
            )
        self.n_nodes = _positive_numbers("n_nodes", self.n_nodes, integer=True)
        self.seeds = tuple(
            int(s) for s in ((self.seeds,) if np.isscalar(self.seeds) else self.seeds)
        )
        if not self.seeds:
            raise ValueError("seeds must not be empty.")
        for name in (
            "n_classes",
            "n_cycles",
            "local_epochs",
            "n_eval",
            "n_shadow_models",
            "threads",
        ):
            _positive_numbers(name, getattr(self, name), integer=True)
        n_jobs = self.n_jobs
        if n_jobs is not None and (
            isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0
        ):
            raise ValueError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}.")
        self.input_noise = _positive_numbers("input_noise", self.input_noise)
        self.update_noise = _positive_numbers("update_noise", self.update_noise)
        self.dpsgd_noise = _positive_numbers("dpsgd_noise", self.dpsgd_noise)
        if self.dpsgd_epsilon is not None:
            self.dpsgd_epsilon = _positive_numbers("dpsgd_epsilon", self.dpsgd_epsilon)
        _positive_numbers("update_clip", self.update_clip)
        _positive_numbers("dpsgd_clip", self.dpsgd_clip)
        ok = isinstance(self.delta, numbers.Real) and not isinstance(self.delta, bool)
        if not (ok and 0 < self.delta < 1):
            raise ValueError(f"delta must be a number in (0, 1), got {self.delta!r}.")
        total = self.n_cycles * self.local_epochs
        schedules = []
        for s in self.schedules:
            try:
                cycles, epochs = _positive_numbers("schedules", s, integer=True)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"schedules must hold (n_cycles, local_epochs) pairs of positive integers, "
                    f"got {s!r}."
                ) from exc
            if cycles * epochs != total:
                raise ValueError(
                    f"schedule {s!r} trains {cycles * epochs} epochs per node; the study keeps "
                    f"the total of n_cycles * local_epochs = {total}."
                )
            schedules.append((cycles, epochs))
        self.schedules = tuple(schedules)
        unknown = set(self.mitigations) - set(MITIGATIONS)
        if unknown or not self.mitigations:
            raise ValueError(
                f"mitigations must be a non-empty subset of {MITIGATIONS}, got "
                f"{list(self.mitigations)}."
            )
        self.mitigations = tuple(m for m in MITIGATIONS if m in self.mitigations)

    def pools(self) -> tuple[int, int, int]:
        default = _POOLS[self.dataset]
        given = (self.n_target, self.n_shadow, self.n_test)
        return tuple(int(g) if g is not None else d for g, d in zip(given, default, strict=True))

    def result_fields(self) -> dict:
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata.get("affects_results", True)
        }


# --------------------------------------------------------------------------- cells
def iter_mitigation_cells(config: MitigationConfig):
    """Every (seed, node count, mitigation, strength) cell of ``config``.

    ``peer_to_peer`` adds no cell: it is read off the undefended cells.
    """
    from ._cells import data_fields

    base = (config.n_cycles, config.local_epochs)
    common = {
        "kind": "mitigation",
        "dataset": config.dataset,
        "data_path": config.data_path,
        "pools": config.pools(),
        "n_classes": config.n_classes,
        **data_fields(config.dataset, config.n_classes),
        "n_shadow_models": config.n_shadow_models,
        "n_eval": config.n_eval,
        "batch_size": config.batch_size,
        "device": config.device,
        "delta": config.delta,
        # cells record the colluding insiders' attack too; cells stored without it have
        # another spec (hence another key) and are never read back as this study's
        "insiders": "single+colluding, calibrated on the predecessor's own step, min_gain=se",
    }
    wanted = set(config.mitigations)
    if "peer_to_peer" in wanted:
        wanted.add("none")
    for seed in config.seeds:
        for nodes in config.n_nodes:
            cells = [("none", None, base, {})]
            cells += [("input_noise", s, base, {}) for s in config.input_noise]
            cells += [
                ("update_noise", s, base, {"update_clip": config.update_clip})
                for s in config.update_noise
            ]
            if config.dpsgd_epsilon is None:
                cells += [
                    ("dp_sgd", s, base, {"dpsgd_clip": config.dpsgd_clip})
                    for s in config.dpsgd_noise
                ]
            else:
                cells += [
                    ("dp_sgd", f"eps={e:g}", base, {"dpsgd_clip": config.dpsgd_clip, "target": e})
                    for e in config.dpsgd_epsilon
                ]
            cells += [
                ("random_order", f"{c}x{e}", (c, e), {}) for c, e in (base, *config.schedules)
            ]
            cells += [("more_cycles", f"{c}x{e}", (c, e), {}) for c, e in config.schedules]
            for mitigation, strength, (cycles, epochs), extra in cells:
                if mitigation not in wanted:
                    continue
                yield {
                    **common,
                    "seed": seed,
                    "n_nodes": nodes,
                    "mitigation": mitigation,
                    "strength": strength,
                    "n_cycles": cycles,
                    "local_epochs": epochs,
                    **extra,
                }


def _auc_interval(auc, n_pos, n_neg):
    """Hanley & McNeil's 95% interval of an AUC."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    half = 1.96 * math.sqrt(max(var, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


def _rate_interval(rate, n):
    """Clopper-Pearson 95% interval of a rate observed on ``n`` rows."""
    from scipy.stats import beta

    k = int(round(rate * n))
    low = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
    return low, high


def _attack_figures(membership, scores):
    """AUC and TPR at 1% FPR with 95% intervals (from ``attack_report`` where it has them)."""
    from .. import attack_report

    rep = attack_report(membership, scores).to_dict()
    n_pos, n_neg = int(rep["n_members"]), int(rep["n_non_members"])
    out = {
        "auc": rep["roc_auc"],
        "tpr_at_1_fpr": rep["tpr_at_1_fpr"],
        "accuracy": rep["accuracy"],
        "n_members": n_pos,
        "n_non_members": n_neg,
    }
    if "roc_auc_low" in rep:
        out["auc_low"], out["auc_high"] = rep["roc_auc_low"], rep["roc_auc_high"]
    else:
        out["auc_low"], out["auc_high"] = _auc_interval(rep["roc_auc"], n_pos, n_neg)
    if "tpr_at_1_fpr_low" in rep:
        out["tpr_at_1_fpr_low"] = rep["tpr_at_1_fpr_low"]
        out["tpr_at_1_fpr_high"] = rep["tpr_at_1_fpr_high"]
    else:
        out["tpr_at_1_fpr_low"], out["tpr_at_1_fpr_high"] = _rate_interval(
            rep["tpr_at_1_fpr"], n_pos
        )
    return out


class _StepScores:
    """Node-step hook: the insider's membership scores on a fixed evaluation set."""

    def __init__(self, attack, X_eval, y_eval):
        self.attack, self.X_eval, self.y_eval = attack, X_eval, y_eval
        self.scores, self.steps = [], []

    def __call__(self, federation, *, step, cycle, node, position, model, **kwargs):
        self.attack.set_params(target=model)
        self.scores.append(self.attack.decision_function(self.X_eval, self.y_eval))
        self.steps.append({"step": step, "cycle": cycle, "node": node, "position": position})


def _fit_attack(config, spec, split, rng):
    """The insider's shadow attack for one schedule, and its threshold for the audit."""
    from sklearn.dummy import DummyClassifier

    from ..metrics import EpsilonAudit
    from ..utils._random import draw_seed
    from ._cells import _attack, _target

    attack = _attack(
        config,
        _target(config, spec["local_epochs"], draw_seed(rng)),
        draw_seed(rng),
        train_size=len(split.y_target) // spec["n_nodes"],
        pool=len(split.y_shadow),
    )
    # the attack needs the target's classes to fit; the model under attack is set per step
    stand_in = DummyClassifier(strategy="prior").fit(split.X_target[:1], split.y_target[:1])
    stand_in.classes_ = np.unique(split.y_target)
    stand_in.class_prior_ = np.full(len(stand_in.classes_), 1 / len(stand_in.classes_))
    attack.set_params(target=stand_in).fit(split.X_shadow, split.y_shadow)
    # the attacker's own in/out rows: its first shadow model's, never a target row
    inside, outside = attack.shadow_indices_[0]
    rows = np.concatenate([inside, outside])
    attack.set_params(target=attack.shadow_estimators_[0])
    calibration = attack.decision_function(split.X_shadow[rows], split.y_shadow[rows])
    membership = np.r_[np.ones(len(inside), int), np.zeros(len(outside), int)]
    audit = EpsilonAudit(delta=spec["delta"]).fit(calibration, membership)
    return attack, audit


def _accountant_epsilon(spec, node_rows):
    import logging

    from ..defenses import compute_epsilon

    # dp_accounting logs every Renyi order it drops; the epsilon is unaffected
    logging.getLogger("absl").setLevel(logging.ERROR)

    delta = spec["delta"]
    if spec["mitigation"] == "update_noise":
        # every hand-off of every node over all cycles, composed (Gaussian mechanism on the
        # clipped update: a node's whole data set changes it by at most the clip norm)
        return compute_epsilon(
            spec["strength"], 1.0, spec["n_nodes"] * spec["n_cycles"], delta=delta
        )
    if spec["mitigation"] == "dp_sgd":
        # a record's gradient enters only its node's DP-SGD steps; the smallest node spends most
        worst = 0.0
        for n in node_rows:
            steps = math.ceil(n / spec["batch_size"]) * spec["local_epochs"] * spec["n_cycles"]
            rate = min(1.0, spec["batch_size"] / n)
            worst = max(worst, compute_epsilon(_dpsgd_noise(spec), rate, steps, delta=delta))
        return worst
    return None


def noise_for_epsilon(epsilon, sample_rate, n_steps, delta=1e-5, tol=1e-3):
    """The smallest noise multiplier whose DP-SGD stays within ``epsilon`` at ``delta``.

    Bisection on :func:`skfedmia.defenses.compute_epsilon` (which falls as the noise
    grows), to a relative precision ``tol`` on the noise multiplier.

    Parameters
    ----------
    epsilon : float
        Target epsilon, ``> 0``.
    sample_rate : float
        Batch size over data size, in ``(0, 1]``.
    n_steps : int
        DP-SGD steps.
    delta : float, default=1e-5
        In ``(0, 1)``.
    tol : float, default=1e-3

    Returns
    -------
    noise_multiplier : float

    Examples
    --------
    >>> from skfedmia.defenses import compute_epsilon
    >>> from skfedmia.experiments._mitigation import noise_for_epsilon
    >>> z = noise_for_epsilon(2.0, sample_rate=0.1, n_steps=100)
    >>> bool(compute_epsilon(z, 0.1, 100) <= 2.0)
    True
    """
    import logging

    from ..defenses import compute_epsilon

    ok = isinstance(epsilon, numbers.Real) and not isinstance(epsilon, bool)
    if not (ok and np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be a finite number > 0, got {epsilon!r}.")
    logging.getLogger("absl").setLevel(logging.ERROR)
    low, high = 1e-3, 1.0
    while compute_epsilon(high, sample_rate, n_steps, delta=delta) > epsilon:
        low, high = high, 2 * high
        if high > 1e6:
            raise ValueError(f"no noise multiplier reaches epsilon={epsilon!r}.")
    while high - low > tol * high:
        mid = (low + high) / 2
        if compute_epsilon(mid, sample_rate, n_steps, delta=delta) > epsilon:
            low = mid
        else:
            high = mid
    return high


def _dpsgd_noise(spec):
    """A DP-SGD cell's noise multiplier: given, or calibrated to its target epsilon."""
    if "target" not in spec:
        return spec["strength"]
    rows = spec["pools"][0] // spec["n_nodes"]
    steps = math.ceil(rows / spec["batch_size"]) * spec["local_epochs"] * spec["n_cycles"]
    return noise_for_epsilon(
        spec["target"], min(1.0, spec["batch_size"] / rows), steps, delta=spec["delta"]
    )


def _federation(config, spec, rng):
    from ..defenses import GaussianNoise
    from ..federated import SequentialFederatedClassifier
    from ..utils._random import draw_seed
    from ._cells import _target

    local = _target(config, 1, draw_seed(rng))
    params = {}
    m, s = spec["mitigation"], spec["strength"]
    if m == "input_noise":
        params["input_noise"] = s
    elif m == "update_noise":
        clip = spec["update_clip"]
        params["update_defense"] = GaussianNoise(sigma=s * clip, clip_norm=clip)
    elif m == "dp_sgd":
        dp = DPSGDCallback(
            noise_multiplier=_dpsgd_noise(spec), max_grad_norm=spec["dpsgd_clip"], random_state=0
        )
        local.set_params(callbacks=[dp])
    elif m == "random_order":
        params["node_order"] = "random"
    return SequentialFederatedClassifier(
        local,
        n_nodes=spec["n_nodes"],
        n_cycles=spec["n_cycles"],
        local_epochs=spec["local_epochs"],
        random_state=draw_seed(rng),
        **params,
    )


def run_mitigation_cell(config: MitigationConfig, spec: dict, data, attack=None) -> dict:
    """One federation of the study, attacked after every node step.

    Parameters
    ----------
    config : MitigationConfig
    spec : dict
        A cell of :func:`iter_mitigation_cells`.
    data : tuple (X, y)
    attack : tuple (attack, audit) or None
        A fitted attack for this schedule (the driver shares one across cells); ``None``
        fits one.

    Returns
    -------
    result : dict
    """
    from ._cells import _split

    seed = spec["seed"]
    split = _split(config, *data, seed)
    if attack is None:
        attack = _fit_attack(
            config, spec, split, np.random.RandomState([seed, spec["local_epochs"]])
        )
    attack, audit = attack
    # the same node split, evaluation rows and federation seed for every mitigation
    rng = np.random.RandomState([seed, 7])
    fed = _federation(config, spec, rng)
    eval_rng = np.random.RandomState([seed, 11])
    n_non = min(config.n_eval, len(split.y_test))
    non = eval_rng.choice(len(split.y_test), n_non, replace=False)

    hook = {"before": None}

    def begin_and_score(federation, *, node, model, **kwargs):
        if "scores" not in hook:  # first step: the federation's node split is known now
            parts, owner = [], []
            for k, idx in enumerate(federation.node_indices_):
                take = eval_rng.choice(idx, min(config.n_eval, len(idx)), replace=False)
                parts.append(take)
                owner.append(np.full(len(take), k))
            rows = np.concatenate(parts)
            hook["owner"] = np.r_[np.concatenate(owner), np.full(n_non, -1)]
            X_eval = np.concatenate([split.X_target[rows], split.X_test[non]])
            y_eval = np.concatenate([split.y_target[rows], split.y_test[non]])
            hook["scores"] = _StepScores(attack, X_eval, y_eval)
        hook["scores"](federation, node=node, model=model, **kwargs)
        after = model.snapshot()
        if node == 0:  # the colluders' view of N1's latest step: the models around it
            hook["n1_step"] = (hook["before"], after)
            # and the step just before it, the one N1's predecessor trained itself
            hook["own_step"] = (hook.get("previous_in"), hook["before"], hook.get("previous"))
        hook["previous_in"], hook["previous"] = hook["before"], node
        hook["before"] = after

    fed.set_params(callbacks=[begin_and_score])
    fed.fit(split.X_target, split.y_target)
    scores = np.vstack(hook["scores"].scores)
    owner = hook["owner"]
    result = _summarise(spec, fed, scores, owner, audit, split)
    result["colluding"] = _colluding(
        spec, fed, attack, split, hook, owner, np.random.RandomState([seed, 13])
    )
    return result


def _colluding(spec, fed, attack, split, hook, owner, rng):
    """The insiders just before and just after N1 in its last step, together.

    :class:`~skfedmia.attacks.membership.ColludingInsidersAttack` on the models as N1's
    last step received and left them. Its loss-drop weight and threshold come from the
    step just before N1's, which N1's predecessor trained itself: the predecessor holds the
    models that step received and left, and knows which rows it trained on (members, here
    with the same history as N1's rows: trained on at every earlier visit, under whatever
    defense the federation runs) and rows of its pool (non-members). Where that step is
    the federation's first (its input was never handed on), the colluders reproduce N1's
    step instead: a copy of the model N1 received, trained for the cell's local epochs with
    the nodes' local learner on rows of their pool. The single-snapshot part is the
    insider's shadow attack, so the pair's figures are paired with the single insider's on
    the same rows. ``None`` where no model reached N1's last step from another node (N1
    trained first of all).
    """
    from ..attacks.membership import ColludingInsidersAttack
    from ..federated._adapters import train_epochs

    before, after = hook["n1_step"]
    if before is None:
        return None
    classes = np.asarray(fed.classes_)
    pool = np.flatnonzero(np.isin(split.y_shadow, classes))
    own_in, own_out, own_node = hook["own_step"]
    if own_in is not None:
        own = fed.node_indices_[own_node]
        n = min(len(own), len(pool))
        members = rng.permutation(own)[:n]
        nonmembers = rng.permutation(pool)[:n]
        X_cal = np.concatenate([split.X_target[members], split.X_shadow[nonmembers]])
        y_cal = np.concatenate([split.y_target[members], split.y_shadow[nonmembers]])
        cal_after, cal_before, calibration = own_out, own_in, "predecessor's own step"
    else:
        n = min(len(fed.node_indices_[0]), len(pool) // 2)
        rows = rng.permutation(pool)[: 2 * n]
        members, nonmembers = rows[:n], rows[n:]
        cal_before, cal_after = before, before.snapshot()
        train_epochs(
            cal_after.estimator,
            split.X_shadow[members],
            np.searchsorted(classes, split.y_shadow[members]),
            epochs=spec["local_epochs"],
            classes=np.arange(len(classes)),
        )
        X_cal, y_cal = split.X_shadow[rows], split.y_shadow[rows]
        calibration = "reproduced step"
    pair = ColludingInsidersAttack(
        cal_after, model_before=cal_before, attack=attack, min_gain="se"
    ).fit(X_cal, y_cal, np.r_[np.ones(n, int), np.zeros(n, int)])
    pair.set_params(target=after, model_before=before)
    keep = (owner == 0) | (owner == -1)
    step_scores = hook["scores"]
    scores = pair.decision_function(step_scores.X_eval[keep], step_scores.y_eval[keep])
    # who the colluders are: the nodes that trained just before and just after N1's step
    order = fed.node_orders_.ravel()
    step = int(np.flatnonzero(order == 0)[-1])
    membership = (owner[keep] == 0).astype(int)
    single = step_scores.scores[step][keep]  # the single insider's, on the same rows
    low, high = _paired_auc_gain_interval(membership, single, scores, rng)
    return {
        **_attack_figures(membership, scores),
        "auc_gain_low": low,
        "auc_gain_high": high,
        "weight": pair.weight_,
        "calibration": calibration,
        "calibration_auc": {f"{w:g}": a for w, a in pair.calibration_auc_.items()},
        "before_node": int(order[step - 1]),
        "after_node": None if step + 1 == len(order) else int(order[step + 1]),
    }


def _summarise(spec, fed, scores, owner, audit, split):
    n_nodes, n_cycles = spec["n_nodes"], spec["n_cycles"]
    orders = fed.node_orders_
    last = n_cycles - 1
    step_of = {
        (c, int(k)): c * n_nodes + p for c in range(n_cycles) for p, k in enumerate(orders[c])
    }
    non = owner == -1
    n1 = owner == 0
    members = owner >= 0

    def figures(step, rows):
        keep = rows | non
        return _attack_figures(rows[keep].astype(int), scores[step][keep])

    true_step = step_of[(last, 0)]
    assumed_step = last * n_nodes  # where N1 trains in the fixed order
    insider = figures(true_step, n1)
    keep = n1 | non
    bound = audit.audit(scores[true_step][keep], n1[keep].astype(int))
    outsider = figures(len(scores) - 1, members)

    # which node trained when N1's rows peaked: per cycle, the step of highest AUC on N1
    from sklearn.metrics import roc_auc_score

    peak_true = peak_assumed = 0
    for c in range(n_cycles):
        steps = range(c * n_nodes, (c + 1) * n_nodes)
        aucs = [roc_auc_score(n1[keep].astype(int), scores[s][keep]) for s in steps]
        best = c * n_nodes + int(np.argmax(aucs))
        peak_true += best == step_of[(c, 0)]
        peak_assumed += best == c * n_nodes
    # node attribution in the last cycle: each member goes to the step its score rose most
    first = last * n_nodes
    before = scores[first - 1] if first > 0 else np.zeros(scores.shape[1])
    rises = np.diff(np.vstack([before, scores[first : first + n_nodes]]), axis=0)[:, members]
    position = np.argmax(rises, axis=0)
    true_node = owner[members]
    aware = orders[last][position]  # an insider who knows the order (the coordinator)
    node_rows = [len(i) for i in fed.node_indices_]
    return {
        "test_accuracy": float(fed.score(split.X_test, split.y_test)),
        "train_accuracy": float(fed.score(split.X_target, split.y_target)),
        "insider_n1": insider,
        "insider_n1_assumed_step": figures(assumed_step, n1),
        "n1_final_model": figures(len(scores) - 1, n1),
        "outsider": outsider,
        "epsilon_lower_bound": bound.to_dict(),
        "accountant_epsilon": _accountant_epsilon(spec, node_rows),
        "peak_after_n1": peak_true / n_cycles,
        "peak_at_assumed_step": peak_assumed / n_cycles,
        "attribution_aware": float(np.mean(aware == true_node)),
        "attribution_unaware": float(np.mean(position == true_node)),
        "node_orders": orders.tolist(),
        "node_rows": node_rows,
    }


# --------------------------------------------------------------------------- driver
def _load(config, seed):
    from ._cells import load_data

    return load_data(config, config.n_classes, seed)


# data of one seed and the attacks fitted on it, kept by the process computing cells
_CELL_CACHE: dict = {}


def _compute_cell(config: MitigationConfig, spec: dict):
    """One cell in the current process: ``(spec, result)``.

    Serial and parallel runs both come here. The data of the cell's seed and the insider's
    attack of its schedule are kept per process and fitted once (deterministically, from
    the seed and the schedule); every cell attacks with its own copy of the fitted attack,
    so a cell's numbers never depend on which cells ran before it in the same process.
    """
    import copy

    from ._cells import _split
    from ._driver import _cell_process

    with _cell_process(config.threads):
        seed = spec["seed"]
        fields = json.dumps(config.result_fields(), sort_keys=True, default=str)
        data_key = (fields, seed)
        if _CELL_CACHE.get("data_key") != data_key:
            _CELL_CACHE.clear()
            _CELL_CACHE.update(data_key=data_key, data=_load(config, seed), attacks={})
        data, attacks = _CELL_CACHE["data"], _CELL_CACHE["attacks"]
        key = (spec["n_nodes"], spec["local_epochs"])
        start = time.perf_counter()
        if key not in attacks:
            split = _split(config, *data, seed)
            attacks[key] = _fit_attack(
                config, spec, split, np.random.RandomState([seed, spec["local_epochs"]])
            )
        result = run_mitigation_cell(config, spec, data, copy.deepcopy(attacks[key]))
        result["seconds"] = time.perf_counter() - start
        return spec, result


def run_mitigation_study(config: MitigationConfig, out, *, verbose: int = 1, on_cell=None):
    """Run every cell of ``config`` not yet stored under ``out/cells``; return all records.

    Cells run ``config.n_jobs`` at a time (joblib; a Dask cluster behind an enclosing
    ``joblib.parallel_config(backend="dask")``), each stored atomically as soon as it
    finishes, with the numbers a serial run gives. On ``KeyboardInterrupt`` the cells
    finished so far stay stored, none arriving after the interrupt is written, and the
    interrupt is raised again.

    Parameters
    ----------
    config : MitigationConfig
    out : str or Path
    verbose : int, default=1
        ``> 0`` shows a progress bar.
    on_cell : callable, default=None
        Called with ``(spec, record, reused)`` after each cell.

    Returns
    -------
    records : list of dict
        In the order of :func:`iter_mitigation_cells`.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from ._driver import _Interrupts, _n_workers
    from ._store import CellStore

    store = CellStore(Path(out) / "cells")
    cells = list(iter_mitigation_cells(config))
    found = [store.load(s) if store.has(s) else None for s in cells]
    todo = [spec for spec, rec in zip(cells, found) if rec is None]
    records = {store.path(spec): rec for spec, rec in zip(cells, found) if rec is not None}
    bar = tqdm(
        total=len(cells), disable=not verbose, desc="cells", unit="cell", initial=len(records)
    )
    try:
        with bar, _Interrupts() as interrupts:
            if on_cell is not None:
                for spec, rec in zip(cells, found):
                    if rec is not None:
                        on_cell(spec, rec, True)
            if todo:
                n_workers = _n_workers(config, len(todo))
                if n_workers in (None, 1):
                    bar.set_postfix_str(_describe_cell(todo[0]))
                results = Parallel(n_jobs=n_workers, return_as="generator_unordered")(
                    delayed(_compute_cell)(config, spec) for spec in todo
                )
                for n, (spec, result) in enumerate(results, 1):
                    if interrupts.seen:
                        raise KeyboardInterrupt
                    record = store.save(spec, result)
                    records[store.path(spec)] = record
                    bar.update()
                    if n_workers in (None, 1) and n < len(todo):
                        bar.set_postfix_str(_describe_cell(todo[n]))
                    if on_cell is not None:
                        on_cell(spec, record, False)
    finally:
        _CELL_CACHE.clear()
    return [records[store.path(spec)] for spec in cells]


def _describe_cell(spec):
    strength = "" if spec["strength"] is None else f" {spec['strength']}"
    return f"seed {spec['seed']}, {spec['n_nodes']} nodes, {spec['mitigation']}{strength}"


# --------------------------------------------------------------------------- tables
_STRENGTH_LABEL = {
    "none": "",
    "input_noise": "sigma",
    "update_noise": "noise multiplier",
    "dp_sgd": "noise multiplier",
    "random_order": "cycles x epochs",
    "more_cycles": "cycles x epochs",
    "peer_to_peer": "",
}


#: The insider's figures kept per cell, each with its 95% interval.
_INSIDER_FIGURES = (
    "auc",
    "auc_low",
    "auc_high",
    "tpr_at_1_fpr",
    "tpr_at_1_fpr_low",
    "tpr_at_1_fpr_high",
)


def _rows(records):
    rows = []
    for rec in records:
        spec, res = rec["spec"], rec["result"]
        if spec.get("kind") != "mitigation":
            continue
        base = {
            "n_nodes": spec["n_nodes"],
            "seed": spec["seed"],
            "mitigation": spec["mitigation"],
            "strength": "" if spec["strength"] is None else str(spec["strength"]),
            "test_accuracy": res["test_accuracy"],
            "outsider_auc": res["outsider"]["auc"],
            "outsider_tpr_at_1_fpr": res["outsider"]["tpr_at_1_fpr"],
            "accountant_epsilon": res["accountant_epsilon"],
            "epsilon_lower_bound": res["epsilon_lower_bound"]["epsilon"],
            "peak_after_n1": res["peak_after_n1"],
            "peak_at_assumed_step": res["peak_at_assumed_step"],
            "attribution_aware": res["attribution_aware"],
            "attribution_unaware": res["attribution_unaware"],
            "assumed_step_auc": res["insider_n1_assumed_step"]["auc"],
            "insider_n_members": res["insider_n1"]["n_members"],
            "insider_n_non_members": res["insider_n1"]["n_non_members"],
            "delta": spec["delta"],
            "seconds": res.get("seconds", np.nan),
        }
        ins = res["insider_n1"]
        rows.append(
            {
                **base,
                **{f"insider_{k}": ins[k] for k in _INSIDER_FIGURES},
                **_colluding_columns(res.get("colluding"), ins),
                # cells of the format before the colluding figures: not measured, not n/a
                **({} if "colluding" in res else {"colluding_applies": np.nan}),
            }
        )
        if spec["mitigation"] == "none":
            # peer-to-peer: the coordinator sees only the final model
            fin = res["n1_final_model"]
            rows.append(
                {
                    **base,
                    "mitigation": "peer_to_peer",
                    "epsilon_lower_bound": np.nan,
                    **{f"insider_{k}": fin[k] for k in _INSIDER_FIGURES},
                    # nobody the coordinator could collude with hands it an intermediate model
                    **_colluding_columns(None, fin),
                }
            )
    return pd.DataFrame(rows)


def _paired_auc_gain_interval(membership, single, pair, rng, n_boot=500):
    """95% percentile interval of AUC(pair) - AUC(single), resampling rows per class."""
    from sklearn.metrics import roc_auc_score

    pos, neg = np.flatnonzero(membership == 1), np.flatnonzero(membership == 0)
    gains = np.empty(n_boot)
    for b in range(n_boot):
        rows = np.r_[rng.choice(pos, len(pos)), rng.choice(neg, len(neg))]
        m = membership[rows]
        gains[b] = roc_auc_score(m, pair[rows]) - roc_auc_score(m, single[rows])
    return float(np.quantile(gains, 0.025)), float(np.quantile(gains, 0.975))


def _colluding_columns(pair, single):
    """The colluding insiders' figures and their paired gain over the single insider."""
    if pair is None:
        out = {f"colluding_{k}": np.nan for k in _INSIDER_FIGURES}
        out.update(
            colluders="",
            colluding_applies=False,
            colluding_auc_gain=np.nan,
            colluding_auc_gain_cell_low=np.nan,
            colluding_auc_gain_cell_high=np.nan,
            colluding_tpr_gain=np.nan,
            colluding_weight=np.nan,
            colluding_calibration_gain=np.nan,
        )
        return out
    out = {f"colluding_{k}": pair[k] for k in _INSIDER_FIGURES}
    after = pair["after_node"]
    out.update(
        colluders=f"N{pair['before_node'] + 1} and "
        + ("all (final model)" if after is None else f"N{after + 1}"),
        colluding_applies=True,
        colluding_auc_gain=pair["auc"] - single["auc"],
        colluding_auc_gain_cell_low=pair["auc_gain_low"],
        colluding_auc_gain_cell_high=pair["auc_gain_high"],
        colluding_tpr_gain=pair["tpr_at_1_fpr"] - single["tpr_at_1_fpr"],
        colluding_weight=pair["weight"],
        # what the chosen weight gained on the colluders' own step, to set beside the gain
        # it brings on N1's rows
        colluding_calibration_gain=pair["calibration_auc"][f"{pair['weight']:g}"]
        - pair["calibration_auc"]["0"],
    )
    return out


def mitigation_table(records) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-cell rows and their means over seeds, one row per (nodes, mitigation, strength).

    Returns
    -------
    cells, summary : pandas.DataFrame
        ``summary`` holds means over seeds (intervals averaged) and ``n_seeds``.
    """
    cells = _rows(records)
    if cells.empty:
        return cells, cells
    order = {m: i for i, m in enumerate(MITIGATIONS)}
    cells["accountant_epsilon"] = pd.to_numeric(cells["accountant_epsilon"], errors="coerce")
    keys = ["n_nodes", "mitigation", "strength"]
    numeric = [c for c in cells.columns if c not in (*keys, "seed", "colluders")]
    summary = cells.groupby(keys, as_index=False)[numeric].mean(numeric_only=True)
    summary["test_accuracy_sd"] = (
        cells.groupby(keys)["test_accuracy"]
        .std()
        .reindex(pd.MultiIndex.from_frame(summary[keys]))
        .values
    )
    summary["n_seeds"] = (
        cells.groupby(keys)["seed"]
        .nunique()
        .reindex(pd.MultiIndex.from_frame(summary[keys]))
        .values
    )
    # colluding minus single insider, paired per seed: mean and 95% t-interval over seeds
    from ._verdicts import mean_interval

    index = pd.MultiIndex.from_frame(summary[keys])
    for gain in ("colluding_auc_gain", "colluding_tpr_gain"):
        stats = cells.groupby(keys)[gain].apply(mean_interval).reindex(index)
        summary[gain] = [s[0] for s in stats]
        summary[gain + "_low"] = [s[1] for s in stats]
        summary[gain + "_high"] = [s[2] for s in stats]
    # whether any seed's cell has colluders (its figures are means over those seeds); nan
    # where no cell measured it (cells stored before the colluding figures)
    applies = cells.groupby(keys)["colluding_applies"].agg(
        lambda v: bool(v[v.notna()].astype(bool).any()) if v.notna().any() else np.nan
    )
    summary["colluding_applies"] = applies.reindex(index).values
    summary["colluding_n_seeds"] = (
        cells.groupby(keys)["colluding_auc"].count().reindex(index).values
    )
    if "colluders" in cells:
        summary["colluders"] = (
            cells.groupby(keys)["colluders"]
            .agg(lambda v: "; ".join(dict.fromkeys(x for x in v if isinstance(x, str) and x)))
            .reindex(index)
            .values
        )
    summary["_order"] = summary["mitigation"].map(order)
    summary["_strength"] = summary["strength"].map(_strength_key)
    summary = summary.sort_values(["n_nodes", "_order", "_strength"]).drop(
        columns=["_order", "_strength"]
    )
    return cells, summary.reset_index(drop=True)


def _strength_key(text):
    if not text:
        return -1.0
    if "x" in text:
        return float(text.split("x")[0])
    if text.startswith("eps="):
        return float(text[4:])
    return float(text)


# --------------------------------------------------------------------------- figure
def plot_privacy_utility(summary: pd.DataFrame, folder, title="") -> list[Path]:
    """One privacy/utility figure per node count: accuracy vs insider TPR@1%FPR and AUC.

    A curve per mitigation through its strengths; error bars are the 95% intervals
    (averaged over seeds) of the insider's figures, and the seed standard deviation of the
    accuracy; the undefended federation is a black star. The colluding insiders' figures,
    where they apply, are the same markers hollow on dashed lines (without error bars).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    colors = dict(zip(MITIGATIONS[1:], plt.get_cmap("tab10").colors, strict=False))
    markers = dict(zip(MITIGATIONS[1:], "osD^vP", strict=False))
    for nodes, part in summary.groupby("n_nodes"):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
        for ax, (col, name) in zip(
            axes,
            [("insider_tpr_at_1_fpr", "insider TPR at 1% FPR"), ("insider_auc", "insider AUC")],
            strict=True,
        ):
            for m in MITIGATIONS:
                rows = part[part["mitigation"] == m]
                if rows.empty:
                    continue
                x = rows["test_accuracy"].to_numpy()
                y = rows[col].to_numpy()
                yerr = np.abs(np.vstack([y - rows[col + "_low"], rows[col + "_high"] - y]))
                xerr = np.nan_to_num(rows["test_accuracy_sd"].to_numpy())
                if m == "none":
                    ax.errorbar(
                        x,
                        y,
                        yerr=yerr,
                        xerr=xerr,
                        fmt="*",
                        color="black",
                        markersize=14,
                        label="undefended",
                        zorder=5,
                    )
                    continue
                ax.errorbar(
                    x,
                    y,
                    yerr=yerr,
                    xerr=xerr,
                    fmt="-" + markers[m],
                    color=colors[m],
                    label=m.replace("_", " "),
                    capsize=2,
                    markersize=5,
                    linewidth=1.2,
                    alpha=0.9,
                )
                for xi, yi, s in zip(x, y, rows["strength"], strict=True):
                    if s:
                        ax.annotate(
                            s, (xi, yi), fontsize=6, xytext=(3, 3), textcoords="offset points"
                        )
            _plot_colluding(ax, part, col.replace("insider_", "colluding_"), colors, markers)
            ax.set_xlabel("test accuracy")
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
        axes[1].axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
        axes[0].legend(fontsize=7)
        fig.suptitle(f"Privacy and utility of the mitigations, {title}{nodes} nodes")
        path = folder / f"privacy_utility_nodes_{nodes}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def _plot_colluding(ax, part, col, colors, markers):
    """The colluding insiders' figure of every mitigation: hollow markers, dashed lines."""
    if col not in part or not part[col].notna().any():
        return
    shown = False
    for m in MITIGATIONS:
        rows = part[(part["mitigation"] == m) & part[col].notna()]
        if rows.empty:
            continue
        color = "black" if m == "none" else colors[m]
        ax.plot(
            rows["test_accuracy"],
            rows[col],
            linestyle="" if m == "none" else "--",
            marker="*" if m == "none" else markers[m],
            markersize=12 if m == "none" else 5,
            markerfacecolor="none",
            color=color,
            linewidth=0.9,
            alpha=0.8,
            label=None if shown else "colluding insiders (hollow, dashed)",
        )
        shown = True


# --------------------------------------------------------------------------- report
def _md(df):
    def cell(v):
        if isinstance(v, float | np.floating):
            if np.isnan(v):
                return "–"
            if np.isinf(v):
                return "∞"
            return f"{v:.3g}" if abs(v) >= 100 else f"{v:.3f}"
        return str(v)

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def _findings(part, tolerance):
    """Generated sentences per mitigation, best at equal accuracy, the paper's expectations."""
    lines = []
    none = part[part["mitigation"] == "none"]
    if none.empty:
        return ["(no undefended cell)"]
    none = none.iloc[0]
    adv0 = none["insider_auc"] - 0.5
    acc0 = none["test_accuracy"]
    lines.append(
        f"- Undefended: test accuracy {acc0:.3f}, insider AUC on N1 {none['insider_auc']:.3f}, "
        f"TPR@1%FPR {none['insider_tpr_at_1_fpr']:.3f}, outsider AUC {none['outsider_auc']:.3f}."
    )
    for m in MITIGATIONS[1:]:
        rows = part[part["mitigation"] == m]
        if rows.empty:
            continue
        bits = []
        for r in rows.itertuples(index=False):
            removed = 1 - (r.insider_auc - 0.5) / adv0 if adv0 > 0 else np.nan
            clear = r.insider_auc_high < none["insider_auc"]
            bits.append(
                f"{r.strength or 'final model only'}: insider AUC {r.insider_auc:.3f} "
                f"[{r.insider_auc_low:.3f}, {r.insider_auc_high:.3f}]"
                + (" (interval below the undefended AUC)" if clear else "")
                + f", {100 * removed:.0f}% of the AUC advantage removed, TPR@1% "
                f"{r.insider_tpr_at_1_fpr:.3f}; accuracy {r.test_accuracy:.3f} "
                f"({100 * (r.test_accuracy - acc0):+.1f} points)"
            )
        label = _STRENGTH_LABEL[m]
        lines.append(
            f"- **{m.replace('_', ' ')}**"
            + (f" ({label})" if label else "")
            + ": "
            + "; ".join(bits)
            + "."
        )
    eligible = part[(part["mitigation"] != "none") & (part["test_accuracy"] >= acc0 - tolerance)]
    if eligible.empty:
        lines.append(
            f"- No mitigation keeps accuracy within {tolerance:.2f} of the undefended model."
        )
    else:
        best = eligible.sort_values("insider_auc").iloc[0]
        lines.append(
            f"- **Best at equal accuracy** (within {tolerance:.2f} of undefended): "
            f"{best['mitigation'].replace('_', ' ')} {best['strength']} — insider AUC "
            f"{best['insider_auc']:.3f} at accuracy {best['test_accuracy']:.3f}."
        )
    fixed = part[part["mitigation"] == "more_cycles"]
    rand = part[part["mitigation"] == "random_order"]
    if not rand.empty:
        r = rand.iloc[0]
        chance = 1 / part["n_nodes"].iloc[0]
        holds = rand["attribution_unaware"].mean() < none["attribution_unaware"]
        lines.append(
            f"- *Paper: random order hides which node a record came from.* An insider who "
            f"assumes the fixed order attributes {100 * none['attribution_unaware']:.0f}% of "
            f"members to their node under the fixed order, and "
            f"{100 * rand['attribution_unaware'].mean():.0f}% on average over the random-order "
            f"schedules ({', '.join(f'{100 * a:.0f}%' for a in rand['attribution_unaware'])}; "
            f"{100 * chance:.0f}% in expectation over orders). The insider who knows the order "
            f"(the coordinator) still gets {100 * r['attribution_aware']:.0f}% at "
            f"{r['strength']}. N1's AUC peaks right after N1 in "
            f"{100 * r['peak_after_n1']:.0f}% of cycles, at the step the fixed order predicts "
            f"in {100 * r['peak_at_assumed_step']:.0f}%; an insider attacking that step gets AUC "
            f"{r['assumed_step_auc']:.3f} instead of {r['insider_auc']:.3f}. "
            + (
                "Holds against insiders who do not learn the order; not against the coordinator."
                if holds
                else "Does not hold here."
            )
        )
    if not fixed.empty:
        lower = bool((fixed["insider_auc"] < none["insider_auc"]).all())
        beyond = fixed["strength"][fixed["insider_auc_high"] < none["insider_auc"]].tolist()
        if lower and len(beyond) == len(fixed):
            verdict = "Holds at every schedule, beyond the 95% intervals."
        elif lower:
            verdict = (
                "Lower at every schedule, but beyond the 95% interval only at "
                + ", ".join(beyond)
                + "; not shown at the others with this many rows and seeds."
                if beyond
                else "Lower at every schedule, but within the 95% intervals: not shown with "
                "this many rows and seeds."
            )
        else:
            verdict = "Does not hold at every schedule."
        lines.append(
            "- *Paper: more cycles with fewer epochs lowers the risk.* Insider AUC "
            + ", ".join(
                f"{s}: {a:.3f}"
                for s, a in zip(fixed["strength"], fixed["insider_auc"], strict=True)
            )
            + f" vs {none['insider_auc']:.3f} undefended; accuracy "
            + ", ".join(f"{a:.3f}" for a in fixed["test_accuracy"])
            + f" vs {acc0:.3f}. "
            + verdict
        )
    dp = part[part["mitigation"].isin(["update_noise", "dp_sgd"])]
    if not dp.empty:
        gaps = dp["accountant_epsilon"] / dp["epsilon_lower_bound"].where(
            dp["epsilon_lower_bound"] > 0
        )
        from ..metrics._audit import _bound

        n_pos = int(part["insider_n_members"].min())
        n_neg = int(part["insider_n_non_members"].min())
        ceiling = float(
            _bound(np.array([0]), np.array([0]), n_neg, n_pos, none["delta"], 0.95)[0][0]
        )
        lines.append(
            f"- *Audit ceiling.* With {n_pos} members and {n_neg} non-members, a perfect attack "
            f"would prove ε ≥ {ceiling:.2f} at most; larger accountant ε cannot be refuted with "
            "this many rows."
        )
        lines.append(
            "- *Audit.* The attack proves at most ε ≥ "
            f"{dp['epsilon_lower_bound'].max():.3f} where the accountant allows "
            f"{dp['accountant_epsilon'].min():.3g} to {dp['accountant_epsilon'].max():.3g}; "
            + (
                f"the accountant's ε is at least {np.nanmin(gaps):.3g} times what the "
                "attack proves."
                if np.isfinite(gaps).any()
                else "the attack proves no positive ε at any DP setting, so the gap is the whole "
                "accountant ε."
            )
        )
    return lines


def _collusion_section(part):
    """The colluding insiders' table and, per mitigation, whether they learn more."""
    cols = {
        "mitigation": "mitigation",
        "strength": "strength",
        "colluders": "colluders",
        "insider_auc": "single AUC",
        "colluding_auc": "colluding AUC",
        "colluding_auc_low": "low",
        "colluding_auc_high": "high",
        "colluding_auc_gain": "AUC gain",
        "colluding_auc_gain_low": "seeds low",
        "colluding_auc_gain_high": "seeds high",
        "colluding_auc_gain_cell_low": "rows low",
        "colluding_auc_gain_cell_high": "rows high",
        "insider_tpr_at_1_fpr": "single TPR@1%",
        "colluding_tpr_at_1_fpr": "colluding TPR@1%",
        "colluding_tpr_at_1_fpr_low": "low ",
        "colluding_tpr_at_1_fpr_high": "high ",
        "colluding_tpr_gain": "TPR gain",
        "colluding_weight": "loss-drop weight",
        "colluding_calibration_gain": "own-step gain",
        "colluding_n_seeds": "seeds",
    }
    table = part[list(cols)].rename(columns=cols).astype(object)
    off = (part["colluding_applies"] == False).to_numpy()  # noqa: E712
    table.loc[off, list(cols.values())[3:-1]] = "n/a"
    table.loc[off, "single AUC"] = part.loc[off, "insider_auc"].to_numpy()
    table.loc[off, "single TPR@1%"] = part.loc[off, "insider_tpr_at_1_fpr"].to_numpy()
    lines = [
        "### Colluding insiders",
        "",
        "The colluding insiders' attack beside the single insider's on the same rows. AUC "
        "gain: colluding minus single, mean over seeds; *seeds low/high*: its 95% t-interval "
        "over seeds (– with one seed); *rows low/high*: the per-cell paired bootstrap "
        "interval, averaged over seeds. Loss-drop weight: mean over seeds of the weight the "
        "colluders chose (0: the loss drop did not gain at least one standard error of "
        "AUC on their calibration step, so they fall back to the single snapshot); "
        "*own-step gain*: the AUC that weight added on that step (N1's predecessor's own "
        "step), over the single snapshot. *seeds*: the seeds with colluders (the colluding "
        "figures and the gain are means over those; a random order can put N1 first of "
        "all).",
        "",
        _md(table),
        "",
        "Do colluding insiders learn more than the single insider?",
        "",
    ]
    for r in part.itertuples(index=False):
        name = f"**{r.mitigation.replace('_', ' ')}**" + (f" {r.strength}" if r.strength else "")
        if pd.isna(r.colluding_applies) or not r.colluding_applies:
            if r.mitigation == "peer_to_peer":
                lines.append(
                    f"- {name}: n/a — the coordinator sees only the final model; N1's "
                    "neighbours, who still see the models around N1's step, are the undefended "
                    "row's colluders."
                )
            else:
                lines.append(f"- {name}: n/a — no model reached N1's last step from another node.")
            continue
        if np.isfinite(r.colluding_auc_gain_low):
            low, high, over = r.colluding_auc_gain_low, r.colluding_auc_gain_high, "seeds"
        else:
            low, high = r.colluding_auc_gain_cell_low, r.colluding_auc_gain_cell_high
            over = "rows (one seed)"
        if low > 0:
            verdict = "yes, the colluders learn more"
        elif high < 0:
            verdict = "no, the colluders learn less"
        else:
            verdict = "no difference shown"
        lines.append(
            f"- {name}: AUC {r.insider_auc:.3f} single vs {r.colluding_auc:.3f} colluding, "
            f"gain {r.colluding_auc_gain:+.3f} [{low:+.3f}, {high:+.3f}] over {over}; "
            f"TPR@1% {r.insider_tpr_at_1_fpr:.3f} vs {r.colluding_tpr_at_1_fpr:.3f} — "
            f"{verdict}."
        )
    return [*lines, ""]


def _shown_fields(config):
    """The configuration as the report shows it: a data file by its name only."""
    fields = config.result_fields()
    if fields.get("data_path"):
        fields["data_path"] = Path(fields["data_path"]).name
    return fields


def write_mitigation_report(records, out, config: MitigationConfig | None = None, tolerance=0.02):
    """Write ``cells``/``summary`` CSV and JSON, the figures and ``report.md`` into ``out``.

    Parameters
    ----------
    records : list of dict
        Cell records of the mitigation study.
    out : str or Path
        Output folder, created if needed.
    config : MitigationConfig, default=None
        The study's configuration, named in the report and the figures' titles.
    tolerance : float, default=0.02
        Test accuracy a mitigation may lose against the undefended model and still count
        as keeping its accuracy in the report's findings.

    Returns
    -------
    paths : dict
        Name -> path of every file written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cells, summary = mitigation_table(records)
    paths = {}
    for name, df in (("mitigation_cells", cells), ("mitigation_summary", summary)):
        csv, js = out / f"{name}.csv", out / f"{name}.json"
        df.to_csv(csv, index=False)
        js.write_text(df.to_json(orient="records", indent=1))
        paths[name + ".csv"], paths[name + ".json"] = csv, js
    dataset = config.dataset if config is not None else ""
    for p in plot_privacy_utility(
        summary, out / "figures", title=f"{dataset}, " if dataset else ""
    ):
        paths[p.name] = p
    lines = ["# Mitigations of insider membership inference in sequential federated learning", ""]
    if config is not None:
        from ._store import coverage_lines

        lines += coverage_lines(
            list(iter_mitigation_cells(config)),
            records,
            by="mitigation",
            covers="table, figure and finding",
        )
        lines += [
            f"Data: {config.dataset}, {config.n_classes} classes; seeds {list(config.seeds)}; "
            f"undefended schedule {config.n_cycles} cycles x {config.local_epochs} epochs per "
            f"node; {config.n_shadow_models} shadow models; {config.n_eval} evaluated member "
            f"rows per node and as many non-members. Accountant ε and the empirical bound at "
            f"δ = {config.delta:g}; the bound at 95% confidence. Update noise clips a node's "
            f"update to L2 norm {config.update_clip:g}; DP-SGD clips every example to "
            f"{config.dpsgd_clip:g}.",
            "",
            "```json",
            json.dumps(_shown_fields(config), default=str),
            "```",
            "",
        ]
    lines += [
        "Insider: the shadow attack on N1's rows against the model right after N1's visit in "
        "the last cycle (the coordinator knows when; under a random order so does anyone told "
        "the order). Peer-to-peer: the coordinator sees only the final model, so its insider "
        "figures are the attack on N1's rows against the final model. Outsider: all nodes' "
        "rows against the final model. Intervals are 95% (Hanley-McNeil for AUC, "
        "Clopper-Pearson for TPR at the 1% FPR threshold, which itself is not re-sampled), "
        "averaged over seeds. The accountant's ε for update noise composes every node's "
        "hand-off over all cycles (node-level sensitivity, so it covers every record); for "
        "DP-SGD it is the ε of the node that spends most (Poisson-sampling accountant applied "
        "to shuffled batches, the usual approximation). The empirical lower bound uses the "
        "insider's decisions at a threshold fit on the attacker's own shadow rows; it treats "
        "N1's evaluated records as independent trials.",
        "",
        "Colluding insiders: the nodes just before and just after N1's step in the last "
        "cycle pool what they see, the model as it reached N1 and as it left N1 "
        "(`ColludingInsidersAttack`: the single insider's shadow-attack score plus a weight "
        "times each record's loss drop across the step). They choose the weight and "
        "threshold on the step just before N1's, which N1's predecessor trained itself: its "
        "own training rows (members, with N1's history: trained on at every earlier visit, "
        "under the federation's defense) against its pool rows, keeping a weight only if it "
        "gains at least one standard error of the paired AUC difference there. (Where that "
        "step was the federation's first, they reproduce N1's step on their pool rows "
        "instead.) Their scores are on the same "
        "rows as the single insider's, so the difference of the two is paired: per cell a "
        "bootstrap interval over the rows (both classes resampled, 500 times), and over "
        "seeds the mean difference with its 95% t-interval. In a fixed order the colluders "
        "are N1's predecessor (from the previous cycle) and successor; under a random order "
        "they are whoever that cycle's order put around N1, and the figure assumes they know "
        "that N1 trained between them (they know whom they received the model from and "
        "handed it to, i.e. that cycle's order around them) — without that they cannot tell "
        "whose step they saw. Where N1 trained first of all (one cycle, N1 first), nobody "
        "handed it a model: n/a. Peer-to-peer: n/a for the coordinator, which sees only the "
        "final model and no intermediate one to combine it with; N1's neighbours in the ring "
        "still receive and pass on the model, so they can collude exactly as in the "
        "undefended federation (its row's colluding figures).",
        "",
    ]
    for nodes, part in summary.groupby("n_nodes"):
        lines += [f"## {nodes} nodes", ""]
        show = part[
            [
                "mitigation",
                "strength",
                "test_accuracy",
                "insider_tpr_at_1_fpr",
                "insider_tpr_at_1_fpr_low",
                "insider_tpr_at_1_fpr_high",
                "insider_auc",
                "insider_auc_low",
                "insider_auc_high",
                "colluding_tpr_at_1_fpr",
                "colluding_auc",
                "outsider_auc",
                "accountant_epsilon",
                "epsilon_lower_bound",
                "n_seeds",
            ]
        ].rename(
            columns={
                "test_accuracy": "accuracy",
                "insider_tpr_at_1_fpr": "insider TPR@1%",
                "insider_tpr_at_1_fpr_low": "low",
                "insider_tpr_at_1_fpr_high": "high",
                "insider_auc": "insider AUC",
                "insider_auc_low": "low ",
                "insider_auc_high": "high ",
                "colluding_tpr_at_1_fpr": "colluding TPR@1%",
                "colluding_auc": "colluding AUC",
                "outsider_auc": "outsider AUC",
                "accountant_epsilon": "accountant ε",
                "epsilon_lower_bound": "ε lower bound",
            }
        )
        show = show.astype(object)
        for col in ("colluding TPR@1%", "colluding AUC"):
            show.loc[(part["colluding_applies"] == False).to_numpy(), col] = "n/a"  # noqa: E712
        lines += [_md(show), ""]
        order = part[
            [
                "mitigation",
                "strength",
                "peak_after_n1",
                "peak_at_assumed_step",
                "assumed_step_auc",
                "attribution_aware",
                "attribution_unaware",
            ]
        ]
        order = order[order["mitigation"].isin(["none", "random_order", "more_cycles"])]
        lines += [
            "Where N1's records show: share of cycles whose highest AUC on N1 comes right after "
            "N1 trained / at the step the fixed order predicts, the AUC at that predicted step, "
            "and the share of members attributed to their node (from the step their score rose "
            "most in the last cycle) by an insider who knows the order and by one who assumes "
            "the fixed order.",
            "",
            _md(order),
            "",
            f"![privacy and utility, {nodes} nodes](figures/privacy_utility_nodes_{nodes}.png)",
            "",
        ]
        if "colluding_auc" in part and part["colluding_applies"].notna().any():
            lines += _collusion_section(part)
        lines += [
            "### Findings",
            "",
            *_findings(part, tolerance),
            "",
        ]
    report = out / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    paths["report.md"] = report
    return paths


# --------------------------------------------------------------------------- CLI
def _split_words(text, cast):
    return None if text is None else tuple(cast(v) for v in text.replace(",", " ").split())


def mitigate(args, error) -> int:
    """Run ``skfedmia mitigate`` from parsed arguments; ``error`` is the parser's."""
    import torch

    try:
        given = {
            "dataset": args.dataset,
            "data_path": args.data_path,
            "n_classes": args.classes,
            "n_nodes": _split_words(args.nodes, int),
            "seeds": _split_words(args.seeds, int),
            "mitigations": _split_words(args.mitigations, str),
            "delta": args.delta,
            "dpsgd_epsilon": _split_words(args.dpsgd_epsilon, float),
            "device": args.device,
            "n_jobs": None if args.scheduler else args.n_jobs,
            "threads": args.threads,
        }
        given = {k: v for k, v in given.items() if v is not None}
        if given.get("dataset") == "location" and "n_classes" not in given:
            given["n_classes"] = 30
        config = MitigationConfig.quick(**given) if args.quick else MitigationConfig(**given)
    except ValueError as exc:
        error(str(exc))
    from ._cli import _check_data, _check_device, _check_out_folder, _check_scheduler

    _check_data(config, error)
    _check_device(config.device, error)
    _check_out_folder(args.out, error)
    client = _check_scheduler(args.scheduler, error) if args.scheduler is not None else None
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    if client is not None:
        from joblib import parallel_config

        with client, parallel_config(backend="dask", n_jobs=args.n_jobs):
            records = run_mitigation_study(config, args.out, verbose=0 if args.quiet else 1)
    else:
        records = run_mitigation_study(config, args.out, verbose=0 if args.quiet else 1)
    paths = write_mitigation_report(records, args.out, config=config)
    print(
        f"done in {time.perf_counter() - start:.0f} s; {len(records)} cells; "
        f"report: {paths['report.md']}"
    )
    return 0
