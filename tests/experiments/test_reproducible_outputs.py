"""The reproduction writes the same files, byte for byte, when run again with the same seeds."""

from __future__ import annotations

import json

from skfedmia.experiments._cli import main

from .conftest import TINY_ARGS


def _outputs(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def _cell(path):
    record = json.loads(path.read_text())
    record.pop("seconds")  # how long the cell took, the one thing that may differ
    return record


def test_reproduction_outputs_repeat_exactly(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        assert main(["reproduce", *TINY_ARGS, "--out", str(out)]) == 0
    files = _outputs(first)
    assert files == _outputs(second)
    suffixes = {path.suffix for path in files}
    assert {".csv", ".json", ".png"} <= suffixes
    for path in files:
        if path.name == "timings.csv":
            continue
        if path.parts[0] == "cells":
            assert _cell(first / path) == _cell(second / path), path
        else:
            assert (first / path).read_bytes() == (second / path).read_bytes(), path
