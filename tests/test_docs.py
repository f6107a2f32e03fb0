"""Every ```python block of README.md and docs/*.md runs.

The blocks of one page run in order in one namespace, as a reader would paste them into one
session. A block that cannot run here says so on its first line, visibly, with a reason:
``# not run by the tests: <reason>``; those are listed as skipped tests, one per block.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", flags=re.S | re.M)
NOT_RUN = re.compile(r"\A# not run by the tests: (\S.*)")


def python_blocks(text):
    """``(line number, source)`` of every ```python block of a Markdown text."""
    return [
        (text.count("\n", 0, match.start()) + 2, match.group(1)) for match in FENCE.finditer(text)
    ]


def _cases():
    runnable, not_run = [], []
    for page in PAGES:
        name = page.relative_to(ROOT).as_posix()
        blocks = python_blocks(page.read_text())
        if any(not NOT_RUN.match(source) for _, source in blocks):
            runnable.append(pytest.param(page, id=name))
        for line, source in blocks:
            reason = NOT_RUN.match(source)
            if reason:
                not_run.append(
                    pytest.param(
                        page,
                        line,
                        id=f"{name}:{line}",
                        marks=pytest.mark.skip(reason=f"{name}:{line}: {reason.group(1)}"),
                    )
                )
    return runnable, not_run


RUNNABLE, NOT_RUN_BLOCKS = _cases()


@pytest.fixture
def page_session(tmp_path, monkeypatch):
    """A clean working folder, a non-interactive plot backend, one torch thread."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    matplotlib.use("Agg")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize("page", RUNNABLE)
def test_page_code_runs(page, page_session):
    namespace = {"__name__": "__docs__"}
    name = page.relative_to(ROOT).as_posix()
    for line, source in python_blocks(page.read_text()):
        if NOT_RUN.match(source):
            continue
        code = compile(source, f"{name}:{line}", "exec")
        try:
            exec(code, namespace)
        except Exception as exc:
            raise AssertionError(
                f"the python block at {name}, line {line}, fails: {exc!r}"
            ) from exc


@pytest.mark.parametrize(("page", "line"), NOT_RUN_BLOCKS)
def test_block_not_run(page, line):  # pragma: no cover - skipped, listed with their reasons
    raise AssertionError("unreachable")


def test_not_run_list_stays_short():
    """Blocks are runnable unless they cannot be: keep this list tiny."""
    assert len(NOT_RUN_BLOCKS) <= 3, [p.id for p in NOT_RUN_BLOCKS]


def test_block_finder_finds_blocks_and_markers():
    text = (
        "# T\n\n```python\nx = 1\n```\n\n```bash\nls\n```\n\n"
        "```python\n# not run by the tests: needs a cluster\ny = 2\n```\n"
    )
    blocks = python_blocks(text)
    assert blocks == [(4, "x = 1\n"), (12, "# not run by the tests: needs a cluster\ny = 2\n")]
    assert NOT_RUN.match(blocks[1][1]).group(1) == "needs a cluster"
    assert not NOT_RUN.match(blocks[0][1])
