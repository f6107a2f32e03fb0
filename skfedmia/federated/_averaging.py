"""Parallel federated learning (federated averaging), for comparison."""

from __future__ import annotations

import copy
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval
from tqdm.auto import tqdm

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

__all__ = ["FederatedAveragingClassifier"]


class FederatedAveragingClassifier(BaseFederatedClassifier):
    """Federated averaging: all nodes train the same model in parallel, then it is averaged.

    In every round each node starts from the global parameters, trains ``local_epochs``
    epochs on its rows, and sends its parameters (after ``update_defense``, if any) to the
    coordinator, which averages them weighted by the nodes' row counts (McMahan et al.).
    Same interface as :class:`SequentialFederatedClassifier`, whose cycles are rounds here.

    Parameters
    ----------
    estimator : classifier with ``partial_fit``, default=None
        Local learner whose parameters can be read as a vector: a skorch net,
        ``MLPClassifier`` or a linear model. ``None`` means
        :class:`~skfedmia.TorchMLPClassifier`.
    n_nodes : int, default=3
    n_rounds : int, default=5
        Communication rounds.
    local_epochs : int, default=1
    partition : {"random", "stratified", "dirichlet"}, default="random"
    dirichlet_alpha : float, default=0.5
    optimizer_state : {"reset", "local"}, default="reset"
        Whether each node's optimizer starts afresh every round or keeps its state.
    callbacks : list, default=None
        Called after every node's local training (``cycle`` is the round).
    sampler : imbalanced-learn sampler, default=None
    input_noise : float, default=0.0
    update_defense : object with ``apply(update, random_state=...)``, default=None
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    estimator_ : estimator
        The global model after the last round.
    classes_, nodes_, n_nodes_, node_indices_, history_, callbacks_, n_features_in_
        As in :class:`SequentialFederatedClassifier`; ``history_`` scores each node's
        local model on its rows, plus one record per round (``node=-1``) for the average.

    References
    ----------
    .. [1] B. McMahan et al., "Communication-Efficient Learning of Deep Networks from
       Decentralized Data", AISTATS 2017.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skfedmia import FederatedAveragingClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> fed = FederatedAveragingClassifier(SGDClassifier(loss="log_loss"), n_nodes=3,
    ...                                    n_rounds=3, random_state=0).fit(X / 16, y)
    >>> bool(fed.score(X / 16, y) > 0.8)
    True
    """

    _parameter_constraints: dict = {
        **BaseFederatedClassifier._parameter_constraints,
        "n_rounds": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_nodes=3,
        n_rounds=5,
        local_epochs=1,
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
        self.n_rounds = n_rounds
        self.local_epochs = local_epochs
        self.partition = partition
        self.dirichlet_alpha = dirichlet_alpha
        self.optimizer_state = optimizer_state
        self.callbacks = callbacks
        self.sampler = sampler
        self.input_noise = input_noise
        self.update_defense = update_defense
        self.random_state = random_state
        self.verbose = verbose

    def _check_fit_params(self):
        if self.optimizer_state == "travel":
            raise ValueError(
                "optimizer_state='travel' has no meaning in federated averaging; "
                "use 'reset' or 'local'."
            )

    def _fit_nodes(self, X, y, y_enc, node_data, validation, rng):
        classes = np.arange(len(self.classes_))
        # every node starts from the same initial model, as federated averaging requires
        seed = draw_seed(rng)
        template = self._new_estimator(seed)
        self.estimator_ = template
        weights = np.array([len(yk) for _, yk in node_data], dtype=np.float64)
        weights /= weights.sum()
        wants_update = self._wants_update()
        locals_ = [None] * self.n_nodes_
        global_params = None
        step = 0
        progress = tqdm(
            total=self.n_rounds * self.n_nodes_, disable=not self.verbose, desc="node steps"
        )
        with torch_seed_context(seed if self.random_state is not None else None), progress:
            for rnd in range(self.n_rounds):
                total = None
                for k, (Xk, yk) in enumerate(node_data):
                    if locals_[k] is None:
                        locals_[k] = copy.deepcopy(template)
                    local = locals_[k]
                    if global_params is None:
                        initialize(local, Xk, yk, classes=classes)
                    else:
                        set_flat_params(local, global_params)
                        if self.optimizer_state == "reset":
                            reset_optimizer(local)
                    if global_params is not None:
                        start = global_params
                    else:
                        start = get_flat_params(local) if supports_flat_params(local) else None
                    train_epochs(
                        local, self._noisy(Xk, rng), yk, epochs=self.local_epochs, classes=classes
                    )
                    params = get_flat_params(local)
                    if self.update_defense is not None and start is not None:
                        update = self.update_defense.apply(params - start, random_state=rng)
                        params = start + update
                        # the node's model is what it sends: its hooks see the defended one
                        set_flat_params(local, params)
                    total = weights[k] * params if total is None else total + weights[k] * params
                    self.estimator_ = local
                    payload = None
                    if wants_update and start is not None:
                        payload = self._node_update(
                            start, params, len(yk), defended=self.update_defense is not None
                        )
                    self._node_step_done(
                        X,
                        y,
                        y_enc,
                        step=step,
                        cycle=rnd,
                        node=k,
                        position=k,
                        validation=validation,
                        update=payload,
                    )
                    progress.update()
                    step += 1
                global_params = total
                state = get_optimizer_state(locals_[0])
                self.estimator_ = copy.deepcopy(locals_[0])
                set_flat_params(self.estimator_, global_params)
                set_optimizer_state(self.estimator_, state)
                self._record(
                    step=step - 1,
                    cycle=rnd,
                    node=-1,
                    position=-1,
                    Xk=X,
                    yk=y_enc,
                    validation=validation,
                )
                self.history_[-1]["label"] = f"R{rnd + 1}avg"
