"""A full report of a membership attack's performance, every figure with its 95% interval."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from ._attack_metrics import _check_binary_pair, membership_advantage, tpr_at_fpr
from ._intervals import clopper_pearson, delong_auc_interval

__all__ = ["AttackReport", "attack_report"]

#: figures that carry a 95% interval, with the FPR each TPR is read at
_WITH_INTERVAL = ("accuracy", "precision", "recall", "roc_auc", "tpr_at_1_fpr", "tpr_at_01_fpr")
_TPR_LEVELS = {"tpr_at_1_fpr": 0.01, "tpr_at_01_fpr": 0.001}
#: a TPR at a fixed FPR is trusted once this many non-members lie above its threshold
MIN_FALSE_POSITIVES = 10


@dataclass(frozen=True)
class AttackReport:
    """Metrics of one membership attack on one set of members and non-members.

    Every figure of ``accuracy``, ``precision``, ``recall``, ``roc_auc``, ``tpr_at_1_fpr``
    and ``tpr_at_01_fpr`` comes with its 95% interval in ``<figure>_low`` and
    ``<figure>_high``: exact binomial (Clopper-Pearson) intervals for the rates, DeLong's
    for the AUC. The interval of a TPR at a fixed FPR treats the threshold as given; when
    too few non-members stand behind that FPR (below ``1 / n_non_members``, or fewer than 10
    non-members above the threshold), :meth:`caveats` says so and how many non-members
    would be needed.

    Each parameter is kept as the attribute of the same name.

    Parameters
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
        Rows of each kind that were judged.
    n_tied_scores : int
        Rows whose score equals another row's score (0 means the ranking is total).
    accuracy_low, accuracy_high, precision_low, precision_high : float, default=nan
        Bounds of the 95% intervals of accuracy and precision.
    recall_low, recall_high, roc_auc_low, roc_auc_high : float, default=nan
        Bounds of the 95% intervals of recall and AUC.
    tpr_at_1_fpr_low, tpr_at_1_fpr_high : float, default=nan
        Bounds of the 95% interval of the TPR at 1% FPR.
    tpr_at_01_fpr_low, tpr_at_01_fpr_high : float, default=nan
        Bounds of the 95% interval of the TPR at 0.1% FPR.
    basis : str, default=""
        What the figures rest on: the attack and its fitted settings (an attack's
        ``report`` fills it in), printed first; not part of :meth:`to_dict`.
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
    accuracy_low: float = math.nan
    accuracy_high: float = math.nan
    precision_low: float = math.nan
    precision_high: float = math.nan
    recall_low: float = math.nan
    recall_high: float = math.nan
    roc_auc_low: float = math.nan
    roc_auc_high: float = math.nan
    tpr_at_1_fpr_low: float = math.nan
    tpr_at_1_fpr_high: float = math.nan
    tpr_at_01_fpr_low: float = math.nan
    tpr_at_01_fpr_high: float = math.nan
    basis: str = ""

    def to_dict(self) -> dict:
        """The report as a plain ``dict``, each interval beside its figure.

        Keys: ``accuracy, accuracy_low, accuracy_high, precision, ...`` (for
        ``pandas.DataFrame`` rows or JSON).
        """
        out = {}
        for field in fields(self):
            name = field.name
            if name.endswith(("_low", "_high")) or name == "basis":
                continue
            out[name] = getattr(self, name)
            if name in _WITH_INTERVAL:
                out[f"{name}_low"] = getattr(self, f"{name}_low")
                out[f"{name}_high"] = getattr(self, f"{name}_high")
        return out

    def caveats(self) -> list[str]:
        """Why a TPR at a low FPR cannot be trusted on these rows, one line per figure.

        A TPR at FPR ``f`` is meaningless below ``f = 1 / n_non_members`` (not one
        non-member may be accused) and rests on chance while fewer than 10 non-members lie
        above its threshold; then it needs ``ceil(10 / f)`` non-members.

        Returns
        -------
        caveats : list of str
            Empty when every figure is backed by enough non-members.
        """
        lines = []
        for fpr in _TPR_LEVELS.values():
            behind = fpr * self.n_non_members
            if behind >= MIN_FALSE_POSITIVES:
                continue
            needed = math.ceil(MIN_FALSE_POSITIVES / fpr)
            label = f"TPR@{100 * fpr:g}%FPR"
            if fpr < 1.0 / max(self.n_non_members, 1):
                why = f"is below the resolution 1/{self.n_non_members} of the non-members"
            else:
                why = f"rests on {behind:.1f} non-members above the threshold (< 10)"
            lines.append(f"{label} {why}; {needed} non-members would make it meaningful")
        return lines

    def __str__(self) -> str:
        rows = [
            ("accuracy", "accuracy"),
            ("precision", "precision"),
            ("recall", "recall"),
            ("f1", "f1"),
            ("roc_auc", "roc_auc"),
            ("advantage", "advantage"),
            ("TPR@1%FPR", "tpr_at_1_fpr"),
            ("TPR@0.1%FPR", "tpr_at_01_fpr"),
        ]
        lines = [f"attack: {self.basis}"] if self.basis else []
        for label, name in rows:
            line = f"{label:<12} {getattr(self, name):.4f}"
            if name in _WITH_INTERVAL:
                low, high = getattr(self, f"{name}_low"), getattr(self, f"{name}_high")
                line += f"  [{low:.4f}, {high:.4f}]"
            lines.append(line)
        lines.append(f"{'members':<12} {self.n_members}")
        lines.append(f"{'non-members':<12} {self.n_non_members}")
        lines.append(f"{'tied scores':<12} {self.n_tied_scores}")
        lines.append("intervals: 95%, Clopper-Pearson (rates), DeLong (AUC)")
        lines.extend(f"caution: {line}" for line in self.caveats())
        return "\n".join(lines)


def attack_report(membership, scores, predictions=None, *, basis="") -> AttackReport:
    """Every attack metric at once, with 95% intervals, from scores and 0/1 decisions.

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
    basis : str, default=""
        What the figures rest on (the attack and its settings), kept as ``report.basis``
        and printed first.

    Returns
    -------
    report : AttackReport
        Call ``report.to_dict()`` for a ``dict``; ``print(report)`` shows the intervals
        and flags TPRs that too few non-members stand behind.

    Examples
    --------
    >>> from skfedmia.metrics import attack_report
    >>> report = attack_report([1, 1, 0, 0], [0.9, 0.4, 0.3, 0.1], [1, 0, 0, 0])
    >>> report.accuracy, report.precision, report.recall, report.roc_auc
    (0.75, 1.0, 0.5, 1.0)
    >>> report.to_dict()["advantage"]
    0.5
    >>> round(report.accuracy_low, 3), round(report.accuracy_high, 3)
    (0.194, 0.994)
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
    n_members = int((membership == 1).sum())
    n_non_members = int((membership == 0).sum())
    called = predictions == 1
    tp = int(np.sum(called & (membership == 1)))
    figures = {
        "accuracy": float(accuracy_score(membership, predictions)),
        "precision": float(precision_score(membership, predictions, zero_division=0.0)),
        "recall": float(recall_score(membership, predictions, zero_division=0.0)),
        "tpr_at_1_fpr": tpr_at_fpr(membership, scores, 0.01),
        "tpr_at_01_fpr": tpr_at_fpr(membership, scores, 0.001),
    }
    trials = {
        "accuracy": (int(np.sum(predictions == membership)), len(membership)),
        "precision": (tp, int(called.sum())),
        "recall": (tp, n_members),
        "tpr_at_1_fpr": (figures["tpr_at_1_fpr"] * n_members, n_members),
        "tpr_at_01_fpr": (figures["tpr_at_01_fpr"] * n_members, n_members),
    }
    bounds = {}
    for name, (k, n) in trials.items():
        bounds[f"{name}_low"], bounds[f"{name}_high"] = clopper_pearson(k, n)
    bounds["roc_auc_low"], bounds["roc_auc_high"] = delong_auc_interval(membership, scores)
    return AttackReport(
        f1=float(f1_score(membership, predictions, zero_division=0.0)),
        roc_auc=float(roc_auc_score(membership, scores)),
        advantage=membership_advantage(membership, predictions),
        n_members=n_members,
        n_non_members=n_non_members,
        n_tied_scores=int(counts[counts > 1].sum()),
        **figures,
        **bounds,
        basis=str(basis),
    )
