"""Offline LiRA and RMIA over reference models that were trained for another purpose.

A shadow attack's shadow models, or an insider's shadow federation, are models trained
like the target on the attacker's pool, with known rows in and out: exactly what the
offline LiRA and RMIA need as reference models. Reusing them costs no training.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, ClassifierMixin

from ._lira import LikelihoodRatioAttack
from ._rmia import RelativeMembershipInferenceAttack

__all__ = ["REFERENCE_ATTACKS", "reference_attack_scores"]

#: The offline attacks run over borrowed reference models, by the prefix of their figures.
REFERENCE_ATTACKS = {
    "lira": LikelihoodRatioAttack,
    "rmia": RelativeMembershipInferenceAttack,
}


def reference_attack_scores(target, references, in_mask, pool, X, y, *, pool_keys=None):
    """Membership scores of offline LiRA and RMIA on ``(X, y)`` over given references.

    Both attacks are fitted with :meth:`BaseShadowModelAttack._from_references` (no
    training, no random draw) with their default settings, and score the queried rows
    against ``target``; a score ``>= 0`` means member at the attack's own threshold.

    Parameters
    ----------
    target : fitted classifier with ``predict_proba``
        The model under attack. RMIA also uses it as an out-model of the pool rows, so
        these must be non-members of ``target``.
    references : sequence of fitted classifiers
        Models trained like the target on rows of ``pool``.
    in_mask : array-like of bool, shape (len(references), len(pool rows))
        ``in_mask[k, i]``: pool row ``i`` was in reference ``k``'s training set.
    pool : tuple (X_pool, y_pool)
        The attacker's rows the references were trained on or left out.
    X : array-like of shape (n_samples, n_features)
        The queried rows (in no reference's training set: the offline setting).
    y : array-like of shape (n_samples,)
        Their true labels.
    pool_keys : list, default=None
        ``row_keys(X_pool, y_pool)`` when the caller already has them (LiRA recognises
        queried rows that are pool rows by these keys); computed when ``None``.

    Returns
    -------
    scores : dict
        ``{"lira": ndarray, "rmia": ndarray}``, one score per queried row.
    """
    X_pool, y_pool = pool
    # both attacks ask the same models for the same rows: predict each pair once
    target = _Predictions(target)
    references = [_Predictions(model) for model in references]
    scores = {}
    for name, cls in REFERENCE_ATTACKS.items():
        extra = {"pool_keys": pool_keys} if cls is LikelihoodRatioAttack else {}
        attack = cls._from_references(target, references, in_mask, X_pool, y_pool, **extra)
        scores[name] = attack.decision_function(X, y)
    return scores


class _Predictions(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose ``predict_proba`` answers each array object once.

    Lives for one call of :func:`reference_attack_scores`; the arrays it has answered are
    kept alive with their answers, so an ``id`` is never reused meanwhile.
    """

    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_
        self._answers = {}

    def fit(self, X, y):
        """Never called: the model is fitted already (sklearn's checks look for it)."""
        raise NotImplementedError("_Predictions wraps a fitted model; it is not fitted again.")

    def __sklearn_is_fitted__(self):
        return True

    def predict_proba(self, X):
        found = self._answers.get(id(X))
        if found is None:
            found = (X, self.model.predict_proba(X))
            self._answers[id(X)] = found
        return found[1]
