"""The progress bar counts node steps, serially, on worker processes and on Dask."""

from __future__ import annotations

import threading

import pytest

from skfedmia.experiments import run_reproduction
from skfedmia.experiments._cells import iter_cells, load_data, run_cell
from skfedmia.experiments._driver import cell_steps

from .conftest import dask_backend

# a centralized baseline (one unit) and federations of 2 and 3 nodes over 2 cycles
GRID = dict(n_nodes=(2, 3), n_cycles=2)
STEPS = 1 + 2 * 2 + 3 * 2


class FakeBar:
    """Stands in for tqdm: keeps the total and every update."""

    made = []

    def __init__(self, *args, total=None, initial=0, **kwargs):
        self.total, self.initial, self.n = total, initial, initial
        self.updates = []
        self._lock = threading.Lock()
        FakeBar.made.append(self)

    def update(self, n=1):
        with self._lock:
            self.updates.append(n)
            self.n += n

    def set_postfix_str(self, text):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def bars(monkeypatch):
    from skfedmia.experiments import _driver

    FakeBar.made = []
    monkeypatch.setattr(_driver, "tqdm", FakeBar)
    return FakeBar.made


def _run(config, out):
    seen = []
    records = run_reproduction(
        config, out, verbose=1, on_cell=lambda spec, rec, reused: seen.append(FakeBar.made[-1].n)
    )
    return records, seen


def test_cell_steps_of_the_grid(tiny_config):
    units = [cell_steps(spec) for spec in iter_cells(tiny_config(**GRID))]
    assert units == [1, 4, 6]


def test_serial_bar_advances_per_node_step(tmp_path, tiny_config, bars):
    records, seen = _run(tiny_config(n_jobs=1, **GRID), tmp_path)
    (bar,) = bars
    assert bar.total == STEPS and bar.initial == 0
    assert bar.updates == [1] * STEPS  # one update per step, none per cell
    assert seen == [1, 1 + 4, STEPS]  # each cell's steps are counted before it is stored
    # a resumed run starts full and adds nothing
    _run(tiny_config(n_jobs=1, **GRID), tmp_path)
    assert bars[-1].initial == bars[-1].total == STEPS and bars[-1].updates == []


def test_parallel_bar_advances_per_node_step(tmp_path, tiny_config, bars, monkeypatch):
    from skfedmia.experiments import _driver

    monkeypatch.setattr(_driver, "_n_workers", lambda config, n_cells: 2)  # even on one core
    _run(tiny_config(n_jobs=2, **GRID), tmp_path)
    (bar,) = bars
    assert bar.total == STEPS and bar.n == STEPS
    # every node step came from a worker process as its own update
    assert bar.updates == [1] * STEPS
    # the listener is closed with the run
    assert not [t for t in threading.enumerate() if t.name == "skfedmia-progress"]


def test_reporting_steps_leaves_a_cell_unchanged(tiny_config):
    config = tiny_config(n_nodes=(3,), n_cycles=2)
    spec = next(s for s in iter_cells(config) if s["kind"] == "federated")
    data = load_data(config, spec["n_classes"], spec["seed"])
    calls = []
    counted = run_cell(config, spec, data, on_step=lambda: calls.append(1))
    assert len(calls) == cell_steps(spec) == 6
    assert counted == run_cell(config, spec, data)


def test_dask_cells_advance_the_bar_to_its_total(tmp_path, tiny_config, bars):
    with dask_backend(threads_per_worker=1):
        run_reproduction(tiny_config(**GRID), tmp_path, verbose=1)
    (bar,) = bars
    assert bar.total == STEPS and bar.n == STEPS
