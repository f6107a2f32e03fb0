"""The lean training paths give the models the plain skorch paths give."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skfedmia import MembershipInferenceAttack, TorchMLPClassifier
from skfedmia.attacks.membership import _shadow_attack

# float32 rounding of the same updates, accumulated over a few hundred steps
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def _attack(target, attack_estimator):
    return MembershipInferenceAttack(
        target,
        shadow_estimator=TorchMLPClassifier(max_epochs=3, random_state=0),
        n_shadow_models=2,
        attack_estimator=attack_estimator,
        features="paper",
        random_state=0,
    )


def test_explicit_attack_model_trains_on_the_lean_path_to_the_same_model(digits, monkeypatch):
    X, y = digits
    target = TorchMLPClassifier(max_epochs=5, random_state=0).fit(X[:400], y[:400])
    model = TorchMLPClassifier(
        hidden_layer_sizes=(16,),
        activation="sigmoid",
        dropout=0.0,
        lr=0.01,
        max_epochs=4,
        batch_size=32,
    )
    lean = _attack(target, model).fit(X[800:], y[800:])
    monkeypatch.setattr(_shadow_attack, "can_fit_together", lambda estimator: False)
    plain = _attack(target, model).fit(X[800:], y[800:])
    # the lean path skips skorch's loop (no history); the plain one ran every epoch
    assert len(lean.attack_estimator_.history_) == 0
    assert len(plain.attack_estimator_.history_) == 4
    X_eval, y_eval = X[:800], y[:800]
    lean_scores = lean.decision_function(X_eval, y_eval)
    plain_scores = plain.decision_function(X_eval, y_eval)
    np.testing.assert_allclose(
        lean.attack_estimator_.predict_proba(np.eye(20, dtype=np.float32)),
        plain.attack_estimator_.predict_proba(np.eye(20, dtype=np.float32)),
        atol=TOLERANCE,
    )
    np.testing.assert_allclose(lean_scores, plain_scores, atol=1e-4)
    # a model the stacked path cannot reproduce still trains through skorch
    monkeypatch.undo()
    other = _attack(target, model.set_params(iterator_train__drop_last=True))
    assert len(other.fit(X[800:], y[800:]).attack_estimator_.history_) == 4
