"""What sequential and parallel federations share: validation, node split, prediction."""

from __future__ import annotations

import inspect
import numbers
from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples, check_is_fitted, validate_data

from ..utils._fit_data import record_fit_data
from ..utils._random import draw_seed
from ._adapters import reset_optimizer
from ._callbacks import NodeCallback, NodeModel
from ._partition import PARTITIONS, split_nodes

__all__ = ["BaseFederatedClassifier"]


def _accepts(fn, name, *, by_name_only=False):
    """Whether ``fn`` takes a keyword argument ``name`` (or any keyword)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.name == name or (not by_name_only and p.kind is inspect.Parameter.VAR_KEYWORD)
        for p in params
    )


def _training_settings(estimator, local_epochs, n_rows):
    """How a node trains: what a replay of its local steps needs to know."""
    settings = {"local_epochs": int(local_epochs), "n_rows": int(n_rows)}
    params = estimator.get_params(deep=False)
    optimizer = params.get("optimizer")
    name = getattr(optimizer, "__name__", None) or params.get("solver")
    settings["optimizer"] = None if name is None else str(name).lower()
    lr = params.get("lr", params.get("learning_rate_init", params.get("eta0")))
    settings["lr"] = lr if isinstance(lr, numbers.Real) else None
    batch_size = params.get("batch_size")
    settings["batch_size"] = batch_size if isinstance(batch_size, numbers.Integral) else None
    dropout = params.get("dropout", params.get("module__dropout"))
    settings["dropout"] = float(dropout) if isinstance(dropout, numbers.Real) else 0.0
    settings["shuffle"] = bool(params.get("iterator_train__shuffle", params.get("shuffle", True)))
    return settings


def _estimator_has(attr):
    def check(self):
        est = getattr(self, "estimator_", None)
        if est is None:
            est = self._template()
        return hasattr(est, attr)

    return check


class BaseFederatedClassifier(
    ClassifierMixin, MetaEstimatorMixin, BaseEstimator, metaclass=ABCMeta
):
    """Shared machinery of federated classifiers; not for direct use.

    :meth:`fit` is a template: it checks the parameters and the data, splits the rows
    into nodes (resampled by ``sampler`` if one is given), opens ``history_`` and the
    hooks, then hands over to :meth:`_fit_nodes`, the one method a federation implements.
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["partial_fit", "predict"]), None],
        "n_nodes": [Interval(numbers.Integral, 1, None, closed="left")],
        "local_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "partition": [StrOptions(set(PARTITIONS))],
        "dirichlet_alpha": [Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer_state": [StrOptions({"reset", "local", "travel"})],
        "callbacks": [list, tuple, None],
        "sampler": [HasMethods(["fit_resample"]), None],
        "input_noise": [Interval(numbers.Real, 0, None, closed="left")],
        "update_defense": [HasMethods(["apply"]), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------------ helpers
    def _template(self):
        if self.estimator is None:
            from ..neural_net import TorchMLPClassifier

            return TorchMLPClassifier()
        return self.estimator

    def _new_estimator(self, seed):
        est = clone(self._template())
        if seed is not None and "random_state" in est.get_params(deep=False):
            est.set_params(random_state=int(seed))
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        from sklearn.utils import get_tags

        inner = get_tags(self._template())
        # node noise and parameter checks work on dense arrays; NaN is never accepted
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.input_tags.categorical = inner.input_tags.categorical
        return tags

    def _validate_fit_data(self, X, y, nodes):
        X, y = validate_data(self, X, y, reset=True, ensure_all_finite=True, dtype="numeric")
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data; "
                f"got 1 class ({self.classes_[0]!r})."
            )
        rng = check_random_state(self.random_state)
        if nodes is None:
            node_indices = split_nodes(
                y_enc,
                self.n_nodes,
                partition=self.partition,
                dirichlet_alpha=self.dirichlet_alpha,
                random_state=draw_seed(rng),
            )
            self.nodes_ = np.arange(self.n_nodes)
        else:
            nodes = np.asarray(nodes)
            if nodes.ndim != 1 or _num_samples(nodes) != _num_samples(X):
                raise ValueError(
                    f"nodes must be a 1-D array with one node label per row of X "
                    f"({_num_samples(X)} rows); got shape {nodes.shape}."
                )
            self.nodes_, codes = np.unique(nodes, return_inverse=True)
            node_indices = [np.flatnonzero(codes == k) for k in range(len(self.nodes_))]
        self.node_indices_ = node_indices
        self.n_nodes_ = len(node_indices)
        # kept outside the estimator (never pickled) so that membership scorers can audit
        # the fitted federation on its own rows, node by node
        record_fit_data(self, X, y, groups=node_indices)
        return X, y, y_enc.astype(np.int64), rng

    def _prepare_node_data(self, X, y_enc, rng):
        """Each node's training rows, resampled by ``sampler`` if one is given."""
        data = []
        for k, idx in enumerate(self.node_indices_):
            Xk, yk = X[idx], y_enc[idx]
            if self.sampler is not None:
                sampler = clone(self.sampler)
                if "random_state" in sampler.get_params(deep=False):
                    sampler.set_params(random_state=draw_seed(rng))
                try:
                    Xk, yk = sampler.fit_resample(Xk, yk)
                except ValueError as exc:
                    raise ValueError(
                        f"sampler failed on node {self.nodes_[k]!r} ({len(idx)} rows, classes "
                        f"{np.unique(yk).tolist()}): {exc}"
                    ) from exc
            data.append((Xk, yk))
        return data

    def _noisy(self, Xk, rng):
        if self.input_noise > 0:
            noise = rng.normal(scale=self.input_noise, size=Xk.shape)
            return (Xk + noise).astype(Xk.dtype, copy=False)
        return Xk

    def _prepare_callbacks(self):
        callbacks = list(self.callbacks or [])
        for cb in callbacks:
            if not (isinstance(cb, NodeCallback) or callable(cb)):
                raise TypeError(
                    "callbacks must be NodeCallback instances or callables, got "
                    f"{type(cb).__name__}."
                )
        self.callbacks_ = callbacks
        return callbacks

    def _notify(self, hook, *args, **kwargs):
        for cb in self.callbacks_:
            if isinstance(cb, NodeCallback):
                fn = getattr(cb, hook)
            elif hook == "on_node_end":
                fn = cb
            else:
                continue
            if "update" in kwargs and not _accepts(fn, "update"):
                # hooks written before the update payload existed do not receive it
                kwargs_fn = {k: v for k, v in kwargs.items() if k != "update"}
                fn(self, *args, **kwargs_fn)
            else:
                fn(self, *args, **kwargs)

    def _wants_update(self):
        """Whether a node hook names the ``update`` payload (then it is assembled).

        Hooks that only take ``**kwargs`` get it when it is assembled for another one, but
        do not make the federation assemble it, so they run exactly as before.
        """
        return any(
            _accepts(
                cb.on_node_end if isinstance(cb, NodeCallback) else cb, "update", by_name_only=True
            )
            for cb in getattr(self, "callbacks_", ())
        )

    def _node_update(self, before, sent, n_rows, defended):
        """The ``update`` payload of a node hook: what the node sends and how it trained."""
        return {
            "params_before": before,
            "params_sent": sent,
            "defended": defended,
            "training": _training_settings(self.estimator_, self.local_epochs, n_rows),
        }

    def _live_view(self):
        """The model being trained, as a live :class:`NodeModel` (not a copy)."""
        return NodeModel(self.estimator_, classes=self.classes_)

    def _record(self, *, step, cycle, node, position, Xk, yk, validation):
        record = {
            "step": step,
            "cycle": cycle,
            "node": node,
            "position": position,
            "n_rows": len(yk),
            "label": f"C{cycle + 1}N{node + 1}",
            "train_accuracy": float(np.mean(self.estimator_.predict(Xk) == yk)),
        }
        if validation is not None:
            Xv, yv = validation
            record["validation_accuracy"] = float(np.mean(self.estimator_.predict(Xv) == yv))
        self.history_.append(record)

    def _node_step_done(self, X, y, y_enc, *, step, cycle, node, position, validation, update=None):
        """Record the step in ``history_`` and call the per-node hooks."""
        idx = self.node_indices_[node]
        self._record(
            step=step,
            cycle=cycle,
            node=node,
            position=position,
            Xk=X[idx],
            yk=y_enc[idx],
            validation=validation,
        )
        if self.callbacks_:
            self._notify(
                "on_node_end",
                step=step,
                cycle=cycle,
                node=node,
                position=position,
                model=self._live_view(),
                X=X[idx],
                y=y[idx],
                indices=idx,
                **({} if update is None else {"update": update}),
            )

    def _validate_validation(self, validation_data):
        if validation_data is None:
            return None
        try:
            Xv, yv = validation_data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a pair (X_val, y_val).") from None
        Xv = validate_data(self, Xv, reset=False, ensure_all_finite=True, dtype="numeric")
        yv = np.asarray(yv)
        unseen = np.setdiff1d(yv, self.classes_)
        if unseen.size:
            raise ValueError(f"validation_data has labels not seen in y: {unseen.tolist()}.")
        return Xv, np.searchsorted(self.classes_, yv)

    @staticmethod
    def _reset_between(estimator, first):
        if not first:
            reset_optimizer(estimator)

    # ------------------------------------------------------------------ fitting
    def _check_fit_params(self):
        """Checks of parameter combinations beyond ``_parameter_constraints``."""

    @abstractmethod
    def _fit_nodes(self, X, y, y_enc, node_data, validation, rng):
        """Train across the nodes; set ``estimator_`` and fill ``history_``.

        Parameters
        ----------
        X, y : ndarray
            The validated training data, labels as given.
        y_enc : ndarray of int
            The labels encoded as ``0 .. n_classes - 1``.
        node_data : list of (X_k, y_k)
            Each node's rows, after resampling, labels encoded.
        validation : (X_val, y_val_encoded) or None
        rng : numpy.random.RandomState
            The federation's generator, already advanced past the node split.
        """

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, nodes=None, validation_data=None):
        """Split the rows across nodes and train the federation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        nodes : array-like of shape (n_samples,), default=None
            The node holding each row (any labels), as in a real federation. Overrides
            ``n_nodes`` and ``partition``.
        validation_data : tuple (X_val, y_val), default=None
            Scored after every node step into ``history_``.

        Returns
        -------
        self
        """
        self._check_fit_params()
        X, y, y_enc, rng = self._validate_fit_data(X, y, nodes)
        validation = self._validate_validation(validation_data)
        node_data = self._prepare_node_data(X, y_enc, rng)
        self.history_ = []
        callbacks = self._prepare_callbacks()
        if callbacks:
            self._notify("on_fit_begin", X, y)
        self._fit_nodes(X, y, y_enc, node_data, validation, rng)
        if callbacks:
            self._notify("on_fit_end")
        return self

    # ------------------------------------------------------------------ prediction
    def _check_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, ensure_all_finite=True, dtype="numeric")

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the final model, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._check_X(X)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        X = self._check_X(X)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the final model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            What the inner estimator's ``decision_function`` returns.
        """
        X = self._check_X(X)
        return self.estimator_.decision_function(X)

    def predict(self, X):
        """Predicted class labels of the final model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        X = self._check_X(X)
        codes = np.asarray(self.estimator_.predict(X), dtype=np.intp)
        return self.classes_[codes]

    def node_model(self) -> NodeModel:
        """The final model as a standalone fitted classifier (a frozen copy)."""
        check_is_fitted(self)
        return self._live_view().snapshot()
