"""A full report of a membership attack's performance."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from ._attack_metrics import _check_binary_pair, membership_advantage, tpr_at_fpr

__all__ = ["AttackReport", "attack_report"]


@dataclass(frozen=True)
class AttackReport:
    """Metrics of one membership attack on one set of members and non-members.

    Attributes
    ----------
    accuracy, precision, recall, f1 : float
        Of the attack's 0/1 decisions, "member" being the positive class.
    roc_auc : float
        Area under the ROC curve of the scores.
    advantage : float
        Membership advantage, TPR - FPR of the decisions.
    tpr_at_1_fpr, tpr_at_01_fpr : float
        TPR at 1% and at 0.1% FPR, read off the ROC curve of the scores.
    n_members, n_non_members : int
    n_tied_scores : int
        Rows whose score equals another row's score (0 means the ranking is total).
    """

    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    advantage: float
    tpr_at_1_fpr: float
    tpr_at_01_fpr: float
    n_members: int
    n_non_members: int
    n_tied_scores: int

    def to_dict(self) -> dict:
        """The report as a plain ``dict`` (for ``pandas.DataFrame`` rows or JSON)."""
        return asdict(self)

    def __str__(self) -> str:
        rows = [
            ("accuracy", self.accuracy),
            ("precision", self.precision),
            ("recall", self.recall),
            ("f1", self.f1),
            ("roc_auc", self.roc_auc),
            ("advantage", self.advantage),
            ("TPR@1%FPR", self.tpr_at_1_fpr),
            ("TPR@0.1%FPR", self.tpr_at_01_fpr),
        ]
        lines = [f"{name:<12} {value:.4f}" for name, value in rows]
        lines.append(f"{'members':<12} {self.n_members}")
        lines.append(f"{'non-members':<12} {self.n_non_members}")
        lines.append(f"{'tied scores':<12} {self.n_tied_scores}")
        return "\n".join(lines)


def attack_report(membership, scores, predictions=None) -> AttackReport:
    """Every attack metric at once, from scores and (optionally) 0/1 decisions.

    Parameters
    ----------
    membership : array-like of shape (n_samples,)
        1 for members of the target's training set, 0 for non-members.
    scores : array-like of shape (n_samples,)
        Membership scores, higher meaning "more likely a member"
        (an attack's ``decision_function``).
    predictions : array-like of shape (n_samples,), default=None
        The attack's 0/1 decisions (its ``predict``). ``None`` thresholds the scores at 0.5
        if they lie in [0, 1], else at 0.

    Returns
    -------
    report : AttackReport
        Call ``report.to_dict()`` for a ``dict``.

    Examples
    --------
    >>> from skfedmia.metrics import attack_report
    >>> report = attack_report([1, 1, 0, 0], [0.9, 0.4, 0.3, 0.1], [1, 0, 0, 0])
    >>> report.accuracy, report.precision, report.recall, report.roc_auc
    (0.75, 1.0, 0.5, 1.0)
    >>> report.to_dict()["advantage"]
    0.5
    """
    membership, scores = _check_binary_pair(membership, scores, "scores")
    scores = scores.astype(np.float64)
    if predictions is None:
        cut = 0.5 if scores.min() >= 0 and scores.max() <= 1 else 0.0
        predictions = (scores >= cut).astype(np.int64)
    else:
        membership, predictions = _check_binary_pair(membership, predictions, "predictions")
        predictions = predictions.astype(np.int64)
    _, counts = np.unique(scores, return_counts=True)
    return AttackReport(
        accuracy=float(accuracy_score(membership, predictions)),
        precision=float(precision_score(membership, predictions, zero_division=0.0)),
        recall=float(recall_score(membership, predictions, zero_division=0.0)),
        f1=float(f1_score(membership, predictions, zero_division=0.0)),
        roc_auc=float(roc_auc_score(membership, scores)),
        advantage=membership_advantage(membership, predictions),
        tpr_at_1_fpr=tpr_at_fpr(membership, scores, 0.01),
        tpr_at_01_fpr=tpr_at_fpr(membership, scores, 0.001),
        n_members=int((membership == 1).sum()),
        n_non_members=int((membership == 0).sum()),
        n_tied_scores=int(counts[counts > 1].sum()),
    )
