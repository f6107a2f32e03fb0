"""Threshold attacks and the likelihood-ratio attack."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from skfedmia.attacks.membership import LikelihoodRatioAttack, ThresholdAttack
from skfedmia.attacks.membership._signals import compute_signal, true_class_logit

from .conftest import eval_set


@pytest.fixture(scope="module")
def lira(location_splits, location_target):
    X, y, parts = location_splits
    attack = LikelihoodRatioAttack(
        location_target, n_shadow_models=4, shadow_size=400, random_state=0
    )
    return attack.fit(X[parts["pool"]], y[parts["pool"]])


def test_lira_offline_finds_members_at_low_fpr(location_splits, lira):
    X, y, parts = location_splits
    Xe, ye, membership = eval_set(X, y, parts["train"], parts["out"])
    report = lira.report(Xe, ye, membership)
    assert report.roc_auc > 0.9
    # per-example thresholds: far above the 1% a guess gets at 1% FPR
    assert report.tpr_at_1_fpr > 0.3
    assert report.n_tied_scores == 0
    Xu, yu, unused = eval_set(X, y, parts["unused"], parts["out"])
    assert abs(lira.report(Xu, yu, unused).roc_auc - 0.5) < 0.08


def test_lira_bookkeeping(lira, location_splits):
    X, y, parts = location_splits
    n_pool = len(parts["pool"])
    assert lira.shadow_in_mask_.shape == (4, n_pool)
    assert (lira.shadow_in_mask_.sum(axis=1) == 400).all()
    # each pool row is in roughly the same number of models
    assert np.ptp(lira.shadow_in_mask_.sum(axis=0)) <= 1
    assert lira.pool_scores_.shape == (4, n_pool)
    assert lira.std_in_ > 0 and lira.std_out_ > 0


def test_lira_variants_and_repeatability(location_splits, location_target, lira):
    X, y, parts = location_splits
    Xe, ye, membership = eval_set(X, y, parts["train"][:200], parts["out"][:200])
    first = lira.decision_function(Xe, ye)
    again = clone(lira).fit(X[parts["pool"]], y[parts["pool"]])
    np.testing.assert_array_equal(first, again.decision_function(Xe, ye))
    per_example = clone(lira).set_params(fixed_variance=False)
    per_example.fit(X[parts["pool"]], y[parts["pool"]])
    assert per_example.report(Xe, ye, membership).roc_auc > 0.85
    # online: the reference models also train on (half of) the candidates
    online = LikelihoodRatioAttack(
        location_target, n_shadow_models=4, shadow_size=400, online=True, random_state=0
    )
    pool_and_candidates = np.concatenate([parts["pool"], parts["train"][:200], parts["out"][:200]])
    online.fit(X[pool_and_candidates], y[pool_and_candidates])
    report = online.report(Xe, ye, membership)
    assert report.roc_auc > 0.9
    assert report.n_tied_scores == 0


@pytest.mark.parametrize("signal", ["loss", "confidence", "entropy", "modified_entropy"])
def test_threshold_attacks_on_overfitted_target(location_splits, location_target, signal):
    X, y, parts = location_splits
    attack = ThresholdAttack(location_target, signal=signal, random_state=0)
    attack.fit(X[parts["pool"]], y[parts["pool"]])
    Xe, ye, membership = eval_set(X, y, parts["train"], parts["out"])
    report = attack.report(Xe, ye, membership)
    assert report.accuracy > 0.7
    assert report.roc_auc > 0.8
    proba = attack.predict_proba(Xe, ye)
    np.testing.assert_array_equal(attack.predict(Xe, ye), (proba[:, 1] >= 0.5).astype(int))


def test_threshold_without_shadows_and_per_class(location_splits, location_target):
    X, y, parts = location_splits
    attack = ThresholdAttack(location_target, n_shadow_models=0, fpr=0.2).fit(
        X[parts["pool"]], y[parts["pool"]]
    )
    assert attack.shadow_estimators_ == []
    # the threshold is set on non-members: about fpr of fresh non-members are accused
    fresh = attack.predict(X[parts["unused"]], y[parts["unused"]])
    assert 0.1 < fresh.mean() < 0.3
    per_class = ThresholdAttack(
        location_target, n_shadow_models=2, shadow_size=300, per_class=True, random_state=0
    ).fit(X[parts["pool"]], y[parts["pool"]])
    assert per_class.thresholds_
    Xe, ye, membership = eval_set(X, y, parts["train"], parts["out"])
    assert per_class.report(Xe, ye, membership).roc_auc > 0.8


def test_signals_do_not_saturate():
    proba = np.array([[1.0, 1e-12, 0.0], [1.0, 1e-9, 0.0], [0.5, 0.25, 0.25]], dtype=np.float32)
    logit = true_class_logit(proba, np.array([0, 0, 0]))
    assert logit[0] > logit[1] > logit[2]
    np.testing.assert_allclose(logit[2], 0.0, atol=1e-12)
    np.testing.assert_allclose(logit[1], -np.log(np.float32(1e-9)), rtol=1e-6)
    entropy = compute_signal("entropy", proba, np.array([0, 0, 0]))
    assert entropy[0] > entropy[1] > entropy[2]
    mentr = compute_signal("modified_entropy", proba, np.array([0, 0, 0]))
    assert mentr[0] > mentr[1] > mentr[2]
    wrong = compute_signal("modified_entropy", proba, np.array([1, 1, 1]))
    assert (wrong < mentr).all()


def test_lira_needs_models_and_rows(digits, digits_forest):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="online LiRA needs n_shadow_models >= 2"):
        LikelihoodRatioAttack(digits_forest, n_shadow_models=1, online=True).fit(
            X[300:400], y[300:400]
        )
    with pytest.raises(ValueError, match="Too little attacker data.*shadow_size"):
        LikelihoodRatioAttack(digits_forest, n_shadow_models=2, shadow_size=100).fit(
            X[300:350], y[300:350]
        )
    lira = LikelihoodRatioAttack(
        digits_forest, n_shadow_models=2, shadow_estimator=LogisticRegression(), random_state=0
    ).fit(X[300:500], y[300:500])
    assert len(lira.shadow_estimators_) == 2
