"""A federation hook that reconstructs every node's records from what the node sends."""

from __future__ import annotations

import numbers
import time

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import Interval, StrOptions

from ...federated import NodeCallback
from ._attack import GradientInversionAttack
from ._dropout import dropout_layers
from ._model import resolve_module

__all__ = ["GradientLeakageRecorder"]

_OPTIMIZERS = {"sgd": "sgd", "adam": "adam"}


class GradientLeakageRecorder(NodeCallback):
    """Reconstruct each node's records from the update it sends, and record the quality.

    A node hook for :class:`~skfedmia.SequentialFederatedClassifier` and
    :class:`~skfedmia.FederatedAveragingClassifier`. After every chosen node step it
    receives the parameters before the node trained, the parameters the node sends on
    (after the federation's ``update_defense``) and the node's training settings, runs
    ``attack.reconstruct(..., update=(before, sent))`` replaying the node's local steps,
    and scores the result against the node's true rows.

    The replay assumes what :meth:`GradientInversionAttack.reconstruct` assumes: dropout
    replaced by its expectation (the model runs in eval mode), fresh optimizer state
    (the federation's ``optimizer_state="reset"``), and minibatches of consecutive
    records, which matches shuffled training exactly (up to record order) when a node's
    rows fit in one batch. Every record lists the assumptions that did not hold.

    Parameters
    ----------
    attack : GradientInversionAttack or None, default=None
        The attack, cloned at every step; ``None`` is ``GradientInversionAttack()`` with
        ``random_state=0``.
    X_public : array-like of shape (n_samples, n_features) or None, default=None
        Public records the attack's prior is fitted on.
    steps : "all" or iterable of (cycle, node), default="all"
        Node steps to attack.
    max_rows : int, default=64
        Nodes with more rows are not attacked (a record with ``skipped`` is kept).
    model_defense : bool, default=True
        When the federation has an ``update_defense`` and ``attack`` names none, attack
        with ``loss="bayes"`` and that defense.
    known_labels : bool, default=False
        Give the attack the node's labels instead of recovering them.

    Attributes
    ----------
    records_ : list of dict
        One per attacked node step: ``step``, ``cycle``, ``node``, ``n_rows``,
        ``defended``, ``method``, the scores of ``attack.score`` (``f1``/``accuracy``
        for binary rows, ``accuracy`` for mixed tables, ``mse`` for continuous rows),
        ``cpu_seconds``, ``assumptions`` and ``result`` (the reconstruction); or
        ``skipped`` with the reason.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skfedmia import SequentialFederatedClassifier, TorchMLPClassifier
    >>> from skfedmia.attacks.gradient_leakage import (
    ...     GradientInversionAttack, GradientLeakageRecorder)
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(12, 10) < 0.3).astype(np.float32)
    >>> y = np.arange(12) % 2
    >>> net = TorchMLPClassifier(hidden_layer_sizes=(8,), dropout=0.0,
    ...                          optimizer=torch.optim.SGD, lr=0.5, random_state=0)
    >>> rec = GradientLeakageRecorder(
    ...     GradientInversionAttack(n_restarts=1, max_iter=50, refine_iter=10,
    ...                             random_state=0), steps=[(0, 0)])
    >>> fed = SequentialFederatedClassifier(net, n_nodes=3, n_cycles=1,
    ...                                     callbacks=[rec], random_state=0).fit(X, y)
    >>> sorted(k for k in rec.records_[0] if k in ("f1", "method", "n_rows"))
    ['f1', 'method', 'n_rows']
    """

    _parameter_constraints: dict = {
        "attack": [GradientInversionAttack, None],
        "X_public": ["array-like", None],
        "steps": [StrOptions({"all"}), "array-like", list, tuple, set],
        "max_rows": [Interval(numbers.Integral, 1, None, closed="left")],
        "model_defense": ["boolean"],
        "known_labels": ["boolean"],
    }

    def __init__(
        self,
        attack=None,
        *,
        X_public=None,
        steps="all",
        max_rows=64,
        model_defense=True,
        known_labels=False,
    ):
        self.attack = attack
        self.X_public = X_public
        self.steps = steps
        self.max_rows = max_rows
        self.model_defense = model_defense
        self.known_labels = known_labels

    def on_fit_begin(self, federation, X, y):
        """Check the parameters and start a fresh list of records.

        Parameters
        ----------
        federation : SequentialFederatedClassifier
            The federation that starts training.
        X, y : ndarray
            The whole training data (unused).
        """
        self._validate_params()
        if isinstance(self.steps, str):
            self._wanted = None
        else:
            try:
                self._wanted = {(int(c), int(n)) for c, n in self.steps}
            except (TypeError, ValueError):
                raise ValueError(
                    f"steps must be 'all' or (cycle, node) pairs, got {self.steps!r}."
                ) from None
        self.records_ = []

    def _attack_for(self, federation):
        attack = GradientInversionAttack(random_state=0) if self.attack is None else self.attack
        attack = clone(attack)
        defense = getattr(federation, "update_defense", None)
        if self.model_defense and defense is not None and attack.defense is None:
            attack.set_params(loss="bayes", defense=defense)
        if self.X_public is not None:
            attack.fit(self.X_public)
        return attack

    def on_node_end(self, federation, *, step, cycle, node, model, X, y, update=None, **kwargs):
        """Attack the node's update and append a record to ``records_``.

        Parameters
        ----------
        federation : SequentialFederatedClassifier
            The federation being trained.
        step, cycle, node : int
            Global step, cycle and node of the update (see
            :meth:`~skfedmia.federated.NodeCallback.on_node_end`).
        model : NodeModel
            The model as it leaves the node.
        X, y : ndarray
            The node's rows and labels, against which the reconstruction is scored.
        update : dict, default=None
            The node's parameters before and after its training and its training
            settings; ``None`` when the federation could not read them (the step is then
            recorded as skipped).
        **kwargs
            Further arguments of the hook, unused.
        """
        if not hasattr(self, "records_"):
            raise RuntimeError("on_fit_begin was not called: pass the recorder to a federation.")
        if self._wanted is not None and (cycle, node) not in self._wanted:
            return
        record = {"step": step, "cycle": cycle, "node": node, "n_rows": len(y)}
        self.records_.append(record)
        if update is None:
            record["skipped"] = "the federation could not read the node's parameters"
            return
        settings = update["training"]
        optimizer = _OPTIMIZERS.get(settings["optimizer"])
        if optimizer is None or settings["lr"] is None:
            record["skipped"] = f"cannot replay optimizer {settings['optimizer']!r}"
            return
        if len(y) > self.max_rows:
            record["skipped"] = f"{len(y)} rows > max_rows={self.max_rows}"
            return
        assumptions = []
        if settings["dropout"] > 0 and dropout_layers(resolve_module(model)) is None:
            assumptions.append(f"dropout {settings['dropout']} replaced by its expectation")
        batch = settings["batch_size"]
        batch = len(y) if batch is None or batch <= 0 else min(batch, len(y))
        if settings["shuffle"] and batch < len(y):
            assumptions.append("shuffled minibatches replayed as fixed blocks")
        if getattr(federation, "optimizer_state", "reset") != "reset" and optimizer != "sgd":
            assumptions.append("optimizer state replayed as fresh")
        if getattr(federation, "input_noise", 0) > 0 or getattr(federation, "sampler", None):
            assumptions.append("input noise or resampling not modelled")
        attack = self._attack_for(federation)
        y_codes = np.searchsorted(federation.classes_, np.asarray(y))
        t0 = time.process_time()
        result = attack.reconstruct(
            model,
            update=(update["params_before"], update["params_sent"]),
            lr=float(settings["lr"]),
            local_epochs=settings["local_epochs"],
            local_batch_size=batch,
            local_optimizer=optimizer,
            local_dropout=float(settings["dropout"]),
            batch_size=len(y),
            labels=y_codes if self.known_labels else None,
        )
        record.update(
            cpu_seconds=time.process_time() - t0,
            defended=bool(update["defended"]),
            method=result.method_,
            assumptions=assumptions,
            result=result,
        )
        record.update(attack.report(result, np.asarray(X, dtype=np.float64), y_codes))

    def history(self, key):
        """One value per attacked node step (``nan`` where skipped), e.g. ``"f1"``.

        Parameters
        ----------
        key : str
            Name of a score of the records, such as ``"f1"`` or ``"cpu_seconds"``.
        """
        if not isinstance(key, str):
            raise TypeError(f"key must be a score name (str), got {type(key).__name__}.")
        return np.array([r.get(key, np.nan) for r in getattr(self, "records_", [])], dtype=float)
