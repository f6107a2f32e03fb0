"""The empirical epsilon lower bound against mechanisms whose epsilon is known."""

from __future__ import annotations

import numpy as np
import pytest

from skfedmia.metrics import EpsilonAudit, epsilon_lower_bound


def _randomized_response(epsilon, n, rng):
    """Members say "in" with probability e^eps / (1 + e^eps), non-members with 1 / (1 + e^eps).

    This mechanism is exactly epsilon-DP (delta = 0) and its best test meets the bound.
    """
    membership = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
    p = np.exp(epsilon) / (1 + np.exp(epsilon))
    decisions = rng.random(2 * n) < np.where(membership == 1, p, 1 - p)
    return membership, decisions.astype(int)


@pytest.mark.parametrize("epsilon", [0.5, 2.0])
def test_bound_stays_below_true_epsilon_at_stated_confidence(epsilon):
    rng = np.random.default_rng(0)
    confidence, trials = 0.9, 300
    bounds = np.array(
        [
            epsilon_lower_bound(
                *_randomized_response(epsilon, 300, rng), delta=0.0, confidence=confidence
            ).epsilon
            for _ in range(trials)
        ]
    )
    violations = np.mean(bounds > epsilon)
    # at most the allowed 10% (plus three binomial standard errors)
    assert violations <= 0.1 + 3 * np.sqrt(0.1 * 0.9 / trials)
    assert np.all(bounds >= 0)


def test_bound_approaches_true_epsilon_as_rows_grow():
    rng = np.random.default_rng(1)
    epsilon = 1.0
    means = [
        np.mean(
            [
                epsilon_lower_bound(*_randomized_response(epsilon, n, rng), delta=0.0).epsilon
                for _ in range(5)
            ]
        )
        for n in (100, 1_000, 10_000, 100_000)
    ]
    assert np.all(np.diff(means) > 0), means
    assert epsilon - means[-1] < 0.05, means
    assert means[-1] <= epsilon


def test_a_larger_delta_proves_less():
    rng = np.random.default_rng(2)
    membership, decisions = _randomized_response(2.0, 2_000, rng)
    small = epsilon_lower_bound(membership, decisions, delta=1e-6).epsilon
    large = epsilon_lower_bound(membership, decisions, delta=0.2).epsilon
    assert large < small


def test_a_blind_attack_proves_nothing():
    rng = np.random.default_rng(3)
    membership = np.r_[np.ones(1_000, int), np.zeros(1_000, int)]
    decisions = rng.integers(0, 2, 2_000)
    assert epsilon_lower_bound(membership, decisions).epsilon < 0.3


def test_audit_fits_threshold_on_other_rows_and_refuses_the_fitted_ones():
    rng = np.random.default_rng(4)

    def gaussian(n):
        membership = np.r_[np.ones(n, int), np.zeros(n, int)]
        return rng.normal(2.0 * membership), membership

    audit = EpsilonAudit(delta=1e-5).fit(*gaussian(3_000))
    fresh = audit.audit(*gaussian(3_000))
    assert fresh.threshold == audit.threshold_
    assert fresh.epsilon > 0
    # the Gaussian mechanism with sensitivity 2 and sigma 1 (2-GDP) is (eps, 1e-5)-DP for
    # eps = 10.0 (from Dong, Roth & Su's exact conversion)
    assert fresh.epsilon < 10.0
    with pytest.raises(ValueError, match="threshold was fit on these rows"):
        audit.audit(audit.fit_scores_, audit.fit_membership_)
    # mostly fitted rows with a few fresh ones mixed in is refused as well
    fresh_scores, fresh_membership = gaussian(500)
    mixed = np.r_[audit.fit_scores_[:3_000], fresh_scores]
    member = np.r_[audit.fit_membership_[:3_000], fresh_membership]
    with pytest.raises(ValueError, match="threshold was fit on these rows"):
        audit.audit(mixed, member)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"delta": -0.1}, "delta must be a number in \\[0, 1\\)"),
        ({"delta": 1.0}, "delta must be a number in \\[0, 1\\)"),
        ({"confidence": 0.0}, "confidence must be a number in \\(0, 1\\)"),
        ({"confidence": 1.5}, "confidence must be a number in \\(0, 1\\)"),
    ],
)
def test_bad_delta_or_confidence_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        epsilon_lower_bound([1, 0], [1, 0], **kwargs)
    with pytest.raises(ValueError, match=list(kwargs)[0]):
        EpsilonAudit(**kwargs).fit([0.3, 0.1], [1, 0])


def test_scores_instead_of_decisions_and_one_sided_rows_are_refused():
    with pytest.raises(ValueError, match="0/1 decisions"):
        epsilon_lower_bound([1, 0], [0.7, 0.2])
    with pytest.raises(ValueError, match="members and non-members"):
        epsilon_lower_bound([1, 1], [1, 0])
    with pytest.raises(ValueError, match="membership must hold"):
        epsilon_lower_bound([2, 0], [1, 0])
    audit = EpsilonAudit()
    with pytest.raises(Exception, match="not fitted"):
        audit.audit([0.1], [1])
