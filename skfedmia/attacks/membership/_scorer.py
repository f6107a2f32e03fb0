"""A ``GridSearchCV`` scorer that attacks each candidate model on its own training rows."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ...utils._fit_data import get_fit_data
from ...utils._random import draw_seed
from ._base import balanced_evaluation_set
from ._lira import LikelihoodRatioAttack
from ._rmia import RelativeMembershipInferenceAttack
from ._shadow_attack import MembershipInferenceAttack
from ._threshold import ThresholdAttack

__all__ = ["MembershipScorer", "make_membership_scorer"]

METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "advantage",
    "tpr_at_1_fpr",
    "tpr_at_01_fpr",
)
ATTACKS = ("shadow", "loss", "lira", "rmia")


class MembershipScorer:
    """Callable ``scorer(estimator, X, y)`` built by :func:`make_membership_scorer`."""

    def __init__(
        self,
        metric,
        attack,
        n_shadow_models,
        shadow_fraction,
        node,
        attack_params,
        random_state,
        n_jobs,
    ):
        self.metric = metric
        self.attack = attack
        self.n_shadow_models = n_shadow_models
        self.shadow_fraction = shadow_fraction
        self.node = node
        self.attack_params = attack_params
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __repr__(self):
        return (
            f"make_membership_scorer(metric={self.metric!r}, attack={self.attack!r}, "
            f"n_shadow_models={self.n_shadow_models})"
        )

    def _new_attack(self, estimator, seed):
        kind = {
            "shadow": MembershipInferenceAttack,
            "loss": ThresholdAttack,
            "lira": LikelihoodRatioAttack,
            "rmia": RelativeMembershipInferenceAttack,
        }[self.attack]
        params = {"n_shadow_models": self.n_shadow_models, "random_state": seed}
        if self.n_jobs is not None:
            params["n_jobs"] = self.n_jobs
        if self.attack == "loss":
            params["signal"] = "loss"
        params.update(self.attack_params or {})
        return kind(estimator, **params)

    def _training_rows(self, estimator):
        data = get_fit_data(estimator)
        if data is None:
            raise ValueError(
                f"The membership scorer needs the rows {type(estimator).__name__} was fit on, "
                "but this estimator did not record them. skfedmia's federations do; for "
                "another estimator call skfedmia.utils.record_fit_data(self, X, y) in its "
                "fit."
            )
        X_train, y_train, groups = data
        if self.node is None:
            return X_train, np.asarray(y_train)
        if groups is None:
            raise ValueError(
                f"node={self.node!r} was asked for, but {type(estimator).__name__} recorded no "
                "per-node rows (only federations do)."
            )
        nodes = list(getattr(estimator, "nodes_", range(len(groups))))
        if self.node not in nodes:
            raise ValueError(f"node={self.node!r} is not among the estimator's nodes {nodes}.")
        rows = groups[nodes.index(self.node)]
        return _safe_indexing(X_train, rows), np.asarray(y_train)[rows]

    def __call__(self, estimator, X, y):
        X_train, y_train = self._training_rows(estimator)
        rng = check_random_state(self.random_state)
        y = np.asarray(y)
        known = np.flatnonzero(np.isin(y, estimator.classes_))  # a fold may hold rare labels
        perm = rng.permutation(known)
        n_pool = int(round(self.shadow_fraction * len(perm)))
        pool, held_out = perm[:n_pool], perm[n_pool:]
        n_eval = min(len(held_out), len(y_train))
        if n_eval < 2:
            raise ValueError(
                f"The membership scorer needs held-out rows to compare with members; got "
                f"{len(held_out)} held-out and {len(y_train)} training rows."
            )
        # held_out is already in random order: only the members are drawn
        (members, held_out), membership = balanced_evaluation_set(
            np.arange(len(y_train)),
            held_out,
            n=n_eval,
            random_state=rng,
            draw="members",
            sort=False,
        )
        attack = self._new_attack(estimator, draw_seed(rng))
        with warnings.catch_warnings():
            # the scorer draws the pool from the fold itself: a rare label may fall
            # outside it, which is no advice for the user to act on
            warnings.filterwarnings("ignore", message="The attacker's rows hold no row")
            attack.fit(_safe_indexing(X, pool), y[pool])
        X_eval = _concat(_safe_indexing(X_train, members), _safe_indexing(X, held_out))
        y_eval = np.concatenate([y_train[members], y[held_out]])
        return float(attack.report(X_eval, y_eval, membership).to_dict()[self.metric])


def _concat(a, b):
    if hasattr(a, "iloc"):
        import pandas as pd

        return pd.concat([a, b], axis=0, ignore_index=True)
    if hasattr(a, "tocsr"):
        import scipy.sparse as sp

        return sp.vstack([a, b]).tocsr()
    return np.concatenate([np.asarray(a), np.asarray(b)], axis=0)


@validate_params(
    {
        "metric": [StrOptions(set(METRICS) | {"auc"})],
        "attack": [StrOptions(set(ATTACKS))],
        "n_shadow_models": [Interval(numbers.Integral, 1, None, closed="left")],
        "shadow_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "node": "no_validation",
        "attack_params": [dict, None],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def make_membership_scorer(
    metric="accuracy",
    *,
    attack="shadow",
    n_shadow_models=4,
    shadow_fraction=0.5,
    node=None,
    attack_params=None,
    random_state=None,
    n_jobs=None,
):
    """A scorer that runs a membership attack against each candidate of a grid search.

    Used in ``GridSearchCV(scoring={"accuracy": "accuracy", "attack": scorer})`` it reports,
    beside the usual test accuracy, how well a membership attack tells the candidate's own
    training rows from held-out rows — a privacy / utility trade-off per hyper-parameter
    setting. Called with ``(estimator, X_test_fold, y_test_fold)`` it

    1. takes the rows the candidate was fit on (skfedmia's estimators record them at
       ``fit``; see :func:`~skfedmia.utils.record_fit_data` for other estimators), or
       one node's rows;
    2. splits the test fold into a shadow pool (``shadow_fraction``) and held-out
       non-members, and samples as many members from the training rows;
    3. trains the attack's shadow models as clones of the candidate (its very
       hyper-parameters) on the pool, attacks the candidate and returns ``metric``.

    Parameters
    ----------
    metric : {"accuracy", "precision", "recall", "f1", "roc_auc", "auc", "advantage", \
"tpr_at_1_fpr", "tpr_at_01_fpr"}, default="accuracy"
        What the scorer returns (higher = more leakage).
    attack : {"shadow", "loss", "lira", "rmia"}, default="shadow"
        :class:`~skfedmia.MembershipInferenceAttack`, a loss
        :class:`~skfedmia.ThresholdAttack`, :class:`~skfedmia.LikelihoodRatioAttack` or
        :class:`~skfedmia.RelativeMembershipInferenceAttack`.
    n_shadow_models : int, default=4
        Shadow / reference models per candidate and fold.
    shadow_fraction : float, default=0.5
        Share of the test fold used as the attacker's data; the rest are non-members.
    node : object, default=None
        Audit this node's rows only (a label of the federation's ``nodes_``), as an insider
        attacking one party would.
    attack_params : dict, default=None
        More parameters of the attack (``{"attack_estimator": ..., "disjoint": False}``).
    random_state : int, RandomState instance or None, default=None
        Seeds the splits and the attack; an int gives the same splits at every call.
    n_jobs : int, default=None
        Passed to the attack (shadow models in parallel).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skfedmia import SequentialFederatedClassifier
    >>> from skfedmia import make_membership_scorer
    >>> X, y = load_digits(return_X_y=True)
    >>> fed = SequentialFederatedClassifier(SGDClassifier(loss="log_loss", random_state=0),
    ...                                     n_nodes=2, n_cycles=1, random_state=0)
    >>> scorer = make_membership_scorer("accuracy", attack="loss", n_shadow_models=1,
    ...                                 random_state=0)
    >>> search = GridSearchCV(fed, {"local_epochs": [1, 5]}, cv=2, refit="accuracy",
    ...                       scoring={"accuracy": "accuracy", "attack_accuracy": scorer})
    >>> _ = search.fit(X[:600] / 16, y[:600])
    >>> search.cv_results_["mean_test_attack_accuracy"].shape
    (2,)
    """
    return MembershipScorer(
        metric="roc_auc" if metric == "auc" else metric,
        attack=attack,
        n_shadow_models=n_shadow_models,
        shadow_fraction=shadow_fraction,
        node=node,
        attack_params=attack_params,
        random_state=random_state,
        n_jobs=n_jobs,
    )
