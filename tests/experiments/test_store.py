import json
import os

import pytest

from skfedmia.experiments import CellStore, ReproductionConfig, cell_key, iter_cells


def test_cell_key_is_stable_and_sensitive():
    a = {"kind": "federated", "n_nodes": 3, "seed": 0}
    assert cell_key(a) == cell_key(dict(reversed(list(a.items()))))
    assert cell_key(a) != cell_key({**a, "n_nodes": 10})


def test_store_round_trip_and_atomic_write(tmp_path, monkeypatch):
    store = CellStore(tmp_path)
    spec = {"kind": "centralized", "n_classes": 10, "seed": 0}
    store.save(spec, {"acc": 0.5})
    assert store.has(spec)
    assert json.loads(store.path(spec).read_text())["result"] == {"acc": 0.5}

    # a crash while writing leaves the old cell and no temporary file behind
    other = {**spec, "seed": 1}

    def broken_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(KeyboardInterrupt):
        store.save(other, {"acc": 0.9})
    assert not store.has(other)
    assert [p.name for p in tmp_path.iterdir()] == [store.path(spec).name]


def test_config_cells_and_validation():
    config = ReproductionConfig(n_classes=(10, 20), n_nodes=(3,), local_epochs=(5, 7))
    cells = list(iter_cells(config))
    assert config.seeds == (0, 1, 2)  # the paper presets run three seeds
    assert [c["kind"] for c in cells].count("centralized") == 2 * 3
    assert [c["kind"] for c in cells].count("federated") == 4 * 3
    assert len({cell_key(c) for c in cells}) == 18
    assert {c["attack_features"] for c in cells} == {"paper"}
    with pytest.raises(ValueError, match="attack_features"):
        ReproductionConfig(attack_features="logits")
    quick = ReproductionConfig.quick()
    assert quick.n_classes == (50,) and quick.n_nodes == (3, 10)
    with pytest.raises(ValueError, match="dataset must be one of"):
        ReproductionConfig(dataset="mnist")
    with pytest.raises(ValueError, match="n_cycles must be at least 1"):
        ReproductionConfig(n_cycles=0)
    # n_jobs does not change results, so it is not part of a cell
    assert cells == list(
        iter_cells(
            ReproductionConfig(n_classes=(10, 20), n_nodes=(3,), local_epochs=(5, 7), n_jobs=2)
        )
    )
