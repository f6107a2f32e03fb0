"""scikit-learn's estimator checks over every public estimator, with fast settings."""

from __future__ import annotations

from sklearn.linear_model import SGDClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfedmia import (
    FederatedAveragingClassifier,
    SequentialFederatedClassifier,
    TorchMLPClassifier,
)


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
]

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
}


def _expected(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected)
def test_sklearn_compatible(estimator, check):
    check(estimator)
