"""Threshold attacks, the likelihood-ratio attack (LiRA) and RMIA."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

import skfedmia
from skfedmia.attacks.membership import (
    LikelihoodRatioAttack,
    RelativeMembershipInferenceAttack,
    ThresholdAttack,
)
from skfedmia.attacks.membership._base import calibrated_threshold
from skfedmia.attacks.membership._signals import (
    compute_signal,
    log_true_class_proba,
    true_class_logit,
)

from .conftest import eval_set, fast_mlp


@pytest.fixture(scope="module")
def digits_mlp(digits):
    """An MLP on 300 digits rows (continuous probabilities, some overfitting)."""
    X, y, _, _ = digits
    return fast_mlp(max_epochs=60, lr=0.01).fit(X[:300], y[:300])


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
    basis = attack.report(*eval_set(X, y, parts["train"], parts["out"])).basis
    assert "no shadow models" in basis and "top 0.2" in basis
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
    with pytest.raises(ValueError, match="Too little attacker data.*needs at least 101 rows"):
        LikelihoodRatioAttack(digits_forest, n_shadow_models=2, shadow_size=100).fit(
            X[300:350], y[300:350]
        )
    lira = LikelihoodRatioAttack(
        digits_forest, n_shadow_models=2, shadow_estimator=LogisticRegression(), random_state=0
    ).fit(X[300:500], y[300:500])
    assert len(lira.shadow_estimators_) == 2


# ---------------------------------------------------------------------- LiRA and RMIA
def _members_and_non_members(digits):
    X, y, X_test, y_test = digits
    Xe = np.concatenate([X[:300], X_test[:300]])
    ye = np.concatenate([y[:300], y_test[:300]])
    return Xe, ye, np.r_[np.ones(300, int), np.zeros(300, int)]


def test_lira_and_rmia_give_no_ties(digits, digits_mlp):
    X, y, _, _ = digits
    Xe, ye, membership = _members_and_non_members(digits)
    pool_X, pool_y = X[300:1200], y[300:1200]
    attacks = [
        LikelihoodRatioAttack(digits_mlp, n_shadow_models=3, random_state=0),
        RelativeMembershipInferenceAttack(digits_mlp, n_shadow_models=1, random_state=0),
        RelativeMembershipInferenceAttack(digits_mlp, n_shadow_models=3, random_state=0),
    ]
    for attack in attacks:
        report = attack.fit(pool_X, pool_y).report(Xe, ye, membership)
        assert report.n_tied_scores == 0, type(attack).__name__
        assert report.roc_auc > 0.55
        # the report says what it rests on: the attack, its models and its fitted choices
        k = attack.n_shadow_models
        assert report.basis.startswith(f"{type(attack).__name__} over {k} reference model")
        assert "the attacker's 900 rows" in report.basis
        fitted = (
            f"offline test {attack.offline_method_!r}"
            if isinstance(attack, LikelihoodRatioAttack)
            else f"a = {attack.a_:g}, temperature {attack.temperature_:g}"
        )
        assert fitted in report.basis
    online = LikelihoodRatioAttack(digits_mlp, n_shadow_models=3, online=True, random_state=0)
    online.fit(np.concatenate([pool_X, Xe]), np.concatenate([pool_y, ye]))
    report = online.report(Xe, ye, membership)
    assert report.n_tied_scores == 0
    assert "online test" in report.basis


def test_log_true_class_proba_does_not_saturate():
    proba = np.array([[1.0, 1e-12, 0.0], [1.0, 1e-9, 0.0], [0.5, 0.25, 0.25]], dtype=np.float32)
    log_p = log_true_class_proba(proba, np.array([0, 0, 0]))
    assert log_p[0] > log_p[1] > log_p[2]
    np.testing.assert_allclose(log_p, [-1e-12, -1e-9, np.log(0.5)], rtol=1e-5)


def test_reference_models_default_to_the_targets_training_size(digits, digits_mlp):
    X, y, _, _ = digits
    lira = LikelihoodRatioAttack(digits_mlp, n_shadow_models=2, random_state=0)
    lira.fit(X[300:1200], y[300:1200])
    assert lira.shadow_size_ == 300
    assert (lira.shadow_in_mask_.sum(axis=1) == 300).all()
    rmia = RelativeMembershipInferenceAttack(digits_mlp, n_shadow_models=2, random_state=0)
    assert rmia.fit(X[300:1200], y[300:1200]).shadow_size_ == 300
    # too few rows for references of the target's size: half the rows
    assert rmia.fit(X[300:700], y[300:700]).shadow_size_ == 200
    assert rmia.set_params(shadow_size=50).fit(X[300:700], y[300:700]).shadow_size_ == 50


def test_rmia_tunes_a_on_its_references_and_retargets(digits, digits_mlp):
    X, y, X_test, y_test = digits
    assert skfedmia.RelativeMembershipInferenceAttack is RelativeMembershipInferenceAttack
    assert "Zarifzadeh" in RelativeMembershipInferenceAttack.__doc__
    rmia = RelativeMembershipInferenceAttack(digits_mlp, n_shadow_models=2, random_state=0)
    rmia.fit(X[300:1200], y[300:1200])
    assert rmia.a_auc_.shape == (21,)
    assert rmia.a_ == pytest.approx(np.linspace(0, 1, 21)[np.argmax(rmia.a_auc_)])
    fixed = clone(rmia).set_params(a=0.3).fit(X[300:1200], y[300:1200])
    assert fixed.a_ == 0.3 and not hasattr(fixed, "a_auc_")
    Xe, ye, membership = _members_and_non_members(digits)
    scores = rmia.decision_function(Xe, ye)
    np.testing.assert_array_equal(rmia.predict(Xe, ye), (scores >= 0).astype(int))
    np.testing.assert_array_equal(
        scores, clone(rmia).fit(X[300:1200], y[300:1200]).decision_function(Xe, ye)
    )
    references = rmia.shadow_estimators_
    other = fast_mlp(max_epochs=5).fit(X[:300], y[:300])
    rmia.set_params(target=other)
    assert rmia.shadow_estimators_ is references
    assert not np.array_equal(rmia.decision_function(Xe, ye), scores)


def test_calibrated_threshold_by_hand():
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    membership = np.array([1, 1, 0, 0, 1, 0])
    # balanced: the top 2 give TPR 2/3, FPR 0 (the best TPR - FPR); the top 5, TPR 1, FPR 2/3
    assert calibrated_threshold(scores, membership) == 3.5
    # at most 1% / a third / 70% of the non-members accused
    assert calibrated_threshold(scores, membership, 0.01) == 3.5
    assert calibrated_threshold(scores, membership, 0.34) == 2.5
    assert calibrated_threshold(scores, membership, 0.7) == 0.5


def test_lira_online_recognises_dataframe_rows_or_says_it_cannot(digits):
    pd = pytest.importorskip("pandas")
    X, y, _, _ = digits
    target = LogisticRegression(max_iter=300).fit(X[:200], y[:200])
    pool = np.concatenate([X[200:600], X[:100]]), np.concatenate([y[200:600], y[:100]])
    query_X, query_y = X[:100], y[:100]
    params = dict(n_shadow_models=3, online=True, random_state=0)
    from_array = LikelihoodRatioAttack(target, **params).fit(*pool)
    frame = LikelihoodRatioAttack(target, **params).fit(pd.DataFrame(pool[0]), pool[1])
    np.testing.assert_allclose(
        frame.decision_function(pd.DataFrame(query_X), query_y),
        from_array.decision_function(query_X, query_y),
    )
    # rows that cannot be keyed one by one: a clear error instead of silently missing them
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    words = np.array([["a", "b"], ["b", "c"], ["c", "a"], ["a", "c"]] * 30, dtype=object)
    labels = np.arange(len(words)) % 2
    text_target = make_pipeline(OneHotEncoder(), LogisticRegression()).fit(words, labels)
    with pytest.raises(ValueError, match="online LiRA recognises queried rows.*cannot be keyed"):
        LikelihoodRatioAttack(text_target, **params).fit(list(map(tuple, words)), labels)


def test_offline_lira_learns_the_in_distribution_from_its_pool(digits, digits_mlp):
    X, y, _, _ = digits
    Xe, ye, membership = _members_and_non_members(digits)
    pool_X, pool_y = X[300:1200], y[300:1200]
    lira = LikelihoodRatioAttack(
        digits_mlp, n_shadow_models=4, offline_method="learned-in", random_state=0
    )
    lira.fit(pool_X, pool_y)
    assert lira.offline_method_ == "learned-in" and lira.offline_method_auc_ == {}
    # training on a row raises its statistic, by an amount monotone in its out-mean
    grid = np.linspace(lira.pool_scores_.min(), lira.pool_scores_.max(), 50)
    gap = lira.gap_model_.predict(grid)
    assert ((np.diff(gap) <= 0).all() or (np.diff(gap) >= 0).all()) and gap.max() > 0
    assert len(lira.bin_std_in_) == len(lira.bin_std_out_) == len(lira.bin_edges_) - 1
    assert (lira.bin_std_in_ > 0).all() and (lira.bin_std_out_ > 0).all()
    # with a known in-Gaussian above the out-one, a higher statistic is more member-like
    ref = np.zeros((4, 3))
    raw = lira._learned_in_score(
        np.array([-1.0, 0.0, 1.0]), ref, np.zeros((4, 3), bool), np.ones((4, 3), bool)
    )
    assert raw[0] < raw[1] < raw[2]
    learned = lira.report(Xe, ye, membership)
    one_sided = clone(lira).set_params(offline_method="one-sided").fit(pool_X, pool_y)
    assert one_sided.offline_method_ == "one-sided" and one_sided.gap_model_ is None
    assert learned.roc_auc > 0.55 and learned.n_tied_scores == 0
    assert not np.array_equal(lira.decision_function(Xe, ye), one_sided.decision_function(Xe, ye))
    # one reference model: no pool row is both in and out, so the one-sided test stands
    single = clone(lira).set_params(n_shadow_models=1).fit(pool_X, pool_y)
    assert single.offline_method_ == "one-sided"


def test_rmia_tempered_probability_by_hand(digits, digits_mlp):
    X, y, _, _ = digits
    rmia = RelativeMembershipInferenceAttack(digits_mlp, n_shadow_models=2, random_state=0)
    rmia.fit(X[300:1200], y[300:1200])
    assert rmia.temperature_ in (1.0, 1.5, 2.0, 3.0, 4.0)
    assert set(rmia.temperature_auc_) == {1.0, 1.5, 2.0, 3.0, 4.0}
    assert rmia.temperature_auc_[rmia.temperature_] == max(rmia.temperature_auc_.values())
    proba = digits_mlp.predict_proba(X[:20]).astype(np.float64)
    label_index = np.searchsorted(rmia.target_classes_, y[:20])
    tempered = proba ** (1 / 2.0)
    tempered /= tempered.sum(axis=1, keepdims=True)
    got = rmia._log_probas(digits_mlp, X[:20], label_index, (2.0,))[2.0]
    np.testing.assert_allclose(got, np.log(tempered[np.arange(20), label_index]), rtol=1e-6)
    fixed = clone(rmia).set_params(temperature=1, a=0.5).fit(X[300:1200], y[300:1200])
    assert fixed.temperature_ == 1.0 and fixed.a_ == 0.5
    with pytest.raises(ValueError, match="temperature"):
        clone(rmia).set_params(temperature=0).fit(X[300:1200], y[300:1200])


def test_offline_lira_auto_keeps_the_test_that_ranks_the_pool_better(digits, digits_forest):
    """A forest's saturated confidences defeat the learned in-Gaussian; "auto" sees it
    on the attacker's own rows and keeps the one-sided test."""
    X, y, _, _ = digits
    Xe, ye, membership = _members_and_non_members(digits)
    pool_X, pool_y = X[300:1200], y[300:1200]
    auto = LikelihoodRatioAttack(digits_forest, n_shadow_models=4, random_state=0)
    auto.fit(pool_X, pool_y)
    aucs = auto.offline_method_auc_
    assert set(aucs) == {"learned-in", "learned-in-shared", "one-sided"}
    assert auto.offline_method_ == max(aucs, key=aucs.get) == "one-sided"
    explicit = {
        method: clone(auto).set_params(offline_method=method).fit(pool_X, pool_y)
        for method in ("learned-in", "learned-in-shared", "one-sided")
    }
    np.testing.assert_array_equal(
        auto.decision_function(Xe, ye), explicit["one-sided"].decision_function(Xe, ye)
    )
    # the choice made on the pool holds on the rows attacked
    chosen = auto.report(Xe, ye, membership).roc_auc
    assert chosen > explicit["learned-in"].report(Xe, ye, membership).roc_auc + 0.05


@pytest.mark.parametrize("attack", [LikelihoodRatioAttack, RelativeMembershipInferenceAttack])
def test_rows_of_a_label_no_reference_model_trained_on(digits, digits_mlp, attack):
    """Such rows get a warning at fit and a comparison with the pool as a whole: reference
    models that cannot predict their label do not enter their scores."""
    import copy

    X, y, _, _ = digits
    keep = np.flatnonzero(y[300:1200] != 9) + 300
    with pytest.warns(UserWarning, match=r"no row of the target's labels \[9\]"):
        fitted = attack(digits_mlp, n_shadow_models=4, random_state=0).fit(X[keep], y[keep])
    assert not fitted.shadow_labels_seen_[:, 9].any() and fitted.shadow_labels_seen_[:, :9].all()
    with pytest.warns(UserWarning, match="no row of"):
        other = attack(digits_mlp, n_shadow_models=4, random_state=1).fit(X[keep], y[keep])
    # the same fitted attack with other reference models (trained on other subsets)
    swapped = copy.deepcopy(fitted)
    swapped.shadow_estimators_ = other.shadow_estimators_
    nine = np.r_[np.flatnonzero(y[:300] == 9), 1200 + np.flatnonzero(y[1200:] == 9)]
    rest = np.r_[np.flatnonzero(y[:300] != 9), 1200 + np.flatnonzero(y[1200:] != 9)]
    scores = fitted.decision_function(X[nine], y[nine])
    assert np.isfinite(scores).all()
    np.testing.assert_allclose(swapped.decision_function(X[nine], y[nine]), scores)
    assert not np.allclose(
        swapped.decision_function(X[rest], y[rest]), fitted.decision_function(X[rest], y[rest])
    )


@pytest.mark.parametrize("attack_class", [LikelihoodRatioAttack, RelativeMembershipInferenceAttack])
def test_an_attack_over_given_references_is_the_attack_fit_would_give(digits, attack_class):
    # references trained elsewhere (here: by fit itself) give the very same attack
    X, y, X_rest, y_rest = digits
    target = fast_mlp(max_epochs=30).fit(X[:300], y[:300])
    fitted = attack_class(target, n_shadow_models=3, random_state=0).fit(X[300:900], y[300:900])
    rebuilt = attack_class._from_references(
        target, fitted.shadow_estimators_, fitted.shadow_in_mask_, X[300:900], y[300:900]
    )
    queries = np.concatenate([X[:200], X_rest[:200]]), np.concatenate([y[:200], y_rest[:200]])
    np.testing.assert_array_equal(
        rebuilt.decision_function(*queries), fitted.decision_function(*queries)
    )
    assert rebuilt.threshold_ == fitted.threshold_
    # one reference is enough for both (LiRA falls back on its one-sided test)
    single = attack_class._from_references(
        target, fitted.shadow_estimators_[:1], fitted.shadow_in_mask_[:1], X[300:900], y[300:900]
    )
    assert np.isfinite(single.decision_function(*queries)).all()
    with pytest.raises(ValueError, match="in_mask must have one row per reference"):
        attack_class._from_references(
            target, fitted.shadow_estimators_, fitted.shadow_in_mask_[:1], X[300:900], y[300:900]
        )


def test_rmia_auc_is_sklearns():
    from sklearn.metrics import roc_auc_score

    from skfedmia.attacks.membership._rmia import _auc

    rng = np.random.RandomState(0)
    for decimals in (0, 1, 6):  # with many ties and with none
        membership = rng.rand(300) < 0.4
        scores = rng.randn(300).round(decimals)
        assert _auc(membership, scores) == pytest.approx(roc_auc_score(membership, scores))
    assert _auc(np.ones(5, dtype=bool), np.arange(5.0)) == 0.5


def test_learned_in_shared_scores_grow_with_the_statistic(digits, digits_mlp):
    """With one deviation for both Gaussians the ratio is linear in the row's statistic:
    for a fixed out-mean, a higher statistic is always more member-like (the separate
    deviations of "learned-in" make it a parabola, which turns down far above the in-mean
    when the in-Gaussian is the narrower)."""
    X, y, _, _ = digits
    pool_X, pool_y = X[300:1200], y[300:1200]
    shared = LikelihoodRatioAttack(
        digits_mlp, n_shadow_models=4, offline_method="learned-in-shared", random_state=0
    ).fit(pool_X, pool_y)
    assert shared.offline_method_ == "learned-in-shared"
    observed = np.linspace(-30, 30, 61)
    refs = np.zeros((4, len(observed)))
    no = np.zeros((4, len(observed)), dtype=bool)
    raw = shared._learned_in_score(observed, refs, no, ~no)
    gap = shared.gap_model_.predict(np.zeros(1))[0]
    assert np.all(np.diff(raw) * np.sign(gap) > 0)
    np.testing.assert_allclose(np.diff(raw, 2), 0, atol=1e-9)
