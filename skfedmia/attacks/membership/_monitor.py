"""An insider's view of sequential federated learning: attack after every node step."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ...federated._callbacks import NodeCallback
from ...metrics import attack_report

__all__ = ["MembershipMonitor"]


def _is_fitted(estimator) -> bool:
    try:
        check_is_fitted(estimator)
    except Exception:  # NotFittedError, or estimators that refuse the check
        return False
    return True


class MembershipMonitor(NodeCallback):
    """Run a membership attack against the model as it leaves every node.

    Passed in ``callbacks=`` of a :class:`~skfedmia.SequentialFederatedClassifier`, the
    monitor plays the insiders of Pustozerova & Mayer: after every node step it attacks the
    model on a balanced attack test set per attacked node (the node's rows as members, as
    many rows that no node used as non-members) and records target and attack scores. With
    ``outsider=True`` it also attacks the union of all nodes' rows, as an outsider holding
    the model would.

    Parameters
    ----------
    attack : membership attack
        An attack with ``set_params(target=...)``, ``decision_function(X, y)`` (centred:
        ``>= 0`` means member) and ``fit(X, y)``, such as
        :class:`MembershipInferenceAttack`. A fitted attack is used as it is (it is
        re-targeted at every step, never retrained); an unfitted one is cloned and fitted
        on ``attack_data`` at the first node step, against the model leaving that node
        (its shadows follow ``shadow_estimator``, so give one).
    attacked_nodes : sequence of int, default=(0,)
        Positions (in ``federation.nodes_``) of the nodes whose rows are attacked.
    nonmember_data : tuple (X, y)
        Rows no node used, the non-member half of every attack test set.
    attack_data : tuple (X, y), default=None
        The attacker's own data, to fit an unfitted ``attack``.
    test_data : tuple (X, y), default=None
        Held-out rows on which the target's accuracy is recorded at every step.
    outsider : bool, default=False
        Also attack the union of all nodes' rows.
    max_members : int, default=None
        Attack at most this many member rows per attacked set (a random sample).
    random_state : int, RandomState instance or None, default=None
        Draws the non-member (and member) samples.

    Attributes
    ----------
    attack_ : estimator
        The fitted attack in use.
    eval_sets_ : dict
        For each attacked set (node position, or ``"all"``): ``X``, ``y``, ``membership``,
        ``member_indices`` (rows of the federation's ``X``) and ``nonmember_indices`` (rows
        of ``nonmember_data``).
    history_ : list of dict
        One record per node step and attacked set: ``step``, ``cycle``, ``node``,
        ``label`` (``"C2N1"``), ``attacked`` (node position or ``"all"``),
        ``target_accuracy_attacked`` (target accuracy on the attacked rows),
        ``target_accuracy_test``, and the attack's ``accuracy``, ``precision``, ``recall``,
        ``f1``, ``roc_auc``, ``advantage``, ``tpr_at_1_fpr``, ``tpr_at_01_fpr``.

    See Also
    --------
    MembershipInferenceAttack : the shadow-model attack.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skfedmia import (MembershipInferenceAttack, SequentialFederatedClassifier,
    ...                       TorchMLPClassifier)
    >>> from skfedmia.attacks.membership import MembershipMonitor
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> net = TorchMLPClassifier(max_epochs=5, random_state=0)
    >>> attack = MembershipInferenceAttack(shadow_estimator=net, n_shadow_models=2,
    ...                                    random_state=0)
    >>> monitor = MembershipMonitor(attack, attack_data=(X[600:1200], y[600:1200]),
    ...                             nonmember_data=(X[1200:], y[1200:]), random_state=0)
    >>> fed = SequentialFederatedClassifier(net, n_nodes=3, n_cycles=2, local_epochs=5,
    ...                                     callbacks=[monitor], random_state=0)
    >>> _ = fed.fit(X[:600], y[:600])
    >>> [r["label"] for r in monitor.history_]
    ['C1N1', 'C1N2', 'C1N3', 'C2N1', 'C2N2', 'C2N3']
    """

    def __init__(
        self,
        attack,
        *,
        attacked_nodes=(0,),
        nonmember_data=None,
        attack_data=None,
        test_data=None,
        outsider=False,
        max_members=None,
        random_state=None,
    ):
        self.attack = attack
        self.attacked_nodes = attacked_nodes
        self.nonmember_data = nonmember_data
        self.attack_data = attack_data
        self.test_data = test_data
        self.outsider = outsider
        self.max_members = max_members
        self.random_state = random_state

    # ------------------------------------------------------------------ set-up
    def _eval_set(self, X, y, members, X_out, y_out, rng):
        members = np.asarray(members)
        n = len(members)
        if self.max_members is not None:
            n = min(n, int(self.max_members))
        n = min(n, len(y_out))
        members = np.sort(rng.choice(members, size=n, replace=False))
        nonmembers = np.sort(rng.choice(len(y_out), size=n, replace=False))
        return {
            "X": np.concatenate([X[members], X_out[nonmembers]]),
            "y": np.concatenate([y[members], y_out[nonmembers]]),
            "membership": np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)],
            "member_indices": members,
            "nonmember_indices": nonmembers,
        }

    def on_fit_begin(self, federation, X, y):
        if self.nonmember_data is None:
            raise ValueError(
                "nonmember_data=(X, y) is required: rows no node used, the non-member half "
                "of the attack test sets."
            )
        X_out, y_out = (np.asarray(a) for a in self.nonmember_data)
        if len(X_out) != len(y_out) or len(X_out) == 0:
            raise ValueError("nonmember_data must be a non-empty pair (X, y) of equal length.")
        n_nodes = len(federation.node_indices_)
        attacked = list(self.attacked_nodes)
        bad = [k for k in attacked if not 0 <= int(k) < n_nodes]
        if bad:
            raise ValueError(
                f"attacked_nodes {bad} are not node positions of this federation "
                f"(0 .. {n_nodes - 1})."
            )
        if _is_fitted(self.attack):
            self.attack_ = self.attack
        elif self.attack_data is None:
            raise ValueError(
                "attack is not fitted: pass attack_data=(X, y), the attacker's own rows, "
                "or a fitted attack."
            )
        else:
            self.attack_ = None  # fitted at the first node step, once a model exists
        rng = check_random_state(self.random_state)
        self.eval_sets_ = {
            int(k): self._eval_set(X, y, federation.node_indices_[int(k)], X_out, y_out, rng)
            for k in attacked
        }
        if self.outsider:
            self.eval_sets_["all"] = self._eval_set(X, y, np.arange(len(y)), X_out, y_out, rng)
        self.history_ = []

    # ------------------------------------------------------------------ every step
    def on_node_end(self, federation, *, step, cycle, node, position, model, **kwargs):
        if self.attack_ is None:
            self.attack_ = clone(self.attack).set_params(target=model).fit(*self.attack_data)
        self.attack_.set_params(target=model)
        names = list(self.eval_sets_)
        sets = [self.eval_sets_[name] for name in names]
        # one pass over all attacked sets of this step
        X_all = np.concatenate([s["X"] for s in sets])
        y_all = np.concatenate([s["y"] for s in sets])
        # one scoring pass; the attacks' predict() is decision_function() >= 0
        scores = self.attack_.decision_function(X_all, y_all)
        predictions = (scores >= 0).astype(int)
        target_pred = model.predict(X_all)
        test_acc = None
        if self.test_data is not None:
            test_acc = float(model.score(*self.test_data))
        start = 0
        for name, s in zip(names, sets):
            stop = start + len(s["y"])
            members = s["membership"] == 1
            member_pred = target_pred[start:stop][members]
            report = attack_report(
                s["membership"], scores[start:stop], predictions=predictions[start:stop]
            )
            record = {
                "step": step,
                "cycle": cycle,
                "node": node,
                "position": position,
                "label": f"C{cycle + 1}N{node + 1}",
                "attacked": name,
                "target_accuracy_attacked": float(np.mean(member_pred == s["y"][members])),
                "target_accuracy_test": test_acc,
            }
            record.update(report.to_dict())
            self.history_.append(record)
            start = stop

    def to_frame(self):
        """``history_`` as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.history_)
