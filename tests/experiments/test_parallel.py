"""Cells in parallel, locally or on Dask, give the serial run's tables bit for bit."""

from __future__ import annotations

import pytest

from skfedmia.experiments import run_reproduction, write_report
from skfedmia.experiments._cli import main

from .conftest import TINY_ARGS

TABLES = [
    f"{name}.{ext}"
    for name in ("table1_centralized", "table2_final_cycle", "steps")
    for ext in ("csv", "json")
]


def _tables(folder):
    return {name: (folder / name).read_bytes() for name in TABLES}


def test_parallel_cells_equal_serial_ones(tmp_path, tiny_config):
    # two seeds x (a baseline and a federation): four independent cells
    config = dict(seeds=(0, 1))
    serial = run_reproduction(tiny_config(n_jobs=1, **config), tmp_path / "serial", verbose=0)
    events = []
    parallel = run_reproduction(
        tiny_config(n_jobs=2, **config),
        tmp_path / "parallel",
        verbose=0,
        on_cell=lambda spec, record, reused: events.append(reused),
    )
    assert events == [False] * 4
    assert [r["spec"] for r in parallel] == [r["spec"] for r in serial]
    assert [r["result"] for r in parallel] == [r["result"] for r in serial]
    for records, folder in ((serial, "serial"), (parallel, "parallel")):
        write_report(records, tmp_path / folder)
    assert _tables(tmp_path / "parallel") == _tables(tmp_path / "serial")
    # the wall-clock seconds are kept, apart from the tables
    timings = (tmp_path / "serial" / "timings.csv").read_text().splitlines()
    assert timings[0] == "kind,n_classes,n_nodes,local_epochs,seed,seconds"
    assert len(timings) == 1 + 4


def test_dask_local_cluster_equals_local_run(tmp_path):
    distributed = pytest.importorskip("distributed", reason="needs the 'dask' extra")
    assert main(["reproduce", *TINY_ARGS, "--out", str(tmp_path / "local")]) == 0
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        args = [*TINY_ARGS, "--scheduler", cluster.scheduler_address]
        assert main(["reproduce", *args, "--out", str(tmp_path / "dask")]) == 0
    assert _tables(tmp_path / "dask") == _tables(tmp_path / "local")
