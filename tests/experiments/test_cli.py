"""The command line checks every option before any work, and starts without torch."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from skfedmia.experiments._cli import main

from .conftest import TINY_ARGS


def _run(args, tmp_path, out=None):
    out = tmp_path / "out" if out is None else out
    return main(["reproduce", *TINY_ARGS, "--out", str(out), *args])


@pytest.mark.parametrize(
    "args, words",
    [
        (["--epochs", "-5"], ["--epochs", ">= 1", "-5"]),
        (["--epochs", "two"], ["--epochs", "integer", "'two'"]),
        (["--classes", "1"], ["--classes", ">= 2", "got 1"]),
        (["--nodes", "0"], ["--nodes", ">= 1", "got 0"]),
        (["--nodes", ""], ["--nodes", "nothing"]),
        (["--seeds", "-1"], ["--seeds", "got -1"]),
        (["--cycles", "0"], ["--cycles", ">= 1"]),
        (["--shadow-models", "0"], ["--shadow-models", ">= 1"]),
        (["--centralized-epochs", "0"], ["--centralized-epochs", ">= 1"]),
        (["--n-target", "5"], ["--n-target 5 is too small", "per class"]),
        (["--n-target", "0"], ["--n-target", ">= 1"]),
        (["--n-shadow", "3"], ["--n-shadow 3 is too small"]),
        (["--n-test", "2"], ["--n-test 2 is too small"]),
        (["--device", "banana"], ["--device", "'cpu'", "'banana'"]),
        (["--threads", "0"], ["--threads", ">= 1", "got 0"]),
        (["--n-jobs", "0"], ["--n-jobs", "got 0"]),
        (["--dataset", "mnist"], ["--dataset", "invalid choice", "'mnist'"]),
        (["--data-path", "somewhere"], ["--data-path is for the published data sets"]),
        (["--bogus"], ["unrecognized arguments", "--bogus"]),
    ],
)
def test_bad_option_exits_2_before_any_work(args, words, tmp_path, capsys):
    assert _run(args, tmp_path) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: skfedmia")
    last = err.strip().splitlines()[-1]
    assert last.startswith("skfedmia reproduce: error:") or "skfedmia: error:" in last
    for word in words:
        assert word in last
    assert not (tmp_path / "out").exists()  # nothing was computed or written


def test_missing_and_corrupt_data_path(tmp_path, capsys):
    missing = tmp_path / "nowhere.tgz"
    assert _run(["--dataset", "location", "--data-path", str(missing)], tmp_path) == 2
    assert "cannot read the location data" in capsys.readouterr().err
    corrupt = tmp_path / "dataset_location.tgz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    assert _run(["--dataset", "location", "--data-path", str(corrupt)], tmp_path) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "cannot read the location data" in err and str(corrupt) in err
    garbage = tmp_path / "dataset_location"
    garbage.write_text("hello\nworld\n")
    assert _run(["--dataset", "location", "--data-path", str(garbage)], tmp_path) == 2
    assert "cannot read the location data" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_out_must_be_a_writable_folder(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    assert _run([], tmp_path, out=a_file) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert _run([], tmp_path, out=a_file / "below") == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert a_file.read_text() == "keep me"
    # /proc takes no new folders, not even from root
    assert _run([], tmp_path, out="/proc/skfedmia-test/out") == 2
    assert "is not writable" in capsys.readouterr().err


def test_rerun_with_other_settings_keeps_the_earlier_report(tmp_path, capsys):
    out = tmp_path / "out"
    assert _run([], tmp_path) == 0
    # every output, cells included, is as readable as any file the user writes
    mask = os.umask(0)
    os.umask(mask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()}
    assert {"report.md", "timings.csv", "config.json", "figure_nodes_2.png"} <= set(modes)
    assert sum(name.endswith(".json") and "-" in name for name in modes) == 2  # the cells
    assert set(modes.values()) == {0o666 & ~mask}
    report = (out / "report.md").read_bytes()
    table = (out / "table2_final_cycle.csv").read_bytes()
    capsys.readouterr()
    assert _run(["--cycles", "2"], tmp_path) == 2
    err = capsys.readouterr().err
    assert "another configuration" in err and "n_cycles" in err and "--force" in err
    assert (out / "report.md").read_bytes() == report
    assert (out / "table2_final_cycle.csv").read_bytes() == table
    # settings that do not change results may differ; the same settings reuse every cell
    assert _run(["--threads", "2", "--n-jobs", "2"], tmp_path) == 0
    assert (out / "table2_final_cycle.csv").read_bytes() == table
    # a report whose configuration is unknown is not replaced either
    (out / "config.json").unlink()
    assert _run([], tmp_path) == 2
    assert "unknown configuration" in capsys.readouterr().err
    assert _run(["--cycles", "2", "--force"], tmp_path) == 0
    assert (out / "report.md").read_bytes() != report
    assert '"n_cycles": 2' in (out / "config.json").read_text()


LAZY = """
import sys
from skfedmia.experiments._cli import main
for argv in ({argvs}):
    code = main(argv)
    assert code in (0, 2), (argv, code)
heavy = sorted(m for m in ("torch", "pandas", "sklearn", "skorch") if m in sys.modules)
print("heavy:", heavy)
"""


def test_help_and_argument_errors_do_not_import_torch():
    argvs = "['--help'], ['reproduce', '--help'], ['reproduce', '--epochs', '-5'], [], "
    argvs += "['reproduce', '--device', 'banana']"
    proc = subprocess.run(
        [sys.executable, "-c", LAZY.format(argvs=argvs)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "heavy: []"


def test_python_dash_m_help_does_not_import_torch():
    code = (
        "import runpy, sys\n"
        "sys.argv = ['skfedmia', 'reproduce', '--help']\n"
        "try:\n"
        "    runpy.run_module('skfedmia', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print('torch' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--scheduler ADDRESS" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "False"
