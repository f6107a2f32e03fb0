"""The repository keeps its promises: README's commands, CI, the public API."""

from __future__ import annotations

import re
from pathlib import Path

import skfedmia

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)


def test_ci_runs_readme_test_command():
    commands = _readme_commands()
    test_setup = next(c for c in commands if "[test]" in c)
    test_command = test_setup.split("&&")[-1].strip()
    assert test_command.startswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in [line.strip() for line in ci]
    assert "pip install --quiet torch==2.13.0" in "\n".join(ci)


def test_readme_names_the_main_job():
    main_job = next(c for c in _readme_commands() if "pip install -e . " in c)
    assert "torch==2.13.0" in main_job


def test_public_api_is_exported_and_documented():
    import types

    for name in skfedmia.__all__:
        obj = getattr(skfedmia, name)
        if name.startswith("__") or isinstance(obj, types.ModuleType):
            continue
        assert obj.__doc__ and "Examples" in obj.__doc__, f"{name} lacks an Examples section"
