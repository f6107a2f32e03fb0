"""The per-step figures: small multiples with the insider's AUC and TPR at 1% FPR."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from skfedmia.experiments._figures import plot_steps, step_series
from skfedmia.experiments._verdicts import mean_interval

matplotlib.use("Agg")


def _records(n_nodes, n_cycles, seeds, epochs=(20,), classes=(10,)):
    rng = np.random.RandomState(0)
    rows = []
    for c in classes:
        for e in epochs:
            for seed in seeds:
                for cycle in range(n_cycles):
                    for node in range(n_nodes):
                        step = cycle * n_nodes + node
                        for attacked in (0, "all"):
                            tpr = rng.uniform(0.02, 0.3)
                            rows.append(
                                dict(
                                    n_classes=c,
                                    n_nodes=n_nodes,
                                    local_epochs=e,
                                    seed=seed,
                                    step=step,
                                    cycle=cycle,
                                    node=node,
                                    label=f"C{cycle + 1}N{node + 1}",
                                    attacked=attacked,
                                    target_accuracy_attacked=rng.uniform(0.8, 1),
                                    target_accuracy_test=rng.uniform(0.4, 0.6),
                                    accuracy=rng.uniform(0.5, 0.9),
                                    precision=rng.uniform(0.5, 0.9),
                                    recall=rng.uniform(0.5, 0.9),
                                    roc_auc=rng.uniform(0.5, 0.95),
                                    tpr_at_1_fpr=tpr,
                                    tpr_at_1_fpr_low=tpr - 0.01,
                                    tpr_at_1_fpr_high=tpr + 0.02,
                                )
                            )
    return pd.DataFrame(rows)


@pytest.fixture
def drawn(monkeypatch):
    """The figures plot_steps saves, kept open for inspection."""
    from matplotlib.figure import Figure

    figures = {}
    save = Figure.savefig

    def keep(self, path, *args, **kwargs):
        figures[path.name] = self
        return save(self, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


def test_step_series_interval_over_seeds_and_of_one_seed():
    steps = _records(3, 2, seeds=(0, 1, 2))
    rows = steps[steps["attacked"].astype(str) == "0"]
    s = step_series(rows, "tpr_at_1_fpr")
    assert len(s) == 6 and s["seeds"].eq(3).all()
    first = rows[rows["step"] == 0]["tpr_at_1_fpr"]
    assert s.loc[0, ["mean", "low", "high"]].tolist() == pytest.approx(mean_interval(first))
    # one seed: the interval the monitor recorded for the step
    one = step_series(rows[rows["seed"] == 1], "tpr_at_1_fpr")
    rec = rows[(rows["seed"] == 1)].sort_values("step")
    np.testing.assert_allclose(one["low"], rec["tpr_at_1_fpr_low"])
    np.testing.assert_allclose(one["high"], rec["tpr_at_1_fpr_high"])
    # no recorded interval and one seed: none
    assert step_series(rows[rows["seed"] == 1], "roc_auc")["low"].isna().all()


def test_one_figure_per_node_count_with_a_row_per_setting(tmp_path, drawn):
    steps = pd.concat(
        [_records(3, 2, seeds=(0, 1)), _records(10, 3, seeds=(0, 1), epochs=(20, 40))]
    )
    paths = plot_steps(steps, tmp_path)
    assert [p.name for p in paths] == ["figure_nodes_3.png", "figure_nodes_10.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = drawn["figure_nodes_10.png"]
    axes = np.array(fig.axes).reshape(2, 3)  # one row per epochs setting, 3 panels each
    for row, epochs in zip(axes, (20, 40)):
        assert f"{epochs} epochs" in row[0].get_ylabel()
        labels = {line.get_label() for line in row[1].get_lines()}
        assert {"attack accuracy", "attack AUC"} <= labels
        tpr = row[2]
        assert "TPR at 1% FPR" in tpr.get_title()
        assert "attack TPR at 1% FPR" in {line.get_label() for line in tpr.get_lines()}
        assert len(tpr.collections) == 1  # the 95% band
        # vertical lines at N1's steps (0, 10, 20) and dashed cycle starts (9.5, 19.5)
        xs = sorted(
            line.get_xdata()[0]
            for line in tpr.get_lines()
            if len(set(line.get_xdata())) == 1 and line.get_label().startswith("_")
        )
        assert xs == [0, 9.5, 10, 19.5, 20]
        # only N1's steps are labelled with 10 nodes; every step is a minor tick
        assert [t.get_text() for t in tpr.get_xticklabels()] == ["C1N1", "C2N1", "C3N1"]
        ticks = {*tpr.get_xticks(), *tpr.get_xticks(minor=True)}
        assert ticks == set(range(30))
    # the legend sits outside the panels, once for the figure
    assert len(fig.legends) == 1
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {
        "attack AUC",
        "attack TPR at 1% FPR",
        "95% interval over seeds",
    }
    small = drawn["figure_nodes_3.png"]
    assert len(small.axes) == 3
    assert [t.get_text() for t in small.axes[0].get_xticklabels()] == [
        "C1N1",
        "C1N2",
        "C1N3",
        "C2N1",
        "C2N2",
        "C2N3",
    ]


def test_no_figure_without_steps(tmp_path):
    assert plot_steps(pd.DataFrame(), tmp_path) == []
