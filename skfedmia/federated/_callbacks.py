"""Per-node hooks of a federation, and the model view they receive."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods, StrOptions

from ..utils._validation import check_params
from ._adapters import freeze

__all__ = ["NodeCallback", "NodeModel", "SnapshotRecorder"]


class NodeModel(ClassifierMixin, BaseEstimator):
    """A federation's model as it leaves one node, usable as a fitted classifier.

    The federation trains its inner estimator on integer-encoded labels; this view maps
    predictions back to the federation's ``classes_`` so the model can be scored or
    attacked like any scikit-learn classifier. Callbacks receive a live view (the
    estimator goes on training); :meth:`snapshot` returns a frozen copy.

    Parameters
    ----------
    estimator : object
        A fitted classifier trained on labels ``0 .. n_classes - 1``.
    classes : array-like of shape (n_classes,)
        The labels those integers stand for.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfedmia.federated import NodeModel
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> inner = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> NodeModel(inner, classes=["no", "yes"]).predict([[3.0]])
    array(['yes'], dtype='<U3')
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["predict"])],
        "classes": ["array-like"],
    }

    def __init__(self, estimator, classes):
        self.estimator = estimator
        self.classes = classes

    @property
    def classes_(self):
        return np.asarray(self.classes)

    @property
    def n_features_in_(self):
        return self.estimator.n_features_in_

    def __sklearn_is_fitted__(self):
        return True

    def fit(self, X, y):
        """Fit the inner estimator on ``(X, y)`` with ``y`` encoded by ``classes``.

        Makes ``clone(node_model).fit(...)`` train a fresh model of the same kind, as a
        shadow model does.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels, each one of ``classes``.

        Returns
        -------
        self : NodeModel
        """
        y = np.asarray(y)
        classes = self.classes_
        codes = np.searchsorted(classes, y)
        codes = np.clip(codes, 0, len(classes) - 1)
        if not np.array_equal(classes[codes], y):
            raise ValueError("y contains labels outside `classes`.")
        self.estimator.fit(X, codes)
        return self

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self.estimator.predict_proba(X)

    def predict(self, X):
        """Predicted labels (from ``classes_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self.classes_[np.asarray(self.estimator.predict(X), dtype=np.intp)]

    def snapshot(self) -> NodeModel:
        """A frozen deep copy that later training does not change."""
        return NodeModel(freeze(self.estimator), classes=self.classes)


class NodeCallback(BaseEstimator):
    """Base class of per-node hooks: every method is a no-op to override.

    A federation calls ``on_fit_begin`` once, ``on_node_end`` after every node's local
    training (``n_nodes * n_cycles`` times), and ``on_fit_end`` once. A plain function passed
    in ``callbacks`` is called like ``on_node_end``.

    Examples
    --------
    >>> from skfedmia.federated import NodeCallback
    >>> class Printer(NodeCallback):
    ...     def on_node_end(self, federation, *, cycle, node, **kwargs):
    ...         print(f"C{cycle + 1}N{node + 1}")
    """

    _parameter_constraints: dict = {}

    def on_fit_begin(self, federation, X, y):
        """Called before the first node trains, with the whole training data.

        Parameters
        ----------
        federation : SequentialFederatedClassifier
            The federation that starts training (its ``node_indices_`` are set).
        X, y : ndarray
            The whole training data given to ``fit``.
        """

    def on_node_end(
        self, federation, *, step, cycle, node, position, model, X, y, indices, **kwargs
    ):
        """Called after one node's local training.

        Parameters
        ----------
        federation : SequentialFederatedClassifier
        step : int
            Global step number, ``0 .. n_nodes * n_cycles - 1``.
        cycle : int
            Cycle number, from 0.
        node : int
            Index of the node in ``federation.nodes_``.
        position : int
            Position of the node in this cycle's order.
        model : NodeModel
            The model as it leaves the node (live; call ``model.snapshot()`` to keep it).
        X, y : ndarray
            The node's rows and labels (before any noise or resampling).
        indices : ndarray
            The node's row indices into the ``X`` given to ``fit``.
        **kwargs
            ``update`` (a dict), assembled when a hook names it (a keyword ``update``;
            hooks with ``**kwargs`` then get it too) and the estimator's parameters can
            be read: ``params_before`` (flat parameters before the node trained),
            ``params_sent`` (what the node sends on, after ``update_defense``),
            ``defended`` (whether a defense was applied) and ``training`` (``lr``,
            ``batch_size``, ``optimizer``, ``local_epochs``, ``dropout``, ``shuffle``,
            ``n_rows``; ``None`` where unknown).
        """

    def on_fit_end(self, federation):
        """Called after the last node step.

        Parameters
        ----------
        federation : SequentialFederatedClassifier
            The trained federation.
        """


class SnapshotRecorder(NodeCallback):
    """Keep a frozen copy of the model after chosen node steps.

    Parameters
    ----------
    steps : "all" or iterable of (cycle, node), default="all"
        Which node steps to keep (cycles and nodes counted from 0).

    Attributes
    ----------
    snapshots_ : list of dict
        One record per kept step: ``step``, ``cycle``, ``node``, ``position`` and ``model``
        (a :class:`NodeModel`, a fitted classifier with ``predict_proba``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skfedmia import SequentialFederatedClassifier
    >>> from skfedmia.federated import SnapshotRecorder
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.normal(size=(60, 3)), np.arange(60) % 2
    >>> recorder = SnapshotRecorder()
    >>> fed = SequentialFederatedClassifier(SGDClassifier(loss="log_loss"), n_nodes=3,
    ...                                     n_cycles=2, callbacks=[recorder], random_state=0)
    >>> _ = fed.fit(X, y)
    >>> [(s["cycle"], s["node"]) for s in recorder.snapshots_][:4]
    [(0, 0), (0, 1), (0, 2), (1, 0)]
    """

    _parameter_constraints: dict = {"steps": [StrOptions({"all"}), Iterable]}

    def __init__(self, steps="all"):
        self.steps = steps

    def _wanted_steps(self):
        check_params(self)
        if isinstance(self.steps, str):
            if self.steps != "all":
                raise ValueError(
                    "The 'steps' parameter of SnapshotRecorder must be 'all' or an iterable "
                    f"of (cycle, node) pairs. Got {self.steps!r} instead."
                )
            return None
        wanted = set()
        for pair in self.steps:
            try:
                cycle, node = pair
                wanted.add((int(cycle), int(node)))
            except (TypeError, ValueError):
                raise ValueError(
                    "The 'steps' parameter of SnapshotRecorder must be 'all' or an iterable "
                    f"of (cycle, node) pairs of integers. Got the item {pair!r}."
                ) from None
        return wanted

    def on_fit_begin(self, federation, X, y):
        self._wanted = self._wanted_steps()
        self.snapshots_ = []

    def on_node_end(self, federation, *, step, cycle, node, position, model, **kwargs):
        if self._wanted is None or (cycle, node) in self._wanted:
            self.snapshots_.append(
                {
                    "step": step,
                    "cycle": cycle,
                    "node": node,
                    "position": position,
                    "model": model.snapshot(),
                }
            )

    def get(self, cycle: int, node: int) -> NodeModel:
        """The model kept after ``node`` trained in ``cycle``.

        Parameters
        ----------
        cycle, node : int
            Counted from 0, as in ``history_``.

        Returns
        -------
        model : NodeModel

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before the federation this recorder was given to has been fitted.
        ValueError
            When that step was not kept; the message lists the steps that were.
        """
        snapshots = getattr(self, "snapshots_", None)
        if snapshots is None:
            raise NotFittedError(
                "This SnapshotRecorder has recorded nothing yet: pass it in a federation's "
                "`callbacks` and fit the federation first."
            )
        for snap in snapshots:
            if snap["cycle"] == cycle and snap["node"] == node:
                return snap["model"]
        kept = [(s["cycle"], s["node"]) for s in snapshots]
        shown = ", ".join(map(str, kept[:12])) + (" ..." if len(kept) > 12 else "")
        raise ValueError(
            f"No snapshot was kept for cycle={cycle!r}, node={node!r}; the (cycle, node) "
            f"steps kept are: {shown or 'none'}."
        )
