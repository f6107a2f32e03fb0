"""An insider's view of sequential federated learning: attack after every node step."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ...federated._callbacks import NodeCallback, NodeModel
from ...federated._sequential import train_node_epochs
from ...metrics import attack_report
from ...utils._random import draw_seed
from ._base import _best_threshold, balanced_evaluation_set, row_keys
from ._dynamics import NodeAttributionAttack
from ._insiders import ColludingInsidersAttack, _copy_attack
from ._references import reference_attack_scores

__all__ = ["MembershipMonitor"]

#: Figures of the reference attacks kept in every history record, as ``<attack>_<figure>``.
REFERENCE_FIGURES = (
    "accuracy",
    "roc_auc",
    "roc_auc_low",
    "roc_auc_high",
    "tpr_at_1_fpr",
    "tpr_at_01_fpr",
)


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

    **Decisions calibrated at the step attacked** (``calibration="step"``). An insider
    knows the protocol (nodes, order, local epochs) and holds its own pool. Alongside the
    real federation the monitor runs a shadow federation on pool rows: one fixed set of
    pool rows per node, of that node's size, trained in the same order with the same local
    epochs, one shadow step per real step. At every step the attack's threshold for node
    k's rows is the one with the best accuracy on the shadow federation's node-k rows
    (members, with exactly the history of k's rows) against held-back pool rows. The
    attack's scores (its ranking) are unchanged; its decisions follow the step.

    **Colluding insiders** (``colluding=True``). At every step of an attacked node after
    the first, the nodes just before and after it run a
    :class:`ColludingInsidersAttack` (single-snapshot score plus the loss drop across
    the step, weighted and thresholded on the shadow federation's step of the same node),
    and at the end of every cycle from the
    second on a :class:`NodeAttributionAttack` tells which node held each member record.

    **Offline LiRA and RMIA beside the attack** (``reference_attacks``). The shadow
    federation at the step attacked imitates exactly that step: its nodes' rows so far are
    its members, the rest of the pool its non-members. At the steps chosen it serves as
    the one reference model of an offline :class:`LikelihoodRatioAttack` (with one
    reference, the one-sided test over the global deviation of the pool's
    out-statistics) and of an offline :class:`RelativeMembershipInferenceAttack` (its
    ``a`` and temperature tuned on the reference, with the attacked model as an out-model
    of the pool), fitted without training anything or drawing anything random, so
    ``attack``'s figures are the same with or without them.

    Parameters
    ----------
    attack : membership attack
        An attack with ``set_params(target=...)``, ``decision_function(X, y)`` (centred:
        ``>= 0`` means member) and ``fit(X, y)``, such as
        :class:`MembershipInferenceAttack`. A fitted attack is copied and used as it is
        (re-targeted at every step, never retrained); an unfitted one is cloned and fitted
        on ``attack_data`` at the first node step, against the model leaving that node
        (its shadows follow ``shadow_estimator``, so give one). The object passed is never
        changed.
    attacked_nodes : sequence of int, default=(0,)
        Positions (in ``federation.nodes_``) of the nodes whose rows are attacked.
    nonmember_data : tuple (X, y)
        Rows no node used, the non-member half of every attack test set.
    attack_data : tuple (X, y), default=None
        The attacker's own pool: fits an unfitted ``attack`` and gives the rows of the
        shadow federation used for step calibration.
    test_data : tuple (X, y), default=None
        Held-out rows on which the target's accuracy is recorded at every step.
    outsider : bool, default=False
        Also attack the union of all nodes' rows (with the attack's own threshold: an
        outsider only holds the final model).
    max_members : int, default=None
        Attack at most this many member rows per attacked set (a random sample).
    calibration : {"auto", "step", "none"}, default="auto"
        ``"step"``: re-set the decision threshold at every step from a shadow federation
        trained to that step (needs ``attack_data`` and a federation estimator that trains
        in place, such as :class:`~skfedmia.TorchMLPClassifier`); ``"none"``: the attack's
        own threshold; ``"auto"``: ``"step"`` when ``attack_data`` is given.
    colluding : bool, default=False
        Also run the colluding insiders' attack and node attribution (needs step
        calibration).
    reference_attacks : {"none", "attacked", "every"}, default="none"
        Also score the attacked sets with offline LiRA and RMIA over the shadow
        federation at the same step: ``"attacked"``, right after the steps of the
        attacked nodes and after the last step (the outsider's final model);
        ``"every"``, after every step. Needs step calibration; the pool's rows must be
        non-members of the federation.
    calibration_callback : callable, default=None
        Called after every shadow step as
        ``calibration_callback(step=..., node=..., shadow=..., model=...)`` with the shadow
        federation's model and the real model attacked at that step.
    random_state : int, RandomState instance or None, default=None
        Draws the non-member (and member) samples, the shadow federation's rows and seed.

    Attributes
    ----------
    attack_ : estimator
        The fitted attack in use (a copy or clone of ``attack``).
    eval_sets_ : dict
        For each attacked set (node position, or ``"all"``): ``X``, ``y``, ``membership``,
        ``member_indices`` (rows of the federation's ``X``) and ``nonmember_indices`` (rows
        of ``nonmember_data``).
    history_ : list of dict
        One record per node step and attacked set: ``step``, ``cycle``, ``node``,
        ``label`` (``"C2N1"``), ``attacked`` (node position or ``"all"``),
        ``target_accuracy_attacked`` (target accuracy on the attacked rows),
        ``target_accuracy_test``, the attack's ``accuracy``, ``precision``, ``recall``,
        ``f1``, ``roc_auc``, ``advantage``, ``tpr_at_1_fpr``, ``tpr_at_01_fpr``, and with
        step calibration ``calibrated`` (bool), ``calibration_step`` and
        ``accuracy_uncalibrated``; at the steps ``reference_attacks`` chooses also
        ``lira_<figure>`` and ``rmia_<figure>`` for ``accuracy`` (at the attack's own
        threshold), ``roc_auc`` (with ``_low`` and ``_high``), ``tpr_at_1_fpr`` and
        ``tpr_at_01_fpr``.
    collusion_ : list of dict
        With ``colluding=True``: per step of an attacked node (from the second cycle on,
        or whenever the model before it was seen), ``step``, ``label``, ``attacked``,
        ``weight`` and, for ``single`` and ``pair``, ``roc_auc``, ``tpr_at_1_fpr`` and
        ``accuracy`` on that node's attack test set.
    attribution_ : list of dict
        With ``colluding=True``: per cycle from the second, ``cycle``, ``accuracy``,
        ``chance`` (``1 / n_nodes``) and ``n_records``.

    See Also
    --------
    MembershipInferenceAttack : the shadow-model attack.
    ColludingInsidersAttack : the attack of the nodes around one node's step.

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
    >>> all(r["calibration_step"] == r["step"] for r in monitor.history_)
    True
    """

    _parameter_constraints: dict = {
        "attack": [HasMethods(["fit", "decision_function", "set_params"])],
        "attacked_nodes": ["array-like"],
        "nonmember_data": [tuple, list, None],
        "attack_data": [tuple, list, None],
        "test_data": [tuple, list, None],
        "outsider": ["boolean"],
        "max_members": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "calibration": [StrOptions({"auto", "step", "none"})],
        "colluding": ["boolean"],
        "reference_attacks": [StrOptions({"none", "attacked", "every"})],
        "calibration_callback": [callable, None],
        "random_state": ["random_state"],
    }

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
        calibration="auto",
        colluding=False,
        reference_attacks="none",
        calibration_callback=None,
        random_state=None,
    ):
        self.attack = attack
        self.attacked_nodes = attacked_nodes
        self.nonmember_data = nonmember_data
        self.attack_data = attack_data
        self.test_data = test_data
        self.outsider = outsider
        self.max_members = max_members
        self.calibration = calibration
        self.colluding = colluding
        self.reference_attacks = reference_attacks
        self.calibration_callback = calibration_callback
        self.random_state = random_state

    # ------------------------------------------------------------------ set-up
    def _eval_set(self, X, y, members, X_out, y_out, rng):
        members = np.asarray(members)
        n = len(members)
        if self.max_members is not None:
            n = min(n, int(self.max_members))
        n = min(n, len(y_out))
        (members, nonmembers), membership = balanced_evaluation_set(
            members, np.arange(len(y_out)), n=n, random_state=rng
        )
        return {
            "X": np.concatenate([X[members], X_out[nonmembers]]),
            "y": np.concatenate([y[members], y_out[nonmembers]]),
            "membership": membership,
            "member_indices": members,
            "nonmember_indices": nonmembers,
        }

    @staticmethod
    def _pair(data, name):
        if len(data) != 2:
            raise ValueError(f"{name} must be a pair (X, y); got {len(data)} items.")
        X, y = (np.asarray(a) for a in data)
        if X.ndim != 2 or len(X) != len(y) or len(X) == 0:
            raise ValueError(
                f"{name} must be a non-empty pair (X of shape (n, d), y of shape (n,)); got "
                f"shapes {X.shape} and {y.shape}."
            )
        return X, y

    def on_fit_begin(self, federation, X, y):
        self._validate_params()
        if self.nonmember_data is None:
            raise ValueError(
                "nonmember_data=(X, y) is required: rows no node used, the non-member half "
                "of the attack test sets."
            )
        X_out, y_out = self._pair(self.nonmember_data, "nonmember_data")
        n_nodes = len(federation.node_indices_)
        attacked = [int(k) for k in np.atleast_1d(self.attacked_nodes)]
        bad = [k for k in attacked if not 0 <= k < n_nodes]
        if bad or not attacked:
            raise ValueError(
                f"attacked_nodes {bad or attacked} are not node positions of this federation "
                f"(0 .. {n_nodes - 1})."
            )
        if self.attack_data is not None:
            self._pool = self._pair(self.attack_data, "attack_data")
        if _is_fitted(self.attack):
            self.attack_ = _copy_attack(self.attack)
        elif self.attack_data is None:
            raise ValueError(
                "attack is not fitted: pass attack_data=(X, y), the attacker's own rows, "
                "or a fitted attack."
            )
        else:
            self.attack_ = None  # fitted at the first node step, once a model exists
        mode = self.calibration
        if mode == "auto":
            mode = "step" if self.attack_data is not None else "none"
        if mode == "step" and self.attack_data is None:
            raise ValueError('calibration="step" needs attack_data=(X, y), the attacker\'s pool.')
        if self.colluding and mode != "step":
            raise ValueError(
                "colluding=True needs step calibration: pass attack_data and keep "
                'calibration="step" or "auto".'
            )
        if self.reference_attacks != "none" and mode != "step":
            raise ValueError(
                f"reference_attacks={self.reference_attacks!r} needs step calibration (its "
                "reference model is the shadow federation): pass attack_data and keep "
                'calibration="step" or "auto".'
            )
        self._calibrate = mode == "step"
        rng = check_random_state(self.random_state)
        self.eval_sets_ = {
            k: self._eval_set(X, y, federation.node_indices_[k], X_out, y_out, rng)
            for k in attacked
        }
        if self.outsider:
            self.eval_sets_["all"] = self._eval_set(X, y, np.arange(len(y)), X_out, y_out, rng)
        if self._calibrate:
            self._set_up_calibration(federation, attacked, rng)
        if self.colluding:
            self._node_members = {
                k: np.sort(
                    rng.choice(idx, size=min(len(idx), int(self.max_members or 200)), replace=False)
                )
                for k, idx in enumerate(federation.node_indices_)
            }
            self._fed_data = (X, y)
            self._cycle_models = {}
        self._before = None
        self.history_ = []
        self.collusion_ = []
        self.attribution_ = []

    def _set_up_calibration(self, federation, attacked, rng):
        X_pool, y_pool = self._pool
        classes = np.asarray(federation.classes_)
        keep = np.flatnonzero(np.isin(y_pool, classes))
        sizes = [len(i) for i in federation.node_indices_]
        if len(keep) < 2 * len(sizes) + 2:
            raise ValueError(
                "attack_data holds too few rows with labels the federation knows for step "
                f"calibration: {len(keep)}, need at least {2 * len(sizes) + 2}."
            )
        perm = rng.permutation(keep)
        # held-back non-members, then one fixed set of rows per shadow node; when the pool
        # is smaller than the federation plus these, the shadow nodes' sets shrink alike
        n_out = int(min(max(sizes), len(perm) // 3))
        self._cal_nonmembers = perm[:n_out]
        rest = perm[n_out:]
        scale = min(1.0, len(rest) / sum(sizes))
        bounds = np.cumsum([0] + [max(1, int(n * scale)) for n in sizes])
        self._shadow_nodes = [rest[bounds[j] : bounds[j + 1]] for j in range(len(sizes))]
        self._codes = np.searchsorted(classes, y_pool)  # labels as the federation encodes them
        self._n_classes = len(classes)
        estimator = clone(federation.estimator)
        if "random_state" in estimator.get_params(deep=False):
            estimator.set_params(random_state=draw_seed(rng))
        self._shadow = NodeModel(estimator, classes=federation.classes_)
        self._shadow_before = None
        self._shadow_steps = 0
        # pool rows the shadow federation has trained on so far (its members)
        self._reference_rows = keep
        self._reference_pool = None  # (rows, their LiRA keys), taken at first use
        self._shadow_members = np.zeros(len(y_pool), dtype=bool)

    # ------------------------------------------------------------------ shadow federation
    def _advance_shadow(self, federation, *, step, node, model):
        """Train the shadow federation's node ``node`` (pool rows): it reaches ``step``."""
        if node in self.eval_sets_ and self.colluding:
            self._shadow_before = self._shadow.snapshot() if self._shadow_steps else None
        rows = self._shadow_nodes[node]
        X_pool, _ = self._pool
        train_node_epochs(
            self._shadow.estimator,
            X_pool[rows],
            self._codes[rows],
            epochs=federation.local_epochs,
            classes=np.arange(self._n_classes),
        )
        self._shadow_steps += 1
        self._shadow_members[rows] = True
        if self.calibration_callback is not None:
            self.calibration_callback(step=step, node=node, shadow=self._shadow, model=model)

    def _calibration_rows(self, k):
        members = self._shadow_nodes[k]
        out = self._cal_nonmembers
        n = min(len(members), len(out))
        rows = np.r_[members[:n], out[:n]]
        return rows, np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]

    def _threshold(self, k):
        if k == "all":
            return None
        X_pool, y_pool = self._pool
        rows, membership = self._calibration_rows(k)
        self.attack_.set_params(target=self._shadow)
        scores = self.attack_.decision_function(X_pool[rows], y_pool[rows])
        return float(_best_threshold(scores, membership)), self._shadow_steps - 1

    # ------------------------------------------------------------------ every step
    def on_node_end(self, federation, *, step, cycle, node, position, model, **kwargs):
        if not hasattr(self, "eval_sets_"):
            raise NotFittedError(
                "MembershipMonitor.on_node_end was called before on_fit_begin: pass the "
                "monitor in a federation's callbacks= rather than calling it directly."
            )
        if self.attack_ is None:
            self.attack_ = clone(self.attack).set_params(target=model).fit(*self.attack_data)
        if self._calibrate:
            self._advance_shadow(federation, step=step, node=node, model=model)
        names = list(self.eval_sets_)
        sets = [self.eval_sets_[name] for name in names]
        thresholds = {name: self._threshold(name) for name in names if self._calibrate}
        self.attack_.set_params(target=model)
        # one pass over all attacked sets of this step
        X_all = np.concatenate([s["X"] for s in sets])
        y_all = np.concatenate([s["y"] for s in sets])
        # one scoring pass; the attacks' predict() is decision_function() >= 0
        scores = self.attack_.decision_function(X_all, y_all)
        beyond = {}
        if self._wants_references(federation, step, node):
            beyond = self._reference_scores(model, X_all, y_all)
        target_pred = model.predict(X_all)
        test_acc = None
        if self.test_data is not None:
            test_acc = float(model.score(*self.test_data))
        start = 0
        for name, s in zip(names, sets):
            stop = start + len(s["y"])
            members = s["membership"] == 1
            member_pred = target_pred[start:stop][members]
            own = scores[start:stop]
            found = thresholds.get(name)
            threshold, cal_step = (0.0, None) if found is None else found
            report = attack_report(s["membership"], own, predictions=(own >= threshold).astype(int))
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
            if self._calibrate:
                record["calibrated"] = found is not None
                record["calibration_step"] = cal_step
                record["accuracy_uncalibrated"] = float(
                    np.mean((own >= 0).astype(int) == s["membership"])
                )
            for prefix, values in beyond.items():
                part = values[start:stop]
                figures = attack_report(
                    s["membership"], part, predictions=(part >= 0).astype(int)
                ).to_dict()
                record.update({f"{prefix}_{key}": figures[key] for key in REFERENCE_FIGURES})
            self.history_.append(record)
            if self.colluding and name == node and self._before is not None:
                self._collude(federation, step, cycle, node, model, s, own, threshold)
            start = stop
        if self.colluding:
            self._attribute(federation, step, cycle, position, model)
        self._before = model.snapshot() if self._calibrate else None

    def _wants_references(self, federation, step, node):
        """Whether ``reference_attacks`` asks for LiRA and RMIA after this step."""
        if self.reference_attacks == "every":
            return True
        if self.reference_attacks == "none":
            return False
        orders = getattr(federation, "node_orders_", None)
        last = orders is not None and step == np.size(orders) - 1
        return node in self.eval_sets_ or last

    def _reference_scores(self, model, X, y):
        """Offline LiRA and RMIA scores on ``(X, y)``, the shadow federation as reference."""
        rows = self._reference_rows
        if getattr(self, "_reference_pool", None) is None:
            # the same pool rows at every step: taken, and keyed for LiRA, once
            X_pool, y_pool = self._pool
            pool = (X_pool[rows], y_pool[rows])
            self._reference_pool = (pool, row_keys(*pool))
        pool, keys = self._reference_pool
        in_mask = self._shadow_members[rows][None, :]
        return reference_attack_scores(model, [self._shadow], in_mask, pool, X, y, pool_keys=keys)

    # ------------------------------------------------------------------ colluding
    def _collude(self, federation, step, cycle, node, model, s, single, threshold):
        if self._shadow_before is None:
            return
        X_pool, y_pool = self._pool
        rows, membership = self._calibration_rows(node)
        # weight and threshold from the shadow federation's own step of this node ...
        pair = ColludingInsidersAttack(
            self._shadow.snapshot(), model_before=self._shadow_before, attack=self.attack_
        ).fit(X_pool[rows], y_pool[rows], membership)
        # ... applied to the real models around the node's step
        pair.set_params(target=model, model_before=self._before)
        scores = pair.decision_function(s["X"], s["y"])
        out = {
            "step": step,
            "cycle": cycle,
            "label": f"C{cycle + 1}N{node + 1}",
            "attacked": node,
            "weight": pair.weight_,
        }
        for name, values, cut in (("single", single, threshold), ("pair", scores, 0.0)):
            report = attack_report(
                s["membership"], values, predictions=(values >= cut).astype(int)
            ).to_dict()
            out[name] = {key: report[key] for key in ("roc_auc", "tpr_at_1_fpr", "accuracy")}
        self.collusion_.append(out)

    def _attribute(self, federation, step, cycle, position, model):
        n_nodes = len(federation.node_indices_)
        if position == 0:
            self._cycle_models = {"start": self._before}
        self._cycle_models[int(federation.node_orders_[cycle][position])] = model.snapshot()
        if position != n_nodes - 1 or self._cycle_models.get("start") is None:
            return
        order = [int(k) for k in federation.node_orders_[cycle]]
        chain = [self._cycle_models["start"]] + [self._cycle_models[k] for k in order]
        transitions = {k: (chain[i], chain[i + 1]) for i, k in enumerate(order)}
        X, y = self._fed_data
        rows = np.concatenate([self._node_members[k] for k in range(n_nodes)])
        truth = np.concatenate([np.full(len(self._node_members[k]), k) for k in range(n_nodes)])
        accuracy = NodeAttributionAttack(transitions).score(X[rows], y[rows], truth)
        self.attribution_.append(
            {
                "cycle": cycle,
                "label": f"C{cycle + 1}",
                "accuracy": accuracy,
                "chance": 1.0 / n_nodes,
                "n_records": int(len(rows)),
            }
        )

    def on_fit_end(self, federation):
        for name in (
            "_before",
            "_shadow",
            "_shadow_before",
            "_cycle_models",
            "_fed_data",
            "_shadow_members",
            "_reference_rows",
            "_reference_pool",
        ):
            if hasattr(self, name):
                delattr(self, name)

    def to_frame(self):
        """``history_`` as a pandas DataFrame."""
        if not hasattr(self, "history_"):
            raise NotFittedError(
                "This MembershipMonitor has no history yet: fit a federation with it in "
                "callbacks= first."
            )
        import pandas as pd

        return pd.DataFrame(self.history_)
