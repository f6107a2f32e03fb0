"""Ctrl-C during ``skfedmia reproduce``: exit status 130, one line, no unfinished cell."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from .conftest import TINY_ARGS


def _option(args, name, value):
    args = list(args)
    args[args.index(name) + 1] = value
    return args


def _ctrl_c(proc, group):
    if group:  # Ctrl-C in a terminal signals the whole foreground group
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)


# with worker processes only the command itself is signalled: workers still starting up
# would print their own KeyboardInterrupt tracebacks beside the command's one line
@pytest.mark.parametrize("n_jobs, group", [("1", True), ("2", False)])
def test_ctrl_c_during_a_cell_stores_nothing_and_exits_130(tmp_path, n_jobs, group):
    out = tmp_path / "out"
    # a first cell long enough to be interrupted in the middle
    args = _option(TINY_ARGS, "--centralized-epochs", "1500")
    args = _option(args, "--n-jobs", n_jobs)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "skfedmia", "reproduce", *args, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "cells").exists() and proc.poll() is None:
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        timer = threading.Timer(1.0, _ctrl_c, args=(proc, group))
        timer.start()
        stdout, stderr = proc.communicate(timeout=300)
        timer.join()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "interrupted" in lines[0] and "0 finished cell(s)" in lines[0]
    assert "report" not in stdout
    assert list((out / "cells").iterdir()) == []  # no cell, no temporary file
    assert not (out / "report.md").exists()
