"""The insiders' attacks are public names: top level, ``skfedmia.attacks`` and the API pages."""

from __future__ import annotations

import importlib

import pytest

INSIDERS = [
    "ColludingInsidersAttack",
    "LossChangeAttack",
    "MembershipMonitor",
    "NodeAttributionAttack",
]


@pytest.mark.parametrize("name", INSIDERS)
@pytest.mark.parametrize("package", ["skfedmia", "skfedmia.attacks", "skfedmia.attacks.membership"])
def test_insider_classes_are_exported(package, name):
    module = importlib.import_module(package)
    assert name in module.__all__
    from skfedmia.attacks import membership

    assert getattr(module, name) is getattr(membership, name)
    assert name in dir(module)
