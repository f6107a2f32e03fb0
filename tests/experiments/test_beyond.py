"""Offline LiRA and RMIA beside the paper's attack: new figures, old figures untouched."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skfedmia.attacks.membership import _monitor
from skfedmia.experiments import ReproductionConfig, write_report
from skfedmia.experiments._cells import iter_cells, load_data, run_cell
from skfedmia.experiments._tables import BEYOND_COLUMNS, build_tables, per_seed_tables

from .conftest import TINY

# two cycles, so that the shadow federation serves at later steps too
CONFIG = ReproductionConfig(**{**TINY, "n_cycles": 2})


def _run(beyond):
    records = []
    for spec in iter_cells(CONFIG):
        data = load_data(CONFIG, spec["n_classes"], spec["seed"])
        records.append({"spec": spec, "result": run_cell(CONFIG, spec, data, beyond=beyond)})
    return records


@pytest.fixture(scope="module")
def with_beyond():
    return _run(True)


@pytest.fixture(scope="module")
def without_beyond():
    return _run(False)


def _differences(old, new, path="result"):
    """Where a field of ``old`` is missing from ``new`` or differs from it at all."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return [path]
        out = []
        for key, value in old.items():
            out += [f"{path}.{key}"] if key not in new else _differences(value, new[key], key)
        return out
    if isinstance(old, list | tuple):
        if not isinstance(new, list | tuple) or len(old) != len(new):
            return [path]
        return [d for a, b in zip(old, new, strict=True) for d in _differences(a, b, path)]
    if isinstance(old, np.ndarray):
        return [] if np.array_equal(old, new, equal_nan=True) else [path]
    if isinstance(old, float) and isinstance(new, float) and math.isnan(old) and math.isnan(new):
        return []
    return [] if old == new else [path]


def test_the_new_figures_exist_and_are_finite(with_beyond):
    central, federated = (r["result"] for r in with_beyond)
    for attack in ("lira", "rmia"):
        figures = central[attack]
        assert 0 <= figures["roc_auc"] <= 1 and 0 <= figures["tpr_at_1_fpr"] <= 1
        assert np.isfinite(figures["tpr_at_01_fpr"])
        # right after N1's steps and the last step (and so for the outsider), not elsewhere
        last = federated["steps"][-1]["step"]
        for record in [*federated["steps"], federated["outsider_attack"]]:
            expected = record["node"] == 0 or record["step"] == last
            for figure in ("roc_auc", "tpr_at_1_fpr", "tpr_at_01_fpr", "accuracy"):
                assert (f"{attack}_{figure}" in record) == expected
                if expected:
                    assert np.isfinite(record[f"{attack}_{figure}"])
    references = central["reference_models"]
    assert references["n_models"] == CONFIG.n_shadow_models
    table1, table2, steps = build_tables(with_beyond)
    for table in (table1, table2):
        assert set(BEYOND_COLUMNS) <= set(table.columns)
        assert np.isfinite(table[BEYOND_COLUMNS].to_numpy(dtype=float)).all()
    at_n1 = steps[steps["node"] == 0][["lira_roc_auc", "rmia_tpr_at_1_fpr"]]
    assert len(at_n1) == 2 * CONFIG.n_cycles and np.isfinite(at_n1.to_numpy(dtype=float)).all()


def test_every_old_figure_is_the_same_with_the_new_ones(with_beyond, without_beyond):
    for old, new in zip(without_beyond, with_beyond, strict=True):
        assert old["spec"] == new["spec"]
        assert _differences(old["result"], new["result"]) == []
    # the new figures are new fields, absent without them
    central_old, federated_old = (r["result"] for r in without_beyond)
    central_new, federated_new = (r["result"] for r in with_beyond)
    assert "lira" in central_new and "lira" not in central_old
    assert "rmia_roc_auc" in federated_new["steps"][-1]
    assert "rmia_roc_auc" not in federated_old["steps"][-1]


def test_the_comparison_catches_a_reference_attack_that_changes_the_cell(
    without_beyond, monkeypatch
):
    # the same check must fail if the reference attacks disturbed the shadow federation
    real = _monitor.reference_attack_scores

    def disturbing(target, references, *args, **kwargs):
        for param in references[0].estimator.module_.parameters():
            param.data.mul_(1.05)
        return real(target, references, *args, **kwargs)

    monkeypatch.setattr(_monitor, "reference_attack_scores", disturbing)
    spec = [s for s in iter_cells(CONFIG) if s["kind"] == "federated"][0]
    data = load_data(CONFIG, spec["n_classes"], spec["seed"])
    disturbed = run_cell(CONFIG, spec, data, beyond=True)
    assert _differences(without_beyond[1]["result"], disturbed) != []


def test_cells_stored_before_the_new_columns_still_render(without_beyond, with_beyond, tmp_path):
    # cells without the new fields, as stored before them: NaN columns, a report that says so
    paths = write_report(without_beyond, tmp_path / "old", CONFIG)
    table1, table2, steps = build_tables(without_beyond)
    for table in (table1, table2):
        assert set(BEYOND_COLUMNS) <= set(table.columns)
        assert table[BEYOND_COLUMNS].isna().all().all()
    assert steps["lira_roc_auc"].isna().all()
    report = paths["report.md"].read_text()
    assert "0 of 1 centralized cells and 0 of 1 federated cells" in report
    # a mix: the old federation beside a new centralized cell
    mixed = [with_beyond[0], without_beyond[1]]
    report = write_report(mixed, tmp_path / "mixed", CONFIG)["report.md"].read_text()
    assert "1 of 1 centralized cells and 0 of 1 federated cells" in report
    assert "### Table I beside LiRA and RMIA" in report
    assert "### Table II beside LiRA and RMIA" not in report
    assert np.isnan(per_seed_tables(mixed)["final"]["lira_auc"]).all()
    full = write_report(with_beyond, tmp_path / "new", CONFIG)["report.md"].read_text()
    assert "1 of 1 centralized cells and 1 of 1 federated cells" in full
    # the report names the generated data and the label taste of its class counts
    assert "`make_purchases(n_samples=" in full and "observed rows): 3 classes: 0.35." in full
    assert "Insider on N1 right after N1's steps" in full
