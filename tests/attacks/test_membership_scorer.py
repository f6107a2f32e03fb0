"""The GridSearchCV scorer that attacks each candidate on its own training rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV

from skfedmia import SequentialFederatedClassifier, TorchMLPClassifier, make_membership_scorer
from skfedmia.utils import get_fit_data, record_fit_data


def _mlp(**kw):
    return TorchMLPClassifier(lr=0.01, batch_size=64, random_state=0, **kw)


def test_grid_search_snippet_with_sequential_federation(digits):
    X, y, _, _ = digits
    fed = SequentialFederatedClassifier(_mlp(), n_nodes=2, n_cycles=1, random_state=0)
    membership_scorer = make_membership_scorer(
        "accuracy", n_shadow_models=2, attack_params={"disjoint": False}, random_state=0
    )
    search = GridSearchCV(
        fed,
        {"local_epochs": [1, 3]},
        scoring={"accuracy": "accuracy", "attack_accuracy": membership_scorer},
        refit="accuracy",
        cv=3,
    )
    search.fit(X[:600], y[:600])
    attack = search.cv_results_["mean_test_attack_accuracy"]
    assert attack.shape == (2,)
    assert np.all((attack >= 0) & (attack <= 1))
    assert np.all(search.cv_results_["mean_test_accuracy"] > 0.5)


def test_scorer_metrics_attacks_and_node(digits):
    X, y, X_test, y_test = digits
    fed = SequentialFederatedClassifier(
        SGDClassifier(loss="log_loss", random_state=0),
        n_nodes=3,
        n_cycles=2,
        local_epochs=5,
        random_state=0,
    ).fit(X[:600], y[:600])
    data = get_fit_data(fed)
    assert data is not None and len(data[2]) == 3
    for attack in ["shadow", "loss", "lira", "rmia"]:
        for metric in ["accuracy", "auc", "tpr_at_1_fpr", "advantage"]:
            value = make_membership_scorer(
                metric, attack=attack, n_shadow_models=2, random_state=0
            )(fed, X_test, y_test)
            assert -1 <= value <= 1
    scorer = make_membership_scorer("roc_auc", attack="loss", node=1, random_state=0)
    assert 0 <= scorer(fed, X_test, y_test) <= 1
    assert scorer(fed, X_test, y_test) == scorer(fed, X_test, y_test)  # seeded
    with pytest.raises(ValueError, match="node=7 is not among"):
        make_membership_scorer(node=7, attack="loss")(fed, X_test, y_test)


def test_scorer_explains_missing_training_rows(digits):
    X, y, X_test, y_test = digits
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X[:300], y[:300])
    scorer = make_membership_scorer(attack="loss")
    with pytest.raises(ValueError, match="did not record them.*record_fit_data"):
        scorer(forest, X_test, y_test)
    record_fit_data(forest, X[:300], y[:300])
    assert 0 <= scorer(forest, X_test, y_test) <= 1


def test_grid_search_snippet_with_torch_mlp(digits):
    X, y, _, _ = digits
    # TorchMLPClassifier records its training rows at fit, so the scorer can audit it
    probe = _mlp(max_epochs=1).fit(X[:100], y[:100])
    recorded = get_fit_data(probe)
    assert recorded is not None
    np.testing.assert_array_equal(recorded[0], X[:100])
    np.testing.assert_array_equal(recorded[1], y[:100])
    search = GridSearchCV(
        _mlp(),
        {"max_epochs": [2, 10]},
        scoring={
            "accuracy": "accuracy",
            "attack_accuracy": make_membership_scorer(attack="loss", random_state=0),
        },
        refit="accuracy",
        cv=3,
    )
    search.fit(X[:600], y[:600])
    assert search.cv_results_["mean_test_attack_accuracy"].shape == (2,)


def test_scorer_parameters_are_validated():
    with pytest.raises(ValueError, match="metric"):
        make_membership_scorer("precision_at_k")
    with pytest.raises(ValueError, match="attack"):
        make_membership_scorer(attack="gradient")
