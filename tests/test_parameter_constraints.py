"""Every public class declares and checks its parameters the scikit-learn way."""

from __future__ import annotations

import importlib
import inspect

import pytest

import skfedmia

SUBPACKAGES = [
    "skfedmia",
    "skfedmia.attacks",
    "skfedmia.attacks.membership",
    "skfedmia.attacks.gradient_leakage",
    "skfedmia.datasets",
    "skfedmia.defenses",
    "skfedmia.federated",
    "skfedmia.metrics",
    "skfedmia.neural_net",
    "skfedmia.utils",
]


#: result records that the library builds and hands back; users never construct them
RESULT_RECORDS = {"GradientReconstruction": "the records reconstruct() returns"}


def _public_classes():
    seen = {}
    for name in SUBPACKAGES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if not inspect.isclass(obj) or issubclass(obj, BaseException):
                continue
            if "__dataclass_fields__" in vars(obj):  # plain records such as NoiseModel
                continue
            if obj.__name__ in RESULT_RECORDS:
                continue
            seen[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return sorted(seen.items())


def _init_params(cls):
    signature = inspect.signature(cls.__init__)
    return [
        p.name
        for p in signature.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


PUBLIC_CLASSES = _public_classes()


def test_the_walk_finds_the_public_estimators():
    names = {cls.__name__ for _, cls in PUBLIC_CLASSES}
    assert {"TorchMLPClassifier", "SequentialFederatedClassifier", "GaussianNoise"} <= names
    assert skfedmia.MembershipInferenceAttack in {cls for _, cls in PUBLIC_CLASSES}


@pytest.mark.parametrize("qualname, cls", PUBLIC_CLASSES, ids=[q for q, _ in PUBLIC_CLASSES])
def test_every_init_parameter_has_a_constraint(qualname, cls):
    params = _init_params(cls)
    constraints = getattr(cls, "_parameter_constraints", None)
    assert isinstance(constraints, dict), f"{qualname} declares no _parameter_constraints"
    missing = [p for p in params if p not in constraints]
    assert not missing, f"{qualname}: no constraint for {missing}"
