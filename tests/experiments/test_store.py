import json
import os
import stat

import pytest

from skfedmia.experiments import (
    CellStore,
    DamagedCellWarning,
    ReproductionConfig,
    cell_key,
    iter_cells,
    run_reproduction,
)
from skfedmia.experiments._store import DamagedCellError


def test_cell_key_is_stable_and_sensitive():
    a = {"kind": "federated", "n_nodes": 3, "seed": 0}
    assert cell_key(a) == cell_key(dict(reversed(list(a.items()))))
    assert cell_key(a) != cell_key({**a, "n_nodes": 10})


def test_store_round_trip_and_atomic_write(tmp_path, monkeypatch):
    store = CellStore(tmp_path)
    spec = {"kind": "centralized", "n_classes": 10, "seed": 0}
    store.save(spec, {"acc": 0.5}, seconds=2.0)
    assert store.has(spec)
    on_disk = json.loads(store.path(spec).read_text())
    assert on_disk["result"] == {"acc": 0.5} and on_disk["seconds"] == 2.0
    assert store.load(spec)["result"] == {"acc": 0.5}

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
    # the generator's label taste (non-zero below 20 classes) is part of a cell: cells of the
    # earlier 10-class labels have other keys; at 20 classes the spec is as it always was
    assert {c.get("label_taste") for c in cells if c["n_classes"] == 10} == {0.35}
    assert all("label_taste" not in c for c in cells if c["n_classes"] == 20)
    location = ReproductionConfig(dataset="location", data_path="x", n_classes=(10,))
    assert all("label_taste" not in c for c in iter_cells(location))
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


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_cells_are_readable_like_other_outputs(tmp_path):
    store = CellStore(tmp_path)
    spec = {"kind": "centralized", "n_classes": 10, "seed": 0}
    store.save(spec, {"acc": 0.5})
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    mode = stat.S_IMODE(store.path(spec).stat().st_mode)
    assert mode == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~_umask()


def test_store_rejects_damaged_and_swapped_cells(tmp_path):
    store = CellStore(tmp_path)
    a = {"kind": "federated", "n_nodes": 3, "seed": 0}
    b = {**a, "n_nodes": 10}
    store.save(a, {"acc": 0.5})
    store.save(b, {"acc": 0.7})
    good_b = store.path(b).read_text()
    # another cell's (sound) record under a's name
    store.path(a).write_text(good_b)
    with pytest.raises(DamagedCellError, match="holds the result of another cell"):
        store.load(a)
    # an edited result fails the checksum
    store.path(b).write_text(good_b.replace("0.7", "0.9"))
    with pytest.raises(DamagedCellError, match="checksum mismatch"):
        store.load(b)
    # a truncated file is named, moved aside and reported missing
    store.path(b).write_text(good_b[: len(good_b) // 2])
    with pytest.warns(DamagedCellWarning, match=store.path(b).name) as caught:
        assert store.get(b) is None
    assert "not valid JSON" in str(caught[0].message)
    assert not store.path(b).exists()
    assert (tmp_path / "damaged" / store.path(b).name).read_text() == good_b[: len(good_b) // 2]


@pytest.mark.parametrize("damage", ["truncated", "swapped"])
def test_reproduction_recomputes_a_damaged_cell(tmp_path, tiny_config, damage):
    config = tiny_config()
    first = run_reproduction(config, tmp_path, verbose=0)
    store = CellStore(tmp_path / "cells")
    central, federated = (store.path(r["spec"]) for r in first)
    if damage == "truncated":
        text = federated.read_text()
        federated.write_text(text[: len(text) - 40])
    else:
        federated.write_text(central.read_text())
    events = []
    with pytest.warns(DamagedCellWarning, match=federated.name):
        again = run_reproduction(
            config, tmp_path, verbose=0, on_cell=lambda s, r, reused: events.append(reused)
        )
    assert events == [True, False]  # the sound cell reused, the damaged one recomputed
    assert [r["result"] for r in again] == [r["result"] for r in first]
    assert (tmp_path / "cells" / "damaged" / federated.name).exists()
    assert store.load(first[1]["spec"])["result"] == first[1]["result"]
