"""scikit-learn's estimator checks over every public estimator, with fast settings."""

from __future__ import annotations

from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfedmia import (
    FederatedAveragingClassifier,
    SequentialFederatedClassifier,
    TorchMLPClassifier,
)
from skfedmia.attacks.membership import (
    LikelihoodRatioAttack,
    LossChangeAttack,
    MembershipInferenceAttack,
    RelativeMembershipInferenceAttack,
    ThresholdAttack,
)


def _feature_agnostic_target():
    """A fitted target that accepts any number of features, as the checks' data varies."""
    return DummyClassifier(strategy="prior").fit([[0], [0], [0]], [0, 1, 2])


def _fast_mlp():
    return TorchMLPClassifier(max_epochs=20, lr=0.05, batch_size=32, random_state=0)


ESTIMATORS = [
    _fast_mlp(),
    SequentialFederatedClassifier(
        SGDClassifier(loss="log_loss", random_state=0), n_nodes=2, n_cycles=2, random_state=0
    ),
    SequentialFederatedClassifier(
        TorchMLPClassifier(max_epochs=10, lr=0.05, batch_size=32),
        n_nodes=2,
        n_cycles=2,
        random_state=0,
    ),
    FederatedAveragingClassifier(
        SGDClassifier(loss="log_loss", random_state=0), n_nodes=2, n_rounds=2, random_state=0
    ),
    MembershipInferenceAttack(
        _feature_agnostic_target(),
        n_shadow_models=1,
        attack_estimator=LogisticRegression(),
        random_state=0,
    ),
    ThresholdAttack(_feature_agnostic_target(), random_state=0),
    LikelihoodRatioAttack(_feature_agnostic_target(), n_shadow_models=2, random_state=0),
    RelativeMembershipInferenceAttack(
        _feature_agnostic_target(), n_shadow_models=1, random_state=0
    ),
    LossChangeAttack(_feature_agnostic_target(), model_before=_feature_agnostic_target()),
]

# Membership attacks predict on (record, label) pairs: predict(X, y), decision_function(X, y)
# and score(X, y, membership). Checks that call predict(X) / score(X, y) cannot run them.
_NEEDS_PREDICT_X_ONLY = (
    "the check calls predict / decision_function / score with X alone; a membership attack "
    "needs (X, y) pairs (and membership for score)."
)
_ATTACK_FAILURES = {
    name: _NEEDS_PREDICT_X_ONLY
    for name in [
        "check_dict_unchanged",
        "check_dtype_object",
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_estimator_sparse_tag",
        "check_estimators_dtypes",
        "check_estimators_pickle",
        "check_estimators_pickle(readonly_memmap=True)",
        "check_estimators_unfitted",
        "check_f_contiguous_array_estimator",
        "check_fit2d_predict1d",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
    ]
}
_TWO_OF_THREE_LABELS = (
    "the check's data hold two of the test target's three labels: the attack warns that "
    "no shadow model learns the third, and the check turns every warning into an error."
)
_ATTACK_FAILURES.update(
    {
        "check_fit1d": (
            "the target validates X, not the attack (a pipeline target may take a DataFrame "
            "or text); the feature-agnostic test target accepts 1-D X."
        ),
        "check_n_features_in": _TWO_OF_THREE_LABELS,
        "check_fit_check_is_fitted": _TWO_OF_THREE_LABELS,
        "check_fit2d_1sample": (
            "one row cannot be split into shadow in/out parts; the attack says so with its "
            "own message."
        ),
    }
)

# Each expected failure with the reason it is expected.
EXPECTED_FAILED_CHECKS = {
    "TorchMLPClassifier": {
        "check_no_attributes_set_in_init": (
            "skorch's NeuralNet sets its bookkeeping attributes history_, initialized_ and "
            "virtual_params_ in __init__."
        ),
        "check_do_not_raise_errors_in_init_or_set_params": (
            "skorch validates parameter names and callbacks inside set_params."
        ),
        "check_set_params": (
            "skorch validates callbacks inside set_params and rejects non-callback values."
        ),
    },
    "SequentialFederatedClassifier": {},
    "FederatedAveragingClassifier": {},
    "MembershipInferenceAttack": _ATTACK_FAILURES,
    "ThresholdAttack": _ATTACK_FAILURES,
    "LikelihoodRatioAttack": _ATTACK_FAILURES,
    "RelativeMembershipInferenceAttack": _ATTACK_FAILURES,
    # no shadow split: one row is enough to set a threshold
    "LossChangeAttack": {k: v for k, v in _ATTACK_FAILURES.items() if k != "check_fit2d_1sample"},
}


def _expected(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected)
def test_sklearn_compatible(estimator, check):
    check(estimator)
