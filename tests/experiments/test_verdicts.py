"""Verdicts on the paper's findings from hand-made step tables."""

import numpy as np
import pandas as pd
import pytest

from skfedmia.experiments._verdicts import mean_interval, verdicts, verdicts_markdown


def steps_table(value, *, classes=(10,), nodes=(3,), epochs=(100,), seeds=(0, 1, 2), cycles=3):
    """Rows of N1's attack test set; ``value(setting, seed, cycle, node)`` gives the metric."""
    rows = []
    for c in classes:
        for n in nodes:
            for e in epochs:
                for s in seeds:
                    for cyc in range(cycles):
                        for k in range(n):
                            rows.append(
                                dict(
                                    n_classes=c,
                                    n_nodes=n,
                                    local_epochs=e,
                                    seed=s,
                                    cycle=cyc,
                                    node=k,
                                    attacked=0,
                                    accuracy=value((c, n, e), s, cyc, k),
                                )
                            )
    return pd.DataFrame(rows)


def by_finding(table):
    return table.set_index("finding")


def noise(*keys):
    return np.random.RandomState(abs(hash(keys)) % 2**31).normal(scale=0.01)


def test_peak_after_n1_holds_when_n1_is_above_the_others_every_cycle():
    table = steps_table(lambda st, s, cyc, k: (0.8 if k == 0 else 0.6) + noise(st, s, cyc, k))
    a = by_finding(verdicts(table)).loc["a"]
    assert a["verdict"] == "holds"
    assert a["mean_difference"] == pytest.approx(0.2, abs=0.02)
    assert a["ci_low"] > 0 and a["n_pairs"] == 3 * 2  # seeds x cycles from C2
    assert (a["settings_holding"], a["settings"]) == (1, 1)


def test_peak_does_not_hold_when_n1_is_below():
    table = steps_table(lambda st, s, cyc, k: (0.5 if k == 0 else 0.7) + noise(st, s, cyc, k))
    assert by_finding(verdicts(table)).loc["a", "verdict"] == "does not hold"


def test_unclear_when_the_difference_is_noise():
    rng = np.random.RandomState(0)
    table = steps_table(lambda *_: 0.7 + rng.normal(scale=0.05))
    a = by_finding(verdicts(table)).loc["a"]
    assert a["verdict"] == "unclear"
    assert a["ci_low"] < 0 < a["ci_high"]


def test_the_first_cycle_is_left_out():
    # N1 far above the others in C1 only: no evidence from C2 on
    table = steps_table(
        lambda st, s, cyc, k: (0.9 if (k == 0 and cyc == 0) else 0.6) + noise(st, s, cyc, k)
    )
    assert by_finding(verdicts(table)).loc["a", "verdict"] == "unclear"


def test_factors_are_compared_matched_on_everything_else():
    def value(setting, s, cyc, k):
        c, n, e = setting
        return 0.5 + 0.001 * c + 0.01 * n - 0.0005 * e + 0.03 * s + noise(setting, s, cyc, k)

    table = steps_table(value, classes=(10, 50), nodes=(3, 10), epochs=(100, 200))
    found = by_finding(verdicts(table))
    assert found.loc["b", "verdict"] == "does not hold"  # more epochs lower it here
    assert found.loc["c", "verdict"] == "holds"
    assert found.loc["d", "verdict"] == "holds"
    # (d): 4 (nodes x epochs) settings x 3 seeds x 2 cycles pairs, +0.04 each
    assert found.loc["d", "n_pairs"] == 24
    assert found.loc["d", "mean_difference"] == pytest.approx(0.04, abs=0.01)
    assert found.loc["d", "settings"] == 4 and found.loc["d", "settings_holding"] == 4
    # the seed offset (0.03 per seed) is larger than (c)'s effect and cancels in the pairs
    assert found.loc["c", "ci_high"] - found.loc["c", "ci_low"] < 0.03


def test_one_level_of_a_factor_is_unclear_with_no_pairs():
    table = steps_table(lambda st, s, cyc, k: 0.7 + noise(st, s, cyc, k))
    found = by_finding(verdicts(table))
    for key in "bcd":
        assert found.loc[key, "verdict"] == "unclear" and found.loc[key, "n_pairs"] == 0


def test_colluding_finding_and_markdown():
    table = steps_table(lambda st, s, cyc, k: 0.7 + noise(st, s, cyc, k))
    collusion = pd.DataFrame(
        [
            dict(
                n_classes=10,
                n_nodes=3,
                local_epochs=100,
                seed=s,
                cycle=c,
                single=0.8,
                pair=0.8 + 0.05 + noise(s, c),
            )
            for s in range(3)
            for c in (1, 2)
        ]
    )
    found = verdicts(table, collusion=collusion)
    assert by_finding(found).loc["e", "verdict"] == "holds"
    text = verdicts_markdown(found)
    assert "**holds**" in text and "(e)" in text and text.count("\n") == len(found) + 1


def test_mean_interval():
    mean, low, high = mean_interval([1.0])
    assert mean == 1.0 and np.isnan(low) and np.isnan(high)
    assert np.isnan(mean_interval([])[0])
    mean, low, high = mean_interval([0.0, 1.0, 2.0, 3.0])
    assert low < 1.5 < high and high - 1.5 == pytest.approx(1.5 - low)
