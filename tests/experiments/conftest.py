"""Tiny settings shared by the experiments tests."""

import pytest

from skfedmia.experiments import ReproductionConfig

# two cells (a centralized baseline and one federation), each a second or two
TINY_ARGS = [
    "--classes",
    "3",
    "--nodes",
    "2",
    "--epochs",
    "2",
    "--cycles",
    "1",
    "--shadow-models",
    "2",
    "--n-target",
    "120",
    "--n-shadow",
    "120",
    "--n-test",
    "80",
    "--centralized-epochs",
    "2",
    "--n-jobs",
    "1",
    "--quiet",
]

TINY = dict(
    n_classes=(3,),
    n_nodes=(2,),
    local_epochs=(2,),
    n_cycles=1,
    n_shadow_models=2,
    n_target=120,
    n_shadow=120,
    n_test=80,
    centralized_epochs=2,
)


@pytest.fixture
def tiny_config():
    def make(**kw):
        return ReproductionConfig(**{**TINY, **kw})

    return make
