"""Attacks of colluding insiders who see the model before and after a node trained."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_array, column_or_1d

from ._base import BaseMembershipAttack, aligned_proba

__all__ = ["per_record_loss", "LossChangeAttack", "NodeAttributionAttack"]

_EPS = 1e-12


def per_record_loss(model, X, y) -> np.ndarray:
    """Cross-entropy of each record's true label under ``model``.

    Parameters
    ----------
    model : fitted classifier with ``predict_proba`` and ``classes_``
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)

    Returns
    -------
    loss : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfedmia.attacks.membership import per_record_loss
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> bool(per_record_loss(model, X, [0, 0, 1, 1]).max() < 1)
    True
    """
    if not hasattr(model, "predict_proba"):
        raise TypeError(f"model must have predict_proba; {type(model).__name__} has none.")
    y = np.asarray(y)
    classes = np.asarray(model.classes_)
    cols = np.searchsorted(classes, y)
    cols = np.clip(cols, 0, len(classes) - 1)
    unseen = classes[cols] != y
    if unseen.any():
        raise ValueError(f"y has labels the model never saw: {np.unique(y[unseen]).tolist()[:10]}.")
    return _true_class_loss(model, X, cols, classes)


def _model_classes(model, name):
    """``model.classes_`` as an array, or a clear error naming the parameter."""
    if not hasattr(model, "predict_proba"):
        raise TypeError(
            f"`{name}` must be a fitted classifier with predict_proba; got {type(model).__name__}."
        )
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise NotFittedError(
            f"`{name}` ({type(model).__name__}) has no classes_: pass a fitted classifier."
        )
    return np.asarray(classes)


def _true_class_loss(model, X, label_index, classes):
    """``-log p(true class)`` per row, columns aligned on ``classes``."""
    proba = aligned_proba(model, X, classes)[np.arange(len(label_index)), label_index]
    return -np.log(np.clip(proba, _EPS, None))


class LossChangeAttack(BaseMembershipAttack):
    """Membership in one node's data from the loss change across that node's step.

    Two colluding insiders, the nodes just before and just after node k in the sequence,
    see the model before and after k trained. A record of k's training data gets a much
    larger loss drop than a record k never saw. The attack scores
    ``loss_before - loss_after`` and calls a record a member when the drop exceeds a
    threshold set on the attacker's own non-member records, for a chosen false-positive
    rate. It needs no shadow models.

    Parameters
    ----------
    target : fitted classifier with ``predict_proba``, default=None
        The model as it left node k (e.g. from
        :class:`~skfedmia.federated.SnapshotRecorder`); kept as it is by ``clone``.
    model_before : fitted classifier with ``predict_proba``, default=None
        The model as it reached node k, with the same classes; kept as it is by ``clone``.
    target_fpr : float, default=0.05
        Share of the attacker's non-members that the threshold lets through.
    random_state : None
        Not used (the attack is deterministic); present for the common interface.

    Attributes
    ----------
    threshold_ : float
        Loss drop above which a record is called a member.
    slope_ : float
        Scale of ``predict_proba``: one standard deviation of the non-members' drops per
        logit unit.
    target_classes_ : ndarray
    classes_ : ndarray of shape (2,)

    See Also
    --------
    NodeAttributionAttack : which node's data a record came from.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skfedmia.attacks.membership import LossChangeAttack
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.normal(size=(300, 20)), rng.randint(0, 2, 300)
    >>> before = SGDClassifier(loss="log_loss", random_state=0).fit(X[200:], y[200:])
    >>> after = SGDClassifier(loss="log_loss", random_state=0).fit(X[:100], y[:100])
    >>> attack = LossChangeAttack(after, model_before=before).fit(X[100:200], y[100:200])
    >>> attack.predict(X[:3], y[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "target": [HasMethods(["predict_proba"]), None],
        "model_before": [HasMethods(["predict_proba"]), None],
        "target_fpr": [Interval(numbers.Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, target=None, *, model_before=None, target_fpr=0.05, random_state=None):
        self.target = target
        self.model_before = model_before
        self.target_fpr = target_fpr
        self.random_state = random_state

    def __sklearn_clone__(self):
        # both models are attacked, never refitted: a clone keeps them as they are
        return type(self)(
            self.target,
            model_before=self.model_before,
            target_fpr=self.target_fpr,
            random_state=self.random_state,
        )

    def _check_before(self):
        if self.model_before is None:
            raise ValueError(
                "LossChangeAttack needs model_before, the model as it reached the node."
            )
        before = _model_classes(self.model_before, "model_before")
        after = _model_classes(self.target, "target")
        if not np.array_equal(before, after):
            raise ValueError(
                "model_before and target must know the same classes: model_before has "
                f"{before.tolist()[:20]}, target has {after.tolist()[:20]}. A loss change "
                "is only defined between two states of one model."
            )

    def _drop(self, X, label_index):
        self._check_before()
        classes = self.target_classes_
        return _true_class_loss(self.model_before, X, label_index, classes) - _true_class_loss(
            self.target, X, label_index, classes
        )

    def _fit(self, X, y, label_index):
        self._check_before()
        drops = self._drop(X, label_index)
        self.threshold_ = float(np.quantile(drops, 1 - self.target_fpr))
        self.slope_ = 1.0 / (float(np.std(drops)) or 1.0)

    def _decision(self, X, y, label_index):
        return self._drop(X, label_index) - self.threshold_


class NodeAttributionAttack(BaseEstimator):
    """Which node's data a (member) record belongs to, from every node's loss drop.

    Insiders who see the model before and after each node's step in a cycle attribute a
    record to the node whose step lowered its loss the most.

    Parameters
    ----------
    transitions : dict
        ``{node: (model_before, model_after)}`` for the nodes to tell apart.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import SGDClassifier
    >>> from skfedmia import SequentialFederatedClassifier, SnapshotRecorder
    >>> from skfedmia.attacks.membership import NodeAttributionAttack
    >>> X, y = load_digits(return_X_y=True)
    >>> rec = SnapshotRecorder()
    >>> fed = SequentialFederatedClassifier(SGDClassifier(loss="log_loss"), n_nodes=3,
    ...     n_cycles=2, callbacks=[rec], random_state=0).fit(X / 16, y)
    >>> s = {(r["cycle"], r["node"]): r["model"] for r in rec.snapshots_}
    >>> attack = NodeAttributionAttack({0: (s[0, 2], s[1, 0]), 1: (s[1, 0], s[1, 1]),
    ...                                 2: (s[1, 1], s[1, 2])})
    >>> attack.predict(X[:4] / 16, y[:4]).shape
    (4,)
    """

    _parameter_constraints: dict = {"transitions": [dict]}

    def __init__(self, transitions):
        self.transitions = transitions

    def __sklearn_clone__(self):
        return type(self)(self.transitions)

    def _checked_transitions(self):
        self._validate_params()
        if not self.transitions:
            raise ValueError("transitions must name at least one node.")
        reference = None
        for node, pair in self.transitions.items():
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(
                    f"transitions[{node!r}] must be a pair (model_before, model_after); got "
                    f"{type(pair).__name__}."
                )
            for name, model in zip(("model_before", "model_after"), pair):
                classes = _model_classes(model, f"transitions[{node!r}] {name}")
                if reference is None:
                    reference = classes
                elif not np.array_equal(classes, reference):
                    raise ValueError(
                        f"every model in transitions must know the same classes; "
                        f"transitions[{node!r}] {name} has {classes.tolist()[:20]}, others "
                        f"{reference.tolist()[:20]}."
                    )
        return self.transitions

    def loss_drops(self, X, y):
        """Loss drop of every record across every node's step, ``(n_samples, n_nodes)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            True labels, among the models' classes.

        Returns
        -------
        drops : ndarray of shape (n_samples, n_nodes)
        """
        transitions = self._checked_transitions()
        if y is None:
            raise ValueError("y (the records' true labels) is required.")
        X = check_array(X, ensure_all_finite=True)
        y = column_or_1d(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels.")
        return np.column_stack(
            [
                per_record_loss(before, X, y) - per_record_loss(after, X, y)
                for before, after in transitions.values()
            ]
        )

    def predict(self, X, y):
        """The node each record is attributed to.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        nodes : ndarray of shape (n_samples,)
        """
        drops = self.loss_drops(X, y)
        nodes = np.asarray(list(self.transitions))
        return nodes[drops.argmax(axis=1)]

    def score(self, X, y, nodes):
        """Share of records attributed to their true node.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        nodes : array-like of shape (n_samples,)
            The node that holds each record.

        Returns
        -------
        accuracy : float
        """
        nodes = column_or_1d(nodes)
        if y is None or len(nodes) != len(y):
            raise ValueError(
                f"nodes has {len(nodes)} entries for {0 if y is None else len(y)} records."
            )
        return float(np.mean(self.predict(X, y) == nodes))
