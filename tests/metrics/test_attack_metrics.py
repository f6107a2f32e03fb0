"""Attack metrics against hand computations."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from skfedmia.metrics import (  # noqa: E402
    AttackReport,
    attack_report,
    attack_roc_curve,
    membership_advantage,
    plot_attack_roc,
    tpr_at_fpr,
)

# 4 members, 6 non-members, distinct scores, best first:
#   score  0.95 0.9 0.8 0.7 0.6 0.5 0.4 0.3 0.2 0.1
#   member  1    1   0   1   0   0   1   0   0   0
MEMBERSHIP = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
SCORES = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])


def test_roc_curve_keeps_every_point():
    fpr, tpr, thresholds = attack_roc_curve(MEMBERSHIP, SCORES)
    assert len(fpr) == 11  # every distinct score, plus the (0, 0) start
    np.testing.assert_allclose(fpr, np.array([0, 0, 0, 1, 1, 2, 3, 3, 4, 5, 6]) / 6)
    np.testing.assert_allclose(tpr, np.array([0, 1, 2, 2, 3, 3, 3, 4, 4, 4, 4]) / 4)
    assert np.isinf(thresholds[0])


def test_tpr_at_fpr_by_hand():
    # FPR 0: the two top members are found before the first non-member
    assert tpr_at_fpr(MEMBERSHIP, SCORES, 0.0) == 0.5
    # FPR 1/6 exactly: after the first non-member, the next member joins at the same FPR
    assert tpr_at_fpr(MEMBERSHIP, SCORES, 1 / 6) == 0.75
    # between FPR 1/6 (TPR 3/4) and 2/6 (TPR 3/4): flat
    assert tpr_at_fpr(MEMBERSHIP, SCORES, 0.25) == 0.75
    # between FPR 3/6 (TPR 3/4) and the next point (3/6, 1): the highest at 3/6
    assert tpr_at_fpr(MEMBERSHIP, SCORES, 0.5) == 1.0
    # 1% of 6 non-members: below the first non-member, TPR 1/2
    assert tpr_at_fpr(MEMBERSHIP, SCORES, 0.01) == 0.5
    assert tpr_at_fpr(MEMBERSHIP, SCORES, 1.0) == 1.0


def test_tpr_at_fpr_interpolates_through_ties():
    # one member and one non-member tie: the ROC segment through the tie is a diagonal
    membership = [1, 1, 0, 0]
    scores = [0.9, 0.5, 0.5, 0.1]
    # points (0, 0), (0, .5), (.5, 1), (1, 1); at FPR .1: .5 + .5 * (.1 / .5) = .6
    assert tpr_at_fpr(membership, scores, 0.1) == pytest.approx(0.6)
    assert tpr_at_fpr(membership, scores, 0.1, interpolation="lower") == 0.5
    # 1000 non-members, 10 members above all of them but one non-member on top
    membership = np.r_[0, np.ones(10), np.zeros(999)]
    scores = np.r_[10.0, np.linspace(9, 8, 10), np.linspace(1, 0, 999)]
    assert tpr_at_fpr(membership, scores, 0.001) == 1.0
    assert tpr_at_fpr(membership, scores, 0.0005) == 0.0
    assert tpr_at_fpr(membership, scores, 0.0) == 0.0


def test_membership_advantage_by_hand():
    predictions = (SCORES >= 0.65).astype(int)  # calls the top 4 members
    # TPR 3/4, FPR 1/6
    assert membership_advantage(MEMBERSHIP, predictions) == pytest.approx(3 / 4 - 1 / 6)


def test_report_by_hand():
    predictions = (SCORES >= 0.65).astype(int)
    report = attack_report(MEMBERSHIP, SCORES, predictions)
    assert isinstance(report, AttackReport)
    # tp 3, fp 1, fn 1, tn 5
    assert report.accuracy == pytest.approx(0.8)
    assert report.precision == pytest.approx(0.75)
    assert report.recall == pytest.approx(0.75)
    assert report.f1 == pytest.approx(0.75)
    # pairs (member, non-member) ranked right: 6 + 6 + 5 + 3 = 20 of 24
    assert report.roc_auc == pytest.approx(20 / 24)
    assert report.tpr_at_1_fpr == 0.5
    assert report.tpr_at_01_fpr == 0.5
    assert report.n_members == 4 and report.n_non_members == 6
    assert report.n_tied_scores == 0
    as_dict = report.to_dict()
    assert as_dict["advantage"] == pytest.approx(3 / 4 - 1 / 6)
    assert "TPR@1%FPR" in str(report)
    tied = attack_report([1, 0, 1], [0.5, 0.5, 0.2])
    assert tied.n_tied_scores == 2
    assert tied.accuracy == pytest.approx(1 / 3)  # predictions [1, 1, 0] at threshold 0.5


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="same length"):
        tpr_at_fpr([1, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="both members"):
        attack_roc_curve([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="membership must hold 1"):
        membership_advantage([1, 2], [1, 0])


def test_plot_attack_roc_log_log(tmp_path):
    ax = plot_attack_roc(MEMBERSHIP, SCORES, label="toy")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    plot_attack_roc(MEMBERSHIP, SCORES[::-1], ax=ax, label="reversed")
    assert len(ax.get_legend().get_texts()) == 2
    ax.figure.savefig(tmp_path / "roc.png")
    assert (tmp_path / "roc.png").stat().st_size > 0
    linear = plot_attack_roc(MEMBERSHIP, SCORES, log_scale=False)
    assert linear.get_xscale() == "linear"


# ---------------------------------------------------------------------- intervals
def test_clopper_pearson_matches_its_definition():
    from scipy.stats import binom

    from skfedmia.metrics._intervals import clopper_pearson

    # 3 successes in 10: the exact bounds are where P(X >= 3 | p_low) and
    # P(X <= 3 | p_high) are 2.5%
    low, high = clopper_pearson(3, 10)
    assert binom.sf(2, 10, low) == pytest.approx(0.025, abs=1e-9)
    assert binom.cdf(3, 10, high) == pytest.approx(0.025, abs=1e-9)
    # no success in n: the upper bound solves (1 - p)^n = 0.025
    low, high = clopper_pearson(0, 20)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 20))
    low, high = clopper_pearson(20, 20)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 20))


def test_clopper_pearson_covers_the_true_rate_at_the_nominal_level():
    from skfedmia.metrics._intervals import clopper_pearson

    rng = np.random.RandomState(0)
    n, p, runs = 50, 0.1, 2000
    hits = rng.binomial(n, p, size=runs)
    covered = np.mean([lo <= p <= hi for lo, hi in (clopper_pearson(k, n) for k in hits)])
    # exact intervals are conservative: at least 95%, and not far above for this n
    assert 0.94 <= covered <= 0.995


def test_delong_interval_covers_the_true_auc():
    from skfedmia.metrics._intervals import delong_auc_interval

    rng = np.random.RandomState(0)
    # members ~ N(1, 1), non-members ~ N(0, 1): AUC = Phi(1 / sqrt(2))
    from scipy.stats import norm

    true_auc = norm.cdf(1 / np.sqrt(2))
    covered = []
    for _ in range(300):
        scores = np.r_[rng.normal(1, 1, 100), rng.normal(0, 1, 100)]
        membership = np.r_[np.ones(100), np.zeros(100)]
        low, high = delong_auc_interval(membership, scores)
        covered.append(low <= true_auc <= high)
    assert 0.92 <= np.mean(covered) <= 0.98


def test_report_intervals_sit_around_each_figure():
    rng = np.random.RandomState(0)
    membership = np.r_[np.ones(300, dtype=int), np.zeros(3000, dtype=int)]
    scores = np.r_[rng.normal(2, 1, 300), rng.normal(0, 1, 3000)]
    report = attack_report(membership, scores)
    values = report.to_dict()
    for name in ["accuracy", "precision", "recall", "roc_auc", "tpr_at_1_fpr", "tpr_at_01_fpr"]:
        assert values[f"{name}_low"] <= values[name] <= values[f"{name}_high"]
        assert values[f"{name}_high"] - values[f"{name}_low"] > 0
    keys = list(values)
    assert keys[keys.index("accuracy") + 1 : keys.index("accuracy") + 3] == [
        "accuracy_low",
        "accuracy_high",
    ]
    # 3000 non-members: 30 above the 1% threshold (fine), 3 above the 0.1% one (flagged)
    caveats = report.caveats()
    assert len(caveats) == 1
    assert "TPR@0.1%FPR rests on 3.0 non-members" in caveats[0]
    assert "10000 non-members would make it meaningful" in caveats[0]
    assert "caution: TPR@0.1%FPR" in str(report)


def test_report_flags_fpr_below_the_resolution():
    report = attack_report(MEMBERSHIP, SCORES)  # 6 non-members
    text = str(report)
    assert "TPR@1%FPR is below the resolution 1/6" in text
    assert "1000 non-members would make it meaningful" in text
    big = np.r_[np.ones(10, dtype=int), np.zeros(20000, dtype=int)]
    assert attack_report(big, np.arange(len(big), dtype=float)[::-1]).caveats() == []
