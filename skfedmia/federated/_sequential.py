"""Sequential (cyclic incremental) federated learning."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from tqdm.auto import tqdm

from ..neural_net._ensemble import can_fit_together, train_epochs_lean
from ..utils._random import draw_seed, torch_seed_context
from ._adapters import (
    get_flat_params,
    get_optimizer_state,
    initialize,
    reset_optimizer,
    set_flat_params,
    set_optimizer_state,
    supports_flat_params,
    train_epochs,
)
from ._base import BaseFederatedClassifier

__all__ = ["SequentialFederatedClassifier", "train_node_epochs"]


def train_node_epochs(estimator, X, y, *, epochs, classes):
    """One node step: ``epochs`` passes of ``estimator`` over a node's rows, in place.

    A :class:`~skfedmia.TorchMLPClassifier` that
    :func:`~skfedmia.neural_net.can_fit_together` trains on the lean loop of
    ``train_epochs_lean`` (bit for bit what its ``partial_fit`` computes, without skorch's
    per-batch overhead); any other estimator through its ``partial_fit``.
    """
    if can_fit_together(estimator):
        train_epochs_lean(estimator, X, y, epochs=epochs, classes=classes)
    else:
        train_epochs(estimator, X, y, epochs=epochs, classes=classes)


class SequentialFederatedClassifier(BaseFederatedClassifier):
    """Train a classifier by passing it from node to node for several cycles.

    The rows are split across ``n_nodes`` nodes (or the caller names each row's node). In
    every cycle the model visits each node in turn; a node trains it for ``local_epochs``
    epochs on its own rows and passes the parameters on. This is the sequential (cyclic
    incremental) federated learning studied by Pustozerova & Mayer, where an insider sees the
    model right after each node trained it.

    Parameters
    ----------
    estimator : classifier with ``partial_fit``, default=None
        The local learner, cloned at ``fit``: a skorch net, ``SGDClassifier``,
        ``MLPClassifier``... ``None`` means :class:`~skfedmia.TorchMLPClassifier` with the
        paper's target architecture. A skorch net runs all ``local_epochs`` in one
        ``partial_fit`` call; other estimators get one call per epoch.
    n_nodes : int, default=3
        Number of nodes, when ``nodes`` is not given to ``fit``.
    n_cycles : int, default=5
        How often the model visits every node.
    local_epochs : int, default=1
        Epochs each node trains per visit.
    node_order : {"fixed", "random"}, default="fixed"
        ``"fixed"``: nodes in the same order every cycle. ``"random"``: a new random order
        every cycle (a defense against insiders: they no longer know who trained last).
    partition : {"random", "stratified", "dirichlet"}, default="random"
        How rows are split when ``nodes`` is not given; see
        :func:`~skfedmia.federated.split_nodes`.
    dirichlet_alpha : float, default=0.5
        Concentration of the non-IID Dirichlet split.
    optimizer_state : {"reset", "local", "travel"}, default="reset"
        Only parameters travel between nodes. ``"reset"``: each visit starts a fresh
        optimizer. ``"local"``: each node keeps its own optimizer state between its visits.
        ``"travel"``: the state goes along with the model (as if one party trained it all).
        Estimators with no optimizer state (linear models) ignore this.
    callbacks : list of NodeCallback or callables, default=None
        Hooks called after every node step; see :class:`~skfedmia.federated.NodeCallback`.
        The objects given collect their results in place (``SnapshotRecorder.snapshots_``);
        a clone of the federation gets fresh ones.
    sampler : imbalanced-learn sampler, default=None
        Applied to each node's rows once, before training (a sampler in a ``Pipeline``
        would break the row-to-node alignment).
    input_noise : float, default=0.0
        Standard deviation of Gaussian noise added to a node's training inputs at every
        visit (a defense from the paper's section V).
    update_defense : object with ``apply(update, random_state=...)``, default=None
        Applied to the parameter update a node sends on (its parameters after training
        minus before), e.g. ``skfedmia.defenses.GaussianNoise(sigma, clip_norm=...)``.
        Needs parameters skfedmia can read (skorch nets, ``MLPClassifier``, linear models);
        the first node's update is defended too for skorch nets, whose initial parameters
        exist before training.
    random_state : int, RandomState instance or None, default=None
        Fixes the node split, node orders, noise and (through its ``random_state``) the
        estimator. An int makes ``fit`` repeat exactly.
    verbose : int, default=0
        ``> 0`` shows a progress bar over node steps.

    Attributes
    ----------
    estimator_ : estimator
        The final model (trained on integer-encoded labels; use this object's ``predict``).
    classes_ : ndarray of shape (n_classes,)
        All labels seen across nodes.
    nodes_ : ndarray of shape (n_nodes,)
        Node labels (``0 .. n_nodes - 1`` unless ``nodes`` was given).
    n_nodes_ : int
        Number of nodes.
    node_indices_ : list of ndarray
        Row indices (into ``X`` given to ``fit``) held by each node.
    node_orders_ : ndarray of shape (n_cycles, n_nodes)
        The order in which nodes trained in each cycle.
    history_ : list of dict
        One record per node step: ``step``, ``cycle``, ``node``, ``position``, ``label``
        (``"C1N1"``...), ``n_rows``, ``train_accuracy`` on the node's rows, and
        ``validation_accuracy`` when ``validation_data`` was given.
    callbacks_ : list
    n_features_in_ : int

    See Also
    --------
    FederatedAveragingClassifier : the parallel counterpart.
    skfedmia.federated.SnapshotRecorder : keeps the model after chosen node steps.

    References
    ----------
    .. [1] A. Pustozerova and R. Mayer, "Information Leaks in Federated Learning", 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skfedmia import SequentialFederatedClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> fed = SequentialFederatedClassifier(SGDClassifier(loss="log_loss"), n_nodes=3,
    ...                                     n_cycles=2, local_epochs=2, random_state=0)
    >>> fed.fit(X / 16, y).history_[0]["label"]
    'C1N1'
    >>> bool(fed.score(X / 16, y) > 0.8)
    True
    """

    _parameter_constraints: dict = {
        **BaseFederatedClassifier._parameter_constraints,
        "n_cycles": [Interval(numbers.Integral, 1, None, closed="left")],
        "node_order": [StrOptions({"fixed", "random"})],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_nodes=3,
        n_cycles=5,
        local_epochs=1,
        node_order="fixed",
        partition="random",
        dirichlet_alpha=0.5,
        optimizer_state="reset",
        callbacks=None,
        sampler=None,
        input_noise=0.0,
        update_defense=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_nodes = n_nodes
        self.n_cycles = n_cycles
        self.local_epochs = local_epochs
        self.node_order = node_order
        self.partition = partition
        self.dirichlet_alpha = dirichlet_alpha
        self.optimizer_state = optimizer_state
        self.callbacks = callbacks
        self.sampler = sampler
        self.input_noise = input_noise
        self.update_defense = update_defense
        self.random_state = random_state
        self.verbose = verbose

    def _node_orders(self, rng):
        base = np.arange(self.n_nodes_)
        if self.node_order == "fixed":
            return np.tile(base, (self.n_cycles, 1))
        return np.stack([rng.permutation(self.n_nodes_) for _ in range(self.n_cycles)])

    def _fit_nodes(self, X, y, y_enc, node_data, validation, rng):
        classes = np.arange(len(self.classes_))
        self.node_orders_ = self._node_orders(rng)
        seed = None if self.random_state is None else draw_seed(rng)
        self.estimator_ = self._new_estimator(seed)
        n_steps = self.n_cycles * self.n_nodes_
        wants_update = self._wants_update()
        node_states = {}
        progress = tqdm(total=n_steps, disable=not self.verbose, desc="node steps", unit="step")
        step = 0
        with torch_seed_context(seed), progress:
            for cycle, order in enumerate(self.node_orders_):
                for position, k in enumerate(order):
                    k = int(k)
                    Xk, yk = node_data[k]
                    if step == 0 and (self.update_defense is not None or wants_update):
                        initialize(self.estimator_, Xk, yk, classes=classes)
                    initialized = step > 0
                    if initialized and self.optimizer_state == "reset":
                        reset_optimizer(self.estimator_)
                    elif initialized and self.optimizer_state == "local":
                        set_optimizer_state(self.estimator_, node_states.get(k))
                    before = (
                        get_flat_params(self.estimator_)
                        if (self.update_defense is not None or wants_update)
                        and (initialized or supports_flat_params(self.estimator_))
                        else None
                    )
                    train_node_epochs(
                        self.estimator_,
                        self._noisy(Xk, rng),
                        yk,
                        epochs=self.local_epochs,
                        classes=classes,
                    )
                    if self.optimizer_state == "local":
                        node_states[k] = get_optimizer_state(self.estimator_)
                    payload = None
                    if before is not None and self.update_defense is not None:
                        update = get_flat_params(self.estimator_) - before
                        update = self.update_defense.apply(update, random_state=rng)
                        set_flat_params(self.estimator_, before + update)
                    if before is not None and wants_update:
                        payload = self._node_update(
                            before,
                            get_flat_params(self.estimator_),
                            len(yk),
                            defended=self.update_defense is not None,
                        )
                    self._node_step_done(
                        X,
                        y,
                        y_enc,
                        step=step,
                        cycle=cycle,
                        node=k,
                        position=position,
                        validation=validation,
                        update=payload,
                    )
                    progress.update()
                    step += 1
