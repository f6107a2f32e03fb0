"""The shadow-model attack: it works on an overfitted target, not on unseen rows, and
behaves as a scikit-learn estimator."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError

from skfedmia import SequentialFederatedClassifier
from skfedmia.attacks.membership import MembershipInferenceAttack
from skfedmia.attacks.membership._signals import true_class_logit
from skfedmia.federated import SnapshotRecorder

from .conftest import eval_set, fast_mlp


@pytest.fixture(scope="module")
def fitted_attack(location_splits, location_target):
    X, y, parts = location_splits
    attack = MembershipInferenceAttack(
        location_target, n_shadow_models=3, disjoint=False, shadow_size=400, random_state=0
    )
    return attack.fit(X[parts["pool"]], y[parts["pool"]])


def test_attack_succeeds_on_overfitted_mlp(location_splits, location_target, fitted_attack):
    X, y, parts = location_splits
    # the target fits its 400 rows perfectly and generalises poorly: by Yeom et al. a loss
    # threshold alone has advantage ~ the generalisation gap (> 0.5 here), i.e. accuracy
    # ~ 0.75; an attack below 0.75 accuracy or 0.85 AUC is broken
    assert location_target.score(X[parts["train"]], y[parts["train"]]) == 1.0
    assert location_target.score(X[parts["out"]], y[parts["out"]]) < 0.55
    Xe, ye, membership = eval_set(X, y, parts["train"], parts["out"])
    report = fitted_attack.report(Xe, ye, membership)
    assert report.accuracy > 0.75
    assert report.roc_auc > 0.85
    assert report.tpr_at_1_fpr > 0.1
    assert report.n_tied_scores == 0
    assert fitted_attack.score(Xe, ye, membership) == pytest.approx(report.accuracy)


def test_attack_is_at_chance_on_rows_the_target_never_saw(location_splits, fitted_attack):
    X, y, parts = location_splits
    # "members" from the same distribution that were never used: 400 vs 400 rows give an
    # AUC standard error of about 0.02, so 0.08 is a 4-sigma band around chance
    Xe, ye, membership = eval_set(X, y, parts["unused"], parts["out"])
    report = fitted_attack.report(Xe, ye, membership)
    assert abs(report.accuracy - 0.5) < 0.06
    assert abs(report.roc_auc - 0.5) < 0.08


def test_predict_proba_decision_function_and_predict_agree(location_splits, fitted_attack):
    X, y, parts = location_splits
    Xe, ye, _ = eval_set(X, y, parts["train"][:50], parts["out"][:50])
    proba = fitted_attack.predict_proba(Xe, ye)
    scores = fitted_attack.decision_function(Xe, ye)
    assert proba.shape == (100, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted_attack.predict(Xe, ye), (proba[:, 1] >= 0.5).astype(int))
    np.testing.assert_array_equal(fitted_attack.predict(Xe, ye), (scores >= 0).astype(int))
    np.testing.assert_array_equal(fitted_attack.score_samples(Xe, ye), scores)
    assert np.all(np.diff(proba[np.argsort(scores), 1]) >= 0)
    np.testing.assert_array_equal(fitted_attack.classes_, [0, 1])


@pytest.mark.parametrize("disjoint", [True, False])
def test_shadow_splits_are_disjoint_and_sized(digits, digits_forest, disjoint):
    X, y, _, _ = digits
    attack = MembershipInferenceAttack(
        digits_forest,
        n_shadow_models=3,
        shadow_size=40,
        disjoint=disjoint,
        attack_estimator=LogisticRegression(),
        random_state=0,
    ).fit(X[300:700], y[300:700])
    assert len(attack.shadow_indices_) == len(attack.shadow_estimators_) == 3
    for inside, outside in attack.shadow_indices_:
        assert len(inside) == len(outside) == 40
        assert not np.intersect1d(inside, outside).size
    if disjoint:
        every = np.concatenate([np.r_[a, b] for a, b in attack.shadow_indices_])
        assert len(np.unique(every)) == 3 * 80
    assert attack.shadow_size_ == 40 and attack.disjoint_ == disjoint
    # a forest records no training rows: shadows get half the attacker's rows, overlapping
    default = MembershipInferenceAttack(
        digits_forest, n_shadow_models=4, attack_estimator=LogisticRegression(), random_state=0
    ).fit(X[300:700], y[300:700])
    assert {len(a) for a, _ in default.shadow_indices_} == {200}
    assert default.shadow_size_ == 200 and not default.disjoint_


def test_default_shadow_size_follows_the_targets_training_size(digits):
    X, y, _, _ = digits
    target = fast_mlp(max_epochs=3).fit(X[:150], y[:150])
    # 4 shadows of 150 rows need 1,200 rows to be disjoint: with 500 they overlap
    attack = MembershipInferenceAttack(
        target, n_shadow_models=4, attack_estimator=LogisticRegression(), random_state=0
    ).fit(X[300:800], y[300:800])
    assert attack.shadow_size_ == 150 and not attack.disjoint_
    assert {len(a) for a, _ in attack.shadow_indices_} == {150}
    # with enough rows the same default shadows are disjoint
    attack.set_params(n_shadow_models=2).fit(X[300:1000], y[300:1000])
    assert attack.shadow_size_ == 150 and attack.disjoint_
    # explicit choices win
    attack.set_params(shadow_size=30, disjoint=False).fit(X[300:800], y[300:800])
    assert attack.shadow_size_ == 30 and not attack.disjoint_
    # a target trained on more rows than half the pool: shadows of half the pool
    big = fast_mlp(max_epochs=1).fit(X[:600], y[:600])
    attack = MembershipInferenceAttack(
        big, n_shadow_models=2, attack_estimator=LogisticRegression(), random_state=0
    ).fit(X[600:1000], y[600:1000])
    assert attack.shadow_size_ == 200


@pytest.mark.parametrize("features", ["paper", "full", "calibrated"])
def test_per_class_auc_is_not_below_the_single_models(features):
    # labels 0 and 1 lie in clouds of their own (easy: members and non-members alike get
    # confident outputs), labels 2 and 3 share one cloud (hard: only memorised rows get
    # confident outputs), so the same output means different things on different labels
    rng = np.random.RandomState(0)
    n = 1600
    y = rng.randint(0, 4, n)
    centres = rng.normal(0, 6, (4, 20))
    centres[3] = centres[2]
    X = (centres[y] + rng.normal(0, 1, (n, 20))).astype(np.float32)
    members, pool = np.arange(300), np.arange(600, n)
    target = fast_mlp(max_epochs=150, lr=0.01).fit(X[members], y[members])
    rows = np.arange(600)
    membership = np.r_[np.ones(300, int), np.zeros(300, int)]
    params = dict(
        n_shadow_models=4, attack_estimator=LogisticRegression(), features=features, random_state=0
    )
    single = MembershipInferenceAttack(target, **params).fit(X[pool], y[pool])
    per_class = MembershipInferenceAttack(target, per_class=True, **params).fit(X[pool], y[pool])
    assert set(per_class.class_calibration_) == {0, 1, 2, 3}
    assert all(slope > 0 for slope, _ in per_class.class_calibration_.values())
    auc_single = single.report(X[rows], y[rows], membership).roc_auc
    auc_per_class = per_class.report(X[rows], y[rows], membership).roc_auc
    assert auc_per_class >= auc_single


def test_predict_decides_at_the_operating_point(digits):
    X, y, X_test, y_test = digits
    target = fast_mlp(max_epochs=30).fit(X[:300], y[:300])
    params = dict(n_shadow_models=3, attack_estimator=LogisticRegression(), random_state=0)
    balanced = MembershipInferenceAttack(target, **params).fit(X[300:1200], y[300:1200])
    strict = MembershipInferenceAttack(target, operating_point=0.02, **params)
    strict.fit(X[300:1200], y[300:1200])
    # the same scores, a threshold moved to the shadows' 2% false-positive rate
    np.testing.assert_allclose(
        balanced.decision_function(X_test, y_test) + balanced.threshold_,
        strict.decision_function(X_test, y_test) + strict.threshold_,
    )
    assert strict.threshold_ > balanced.threshold_
    # calibrated on the shadows, it carries over to the target's non-members
    fpr = strict.predict(X_test, y_test).mean()
    assert fpr < 0.1 < balanced.predict(X_test, y_test).mean()


def test_random_state_repeats_exactly(digits, digits_forest):
    X, y, X_test, y_test = digits

    def scores(seed):
        attack = MembershipInferenceAttack(digits_forest, n_shadow_models=2, random_state=seed)
        return attack.fit(X[300:900], y[300:900]).decision_function(X_test, y_test)

    first = scores(0)
    np.testing.assert_array_equal(first, scores(0))
    assert not np.array_equal(first, scores(1))


def test_per_class_and_sampler_on_location(location_splits, location_target):
    X, y, parts = location_splits
    attack = MembershipInferenceAttack(
        location_target,
        n_shadow_models=2,
        disjoint=False,
        shadow_size=400,
        per_class=True,
        attack_estimator=LogisticRegression(max_iter=500),
        sampler=RandomUnderSampler(random_state=0),
        random_state=0,
    ).fit(X[parts["pool"]], y[parts["pool"]])
    assert set(attack.class_calibration_) == set(location_target.classes_.tolist())
    Xe, ye, membership = eval_set(X, y, parts["train"], parts["out"])
    assert attack.report(Xe, ye, membership).roc_auc > 0.8


def test_features_paper_has_probabilities_and_one_hot_label(digits, digits_forest):
    X, y, _, _ = digits
    attack = MembershipInferenceAttack(
        digits_forest,
        n_shadow_models=2,
        features="paper",
        attack_estimator=LogisticRegression(),
        random_state=0,
    ).fit(X[300:700], y[300:700])
    assert attack.attack_estimator_.n_features_in_ == 2 * 10
    attack.set_params(features="full").fit(X[300:700], y[300:700])
    assert attack.attack_estimator_.n_features_in_ == 2 * 10 + 1


def test_features_calibrated_is_the_default_and_adds_the_rows_difficulty(digits, digits_forest):
    X, y, _, _ = digits
    params = dict(attack_estimator=LogisticRegression(), random_state=0)
    attack = MembershipInferenceAttack(digits_forest, n_shadow_models=2, **params)
    attack.fit(X[300:700], y[300:700])
    assert attack.features == "auto" and attack.features_ == "calibrated"
    # probabilities, one-hot label, confidence, and the row's difficulty and the gap to it
    assert attack.attack_estimator_.n_features_in_ == 2 * 10 + 3
    one = MembershipInferenceAttack(digits_forest, n_shadow_models=1, **params)
    assert one.fit(X[300:700], y[300:700]).features_ == "full"
    with pytest.raises(ValueError, match=r"n_shadow_models >= 2; got 1"):
        one.set_params(features="calibrated").fit(X[300:700], y[300:700])


def test_report_says_what_its_figures_rest_on(digits, digits_forest):
    X, y, X_test, y_test = digits
    attack = MembershipInferenceAttack(
        digits_forest, n_shadow_models=2, attack_estimator=LogisticRegression(), random_state=0
    ).fit(X[300:900], y[300:900])
    membership = [1] * 300 + [0] * 300
    report = attack.report(
        np.vstack([X[:300], X_test[:300]]), np.r_[y[:300], y_test[:300]], membership
    )
    assert report.basis.startswith("MembershipInferenceAttack over 2 shadow models of 300 rows")
    assert "600 rows" in report.basis and "difficulty-calibrated inputs" in report.basis
    assert "highest balanced accuracy" in report.basis
    assert str(report).splitlines()[0] == f"attack: {report.basis}"
    assert "basis" not in report.to_dict()
    attack.set_params(features="paper", operating_point=0.05).fit(X[300:900], y[300:900])
    report = attack.report(
        np.vstack([X[:300], X_test[:300]]), np.r_[y[:300], y_test[:300]], membership
    )
    assert "the paper's inputs" in report.basis and "0.05 false-positive rate" in report.basis


def test_difficulty_calibration_raises_the_auc_on_rows_of_unequal_difficulty(digits):
    # a forest is confident on most digits whether it trained on them or not; how much more
    # confident the target is than models that left a row out tells members apart
    X, y, X_test, y_test = digits
    X, y = np.vstack([X, X_test]), np.r_[y, y_test]
    perm = np.random.RandomState(0).permutation(len(y))
    members, others, pool = perm[:300], perm[300:600], perm[600:]
    target = RandomForestClassifier(n_estimators=50, random_state=0).fit(X[members], y[members])
    Xe, ye, membership = eval_set(X, y, members, others)
    aucs = {}
    for features in ("full", "calibrated"):
        attack = MembershipInferenceAttack(
            target, n_shadow_models=4, features=features, random_state=0
        ).fit(X[pool], y[pool])
        aucs[features] = attack.report(Xe, ye, membership).roc_auc
    # measured 0.88 and 0.94 (gains of 0.06 to 0.08 over three splits); 300 vs 300 rows
    # give each AUC a standard error of about 0.015
    assert aucs["calibrated"] > aucs["full"] + 0.03, aucs


def test_calibrated_reference_of_the_attackers_own_rows_leaves_their_shadows_out(digits):
    X, y, _, _ = digits
    target = RandomForestClassifier(n_estimators=10, random_state=0).fit(X[:300], y[:300])
    attack = MembershipInferenceAttack(
        target, n_shadow_models=3, attack_estimator=LogisticRegression(), random_state=0
    ).fit(X[300:900], y[300:900])
    pool_X, pool_y = X[300:900], y[300:900]
    label_index = np.searchsorted(attack.target_classes_, pool_y)
    signal = np.stack(
        [true_class_logit(m.predict_proba(pool_X), label_index) for m in attack.shadow_estimators_]
    )
    judges = ~attack.shadow_in_mask_ & attack.shadow_labels_seen_[:, label_index]
    some = judges.any(axis=0) & ~judges.all(axis=0)
    assert some.any()
    expected = (signal * judges).sum(axis=0) / np.maximum(judges.sum(axis=0), 1)
    got = attack._reference(pool_X, pool_y, label_index)
    np.testing.assert_allclose(got[some], expected[some], rtol=1e-6, atol=1e-6)
    # a row the attacker never had is judged by every shadow
    fresh = attack._reference(X[:5], y[:5], np.searchsorted(attack.target_classes_, y[:5]))
    assert np.all(np.isfinite(fresh))


def test_clone_keeps_the_fitted_target_and_set_params_retargets(digits, digits_forest):
    X, y, X_test, y_test = digits
    attack = MembershipInferenceAttack(digits_forest, n_shadow_models=2, random_state=0)
    assert clone(attack).target is digits_forest
    attack.fit(X[300:700], y[300:700])
    shadows = attack.shadow_estimators_
    before = attack.decision_function(X_test, y_test)
    other = RandomForestClassifier(n_estimators=5, random_state=1).fit(X[:300], y[:300])
    attack.set_params(target=other)
    assert attack.shadow_estimators_ is shadows  # no retraining
    assert not np.array_equal(attack.decision_function(X_test, y_test), before)
    restored = pickle.loads(pickle.dumps(attack.set_params(target=digits_forest)))
    np.testing.assert_array_equal(restored.decision_function(X_test, y_test), before)


def test_attacks_federation_snapshots_and_any_classifier(digits):
    X, y, X_test, y_test = digits
    recorder = SnapshotRecorder()
    fed = SequentialFederatedClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        n_nodes=2,
        n_cycles=2,
        callbacks=[recorder],
        random_state=0,
    ).fit(X[:300], y[:300])
    targets = [
        fed,
        recorder.snapshots_[0]["model"],
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X[:300], y[:300]),
        HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X[:300], y[:300]),
        CalibratedClassifierCV(SVC(), ensemble=False).fit(X[:300], y[:300]),
        fast_mlp(max_epochs=5).fit(X[:300], y[:300]),
    ]
    for target in targets:
        attack = MembershipInferenceAttack(
            target, n_shadow_models=2, attack_estimator=LogisticRegression(), random_state=0
        ).fit(X[300:700], y[300:700])
        scores = attack.decision_function(X_test[:40], y_test[:40])
        assert scores.shape == (40,) and np.isfinite(scores).all()
    # one fitted attack scores every snapshot of the federation
    attack = MembershipInferenceAttack(
        recorder.snapshots_[0]["model"], n_shadow_models=2, random_state=0
    ).fit(X[300:700], y[300:700])
    for snap in recorder.snapshots_:
        attack.set_params(target=snap["model"])
        assert attack.predict(X_test[:10], y_test[:10]).shape == (10,)


# ---------------------------------------------------------------------- bad input
def test_target_without_predict_proba_is_refused(digits):
    X, y, _, _ = digits
    svc = SVC().fit(X[:100], y[:100])
    with pytest.raises(
        TypeError, match="`target` is a SVC, which has none.*CalibratedClassifierCV"
    ):
        MembershipInferenceAttack(svc).fit(X[100:300], y[100:300])
    with pytest.raises(InvalidParameterError, match="operating_point"):
        MembershipInferenceAttack(svc, operating_point=1.5).fit(X[100:300], y[100:300])


def test_unfitted_target_is_refused(digits):
    X, y, _, _ = digits
    with pytest.raises(NotFittedError, match="`target`.*not fitted"):
        MembershipInferenceAttack(RandomForestClassifier()).fit(X[:100], y[:100])


def test_labels_unseen_by_target_are_refused(digits, digits_forest):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=r"`y` has labels \[42\] unseen by the target"):
        MembershipInferenceAttack(digits_forest, n_shadow_models=1).fit(
            X[300:400], np.r_[y[300:399], 42]
        )


def test_too_little_attacker_data_is_refused(digits, digits_forest):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="Too little attacker data.*= 200 rows are needed"):
        MembershipInferenceAttack(
            digits_forest, n_shadow_models=10, shadow_size=10, disjoint=True
        ).fit(X[300:315], y[300:315])
    with pytest.raises(ValueError, match="2 \\* shadow_size = 400 rows are needed.*has 300"):
        MembershipInferenceAttack(digits_forest, n_shadow_models=2, shadow_size=200).fit(
            X[300:600], y[300:600]
        )


def test_mismatched_lengths_are_refused(digits, digits_forest):
    X, y, _, _ = digits
    attack = MembershipInferenceAttack(
        digits_forest, n_shadow_models=1, attack_estimator=LogisticRegression(), random_state=0
    )
    with pytest.raises(ValueError, match="`X` and `y` must have the same number of rows"):
        attack.fit(X[300:500], y[300:499])
    attack.fit(X[300:500], y[300:500])
    with pytest.raises(ValueError, match="`X` and `y`"):
        attack.predict(X[:10], y[:9])
    with pytest.raises(ValueError, match="`membership` must have one entry per row"):
        attack.score(X[:10], y[:10], [1] * 9)
    with pytest.raises(ValueError, match="`membership` must hold 1"):
        attack.score(X[:2], y[:2], [1, 2])


def test_retargeting_to_other_classes_is_refused(digits, digits_forest):
    X, y, _, _ = digits
    attack = MembershipInferenceAttack(
        digits_forest, n_shadow_models=1, attack_estimator=LogisticRegression(), random_state=0
    ).fit(X[300:500], y[300:500])
    few = RandomForestClassifier(n_estimators=3).fit(X[:100], y[:100] % 3)
    with pytest.raises(ValueError, match="refit the attack"):
        attack.set_params(target=few).predict(X[:5], y[:5] % 3)


# ---------------------------------------------------------------------- the bases
def test_bases_are_abstract_and_every_attack_declares_its_constraints():
    from skfedmia import LikelihoodRatioAttack, RelativeMembershipInferenceAttack, ThresholdAttack
    from skfedmia.attacks.membership._base import BaseMembershipAttack
    from skfedmia.attacks.membership._shadow_training import BaseShadowModelAttack

    for base in (BaseMembershipAttack, BaseShadowModelAttack):
        with pytest.raises(TypeError, match="abstract"):
            base()
    for cls in (
        MembershipInferenceAttack,
        LikelihoodRatioAttack,
        RelativeMembershipInferenceAttack,
        ThresholdAttack,
    ):
        assert issubclass(cls, BaseShadowModelAttack)
        params = set(cls().get_params(deep=False))
        assert params == set(cls._parameter_constraints), cls.__name__


def test_a_shadow_of_one_label_is_refused_with_the_remedy():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.RandomState(0)
    X = rng.rand(60, 3)
    y = (X[:, 0] > 0.5).astype(int)
    target = LogisticRegression().fit(X[:40], y[:40])
    # four attacker rows of which three share a label: some 2-row shadow gets one label
    X_pool, y_pool = np.r_[X[y == 0][:3], X[y == 1][:1]], np.r_[0, 0, 0, 1]
    with pytest.raises(
        ValueError, match="single label \\(0\\).*cannot be trained.*Pass more attacker rows"
    ):
        MembershipInferenceAttack(
            target, shadow_estimator=LogisticRegression(), n_shadow_models=4, random_state=0
        ).fit(X_pool, y_pool)
