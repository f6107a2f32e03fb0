"""The package's import rules (docs/architecture.md), checked on the source.

Every module of ``skfedmia`` is parsed with :mod:`ast`; each ``import`` and ``from ...
import`` of a ``skfedmia`` module (relative or absolute, at the top or inside a function) is
resolved to the folder it reaches. A folder may import itself and the folders of lower
layers only; folders of one layer stay independent of each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skfedmia"

# Lowest layer first. Keep in step with the table in docs/architecture.md.
LAYERS = [
    ["utils"],
    ["metrics"],
    ["neural_net"],
    ["datasets", "defenses"],
    ["federated"],
    ["attacks.membership", "attacks.gradient_leakage", "attacks"],
    ["experiments"],
    ["skfedmia"],  # the top-level __init__.py and __main__.py
]
LAYER = {unit: level for level, units in enumerate(LAYERS) for unit in units}

# Imports that break the rules today and are being removed. Each entry is one
# (module, imported module) pair; any other violation fails at once.
KNOWN_VIOLATIONS: set = set()


def _module_name(path, package=PACKAGE):
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _unit(module):
    """The folder a module belongs to: a top-level subpackage, or an attack family."""
    parts = module.split(".")
    if len(parts) == 1:
        return "skfedmia"
    if parts[1] == "attacks" and len(parts) > 2 and not parts[2].startswith("_"):
        return f"attacks.{parts[2]}"
    if len(parts) == 2 and parts[1] in ("__main__", "_version"):
        return "skfedmia"
    return parts[1]


def _imports(path, package=PACKAGE):
    """The skfedmia modules a file imports, fully resolved."""
    module, is_package = _module_name(path, package)
    package = module if is_package else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            if node.module:
                found.add(base)
            else:  # `from .. import metrics`: each name may be a subpackage
                found.update(f"{base}.{alias.name}" for alias in node.names)
    return module, {name for name in found if name.split(".")[0] == "skfedmia"}


def _target_unit(imported):
    """The folder an import reaches; `from ..attacks import x` reaches all families."""
    unit = _unit(imported)
    if unit not in LAYER and unit.startswith("attacks."):
        return "attacks"  # a name of skfedmia.attacks' own namespace
    return unit


def _allowed(source, target):
    if source == target:
        return True
    if source == "attacks" and target.startswith("attacks."):
        return True  # the attacks namespace re-exports its families
    return LAYER[target] < LAYER[source]


MODULES = sorted(PACKAGE.rglob("*.py"))


def _violations(unit):
    found = []
    for path in MODULES:
        module, imported = _imports(path)
        if _unit(module) != unit:
            continue
        for name in sorted(imported):
            target = _target_unit(name)
            if target in LAYER and not _allowed(unit, target):
                found.append((module, name))
    return found


class KnownViolation(AssertionError):
    """Only the violations listed in KNOWN_VIOLATIONS remain."""


def test_every_folder_has_a_layer():
    units = {_unit(_module_name(path)[0]) for path in MODULES}
    missing = sorted(units - set(LAYER))
    assert not missing, (
        f"folders {missing} have no layer: add them to LAYERS here and to the table in "
        "docs/architecture.md"
    )


def _unit_param(unit):
    if any(_unit(module) == unit for module, _ in KNOWN_VIOLATIONS):
        known = ", ".join(f"{m} imports {t}" for m, t in sorted(KNOWN_VIOLATIONS))
        reason = f"known violation being removed: {known}; drop it from KNOWN_VIOLATIONS then"
        return pytest.param(
            unit, marks=pytest.mark.xfail(strict=True, raises=KnownViolation, reason=reason)
        )
    return unit


@pytest.mark.parametrize("unit", [_unit_param(u) for units in LAYERS for u in units])
def test_imports_follow_the_layers(unit):
    found = _violations(unit)
    unknown = [pair for pair in found if pair not in KNOWN_VIOLATIONS]
    assert not unknown, "imports against the layers of docs/architecture.md:\n" + "\n".join(
        f"  {module} imports {name}" for module, name in unknown
    )
    if found:
        raise KnownViolation(f"still present: {found}")


def test_metrics_imports_no_attack():
    """Stated on its own since the scorer's move: metrics knows no attack, at any depth."""
    for path in (PACKAGE / "metrics").rglob("*.py"):
        module, imported = _imports(path)
        attacks = {name for name in imported if name.startswith("skfedmia.attacks")} - {
            target for source, target in KNOWN_VIOLATIONS if source == module
        }
        assert not attacks, f"{module} imports {sorted(attacks)}"


def test_checker_sees_relative_and_nested_imports(tmp_path):
    """The checker is able to fail: relative imports, also inside functions, are resolved."""
    fake = tmp_path / "skfedmia" / "metrics" / "_fake.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        "import numpy\n"
        "from ._report import AttackReport\n"
        "def f():\n"
        "    from ..attacks.membership import ThresholdAttack\n"
        "    from .. import utils, attacks\n"
    )
    module, imported = _imports(fake, package=tmp_path / "skfedmia")
    assert module == "skfedmia.metrics._fake"
    assert imported == {
        "skfedmia.metrics._report",
        "skfedmia.attacks.membership",
        "skfedmia.utils",
        "skfedmia.attacks",
    }
    assert [_allowed("metrics", _target_unit(name)) for name in sorted(imported)] == [
        False,  # skfedmia.attacks
        False,  # skfedmia.attacks.membership
        True,  # skfedmia.metrics._report
        True,  # skfedmia.utils
    ]
    assert not _allowed("datasets", "defenses") and not _allowed("defenses", "datasets")
    assert not _allowed("attacks.membership", "attacks.gradient_leakage")
    assert not _allowed("utils", "skfedmia")
    assert _allowed("experiments", "attacks") and _allowed("federated", "neural_net")
