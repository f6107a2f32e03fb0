"""Tiny settings shared by the experiments tests."""

import contextlib

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
    "--seeds",
    "0",
    "--quiet",
]

TINY = dict(
    seeds=(0,),
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


@contextlib.contextmanager
def dask_backend(threads_per_worker=1):
    """joblib on a one-worker, in-process Dask ``LocalCluster`` (skips without the extra)."""
    distributed = pytest.importorskip("distributed", reason="needs the 'dask' extra")
    from joblib import parallel_config

    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=threads_per_worker,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster),
        parallel_config(backend="dask"),
    ):
        yield
