"""Loaders of the published benchmark files: formats, sources, checksums, errors."""

import dataclasses
import io
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skfedmia.datasets import (
    ChecksumError,
    _loaders,
    clear_data_home,
    get_data_home,
    load_location,
    load_purchases,
    load_texas,
)

LOCATION_TGZ = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "location"
).resolve() / "dataset_location.tgz"
LOCATION_SHA = "927203f85a868f8ee17a0ded1dc61699efe602167beabe34fbf45b4b1de94b33"

needs_location = pytest.mark.skipif(
    not LOCATION_TGZ.is_file(), reason=f"real Location file absent ({LOCATION_TGZ})"
)


@pytest.fixture(scope="module")
def location():
    if not LOCATION_TGZ.is_file():
        pytest.skip(f"real Location file absent ({LOCATION_TGZ})")
    return load_location(path=LOCATION_TGZ, return_X_y=True)


@pytest.fixture(scope="module")
def bangkok_bytes():
    if not LOCATION_TGZ.is_file():
        pytest.skip(f"real Location file absent ({LOCATION_TGZ})")
    with tarfile.open(LOCATION_TGZ) as tar:
        return tar.extractfile("bangkok").read()


def _tgz(path, members):
    """Write a gzipped tar holding ``members`` ({name: bytes})."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


# ----------------------------------------------------------------------------------- Location
@needs_location
def test_location_archive_shape_classes_binary(location):
    X, y = location
    assert X.shape == (5010, 446)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(X)) == {0.0, 1.0}
    assert np.array_equal(np.unique(y), np.arange(30))
    counts = np.bincount(y)
    assert counts.min() == 97 and counts.max() == 308  # as documented with the data
    assert 50 < X.sum(axis=1).mean() < 58


@needs_location
def test_location_matches_an_independent_parse(location, bangkok_bytes):
    X, y = location
    frame = pd.read_csv(io.BytesIO(bangkok_bytes), header=None)  # pandas un-quotes the label
    assert np.array_equal(y, frame.iloc[:, 0].to_numpy() - 1)
    assert np.array_equal(X, frame.iloc[:, 1:].to_numpy(dtype=np.float32))


@needs_location
def test_location_extracted_file_and_folder_forms(location, bangkok_bytes, tmp_path):
    (tmp_path / "bangkok").write_bytes(bangkok_bytes)
    for source in (tmp_path / "bangkok", tmp_path):
        X, y = load_location(path=source, return_X_y=True)
        assert np.array_equal(X, location[0]) and np.array_equal(y, location[1])


@needs_location
def test_location_from_data_home_env_and_argument(location, monkeypatch, tmp_path):
    home = tmp_path / "home"
    (home / "location").mkdir(parents=True)
    (home / "location" / "dataset_location.tgz").write_bytes(LOCATION_TGZ.read_bytes())
    monkeypatch.setenv("SKFEDMIA_DATA", str(home))
    assert np.array_equal(load_location(return_X_y=True)[1], location[1])
    # an explicit data_home wins over the environment variable
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_location(data_home=tmp_path / "empty", return_X_y=True)


@needs_location
def test_location_bunch_and_frame(location):
    bunch = load_location(path=LOCATION_TGZ, return_X_y=False, as_frame=True)
    assert bunch.frame.shape == (5010, 447)
    assert list(bunch.data.columns) == list(bunch.feature_names)
    assert bunch.target.name == "target" and bunch.target.dtype == np.int64
    assert bunch.target_names[bunch.target.to_numpy()].min() == 1  # published labels 1..30
    assert np.array_equal(bunch.data.to_numpy(), location[0])
    assert "Bangkok" in bunch.DESCR


@needs_location
@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_location_archive_is_refused(damage, tmp_path):
    data = bytearray(LOCATION_TGZ.read_bytes())
    if damage == "flip":
        middle = len(data) // 2
        data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    else:
        data = data[: len(data) // 2]
    bad = tmp_path / "dataset_location.tgz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=f"expected sha256 {LOCATION_SHA}, got [0-9a-f]{{64}}"):
        load_location(path=bad, return_X_y=True)
    # without the checksum the damage is still reported, never silently parsed
    with pytest.raises(ValueError, match="Could not read"):
        load_location(path=bad, checksum=False, return_X_y=True)


@needs_location
def test_modified_extracted_file_fails_checksum_unless_disabled(bangkok_bytes, tmp_path):
    data = bytearray(bangkok_bytes)
    first_feature = data.index(b",") + 1
    data[first_feature] = ord("1") if data[first_feature] == ord("0") else ord("0")
    (tmp_path / "bangkok").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="checksum=False"):
        load_location(path=tmp_path / "bangkok", return_X_y=True)
    X, _ = load_location(path=tmp_path / "bangkok", checksum=False, return_X_y=True)
    X_true, _ = load_location(path=LOCATION_TGZ, return_X_y=True)
    assert np.argwhere(np.not_equal(X, X_true)).tolist() == [[0, 0]]


def test_missing_file_error_says_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_location(data_home=tmp_path, return_X_y=True)
    message = str(info.value)
    assert str(tmp_path / "location" / "dataset_location.tgz") in message
    assert "download=True" in message and "SKFEDMIA_DATA" in message
    assert _loaders.LOCATION_URL in message
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_location(path=tmp_path / "nope.tgz", return_X_y=True)


# --------------------------------------------------------------- Purchases and Texas formats
def _purchase_lines(rng, n_rows, n_features, n_classes, quoted=False):
    X = (rng.random_sample((n_rows, n_features)) < 0.3).astype(int)
    labels = rng.randint(1, n_classes + 1, size=n_rows)
    labels[:n_classes] = np.arange(1, n_classes + 1)
    fmt = '"{}"' if quoted else "{}"
    text = "".join(
        fmt.format(lab) + "," + ",".join(map(str, row)) + "\n" for lab, row in zip(labels, X)
    )
    return text.encode(), X, labels


def test_purchases_format_archive_and_extracted(tmp_path):
    data, X_true, labels = _purchase_lines(np.random.RandomState(0), 60, 12, 5)
    archive = _tgz(tmp_path / "dataset_purchase.tgz", {"dataset_purchase": data})
    X, y = load_purchases(path=archive, return_X_y=True)
    assert np.array_equal(X, X_true) and np.array_equal(y, labels - 1)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "dataset_purchase").write_bytes(data)
    X2, y2 = load_purchases(data_home=tmp_path / "x", return_X_y=True)
    assert np.array_equal(X2, X_true) and np.array_equal(y2, y)


def test_purchases_relabel_and_subset(tmp_path):
    data, _, _ = _purchase_lines(np.random.RandomState(1), 200, 20, 7)
    (tmp_path / "dataset_purchase").write_bytes(data)
    X, y = load_purchases(
        n_classes=4, path=tmp_path / "dataset_purchase", random_state=3, return_X_y=True
    )
    assert np.array_equal(np.unique(y), np.arange(4))
    assert np.array_equal(y, load_purchases(4, path=tmp_path, random_state=3, return_X_y=True)[1])
    Xs, ys = load_purchases(n_samples=50, path=tmp_path, random_state=0, return_X_y=True)
    assert Xs.shape == (50, 20) and ys.max() <= 6
    rows = [np.flatnonzero(np.equal(X, r).all(axis=1))[0] for r in Xs]
    assert len(set(rows)) == 50  # a subset of distinct original rows
    with pytest.raises(ValueError, match="n_samples must lie in"):
        load_purchases(n_samples=500, path=tmp_path, return_X_y=True)
    with pytest.raises(
        ValueError,
        match="n_classes. parameter of load_purchases must be an int in the range \\[2, inf\\)",
    ):
        load_purchases(n_classes=1, path=tmp_path, return_X_y=True)


def test_texas_format(tmp_path):
    rng = np.random.RandomState(2)
    X_true = (rng.random_sample((30, 9)) < 0.2).astype(int)
    labels = rng.randint(1, 101, size=30)
    feats = "".join(",".join(map(str, r)) + "\n" for r in X_true).encode()
    lab = "".join(f"{v}\n" for v in labels).encode()
    archive = _tgz(
        tmp_path / "dataset_texas.tgz", {"texas/100/feats": feats, "texas/100/labels": lab}
    )
    X, y = load_texas(path=archive, return_X_y=True)
    assert np.array_equal(X, X_true) and np.array_equal(y, labels - 1)
    folder = tmp_path / "ex" / "texas" / "100"
    folder.mkdir(parents=True)
    (folder / "feats").write_bytes(feats)
    (folder / "labels").write_bytes(lab)
    for source in (tmp_path / "ex", folder / "feats"):
        X2, y2 = load_texas(path=source, return_X_y=True)
        assert np.array_equal(X2, X_true) and np.array_equal(y2, y)
    (folder / "labels").write_bytes(lab[: lab.rindex(b"\n", 0, -1) + 1])  # one label short
    with pytest.raises(ValueError, match="30 feature rows but 29 labels"):
        load_texas(path=folder / "feats", return_X_y=True)
    (folder / "labels").unlink()
    with pytest.raises(FileNotFoundError, match="companion"):
        load_texas(path=folder / "feats", return_X_y=True)


def test_general_csv_fallback_matches_fast_path(tmp_path):
    data, X_true, labels = _purchase_lines(np.random.RandomState(4), 40, 10, 3, quoted=True)
    (tmp_path / "fast").write_bytes(data)
    # the same numbers written as floats with spaces and CRLF: parsed by the general path
    slow = data.replace(b",1", b", 1.0").replace(b",0", b", 0.0").replace(b"\n", b"\r\n")
    (tmp_path / "slow").write_bytes(slow)
    Xf, yf = load_purchases(path=tmp_path / "fast", return_X_y=True)
    Xs, ys = load_purchases(path=tmp_path / "slow", return_X_y=True)
    assert np.array_equal(Xf, X_true) and np.array_equal(Xs, X_true)
    assert np.array_equal(yf, labels - 1) and np.array_equal(ys, yf)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"1,0,1\n2,1\n", "missing values or ragged"),
        (b"1,0,x\n2,1,0\n", "non-numeric"),
        (b"0,0,1\n2,1,0\n", "1-based labels"),
        (b"1\n2\n", "no comma after its label"),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path, content, match):
    (tmp_path / "dataset_purchase").write_bytes(content)
    with pytest.raises(ValueError, match=match):
        load_purchases(path=tmp_path / "dataset_purchase", return_X_y=True)


def test_archive_without_the_member(tmp_path):
    archive = _tgz(tmp_path / "dataset_purchase.tgz", {"other": b"1,0\n"})
    with pytest.raises(ValueError, match="does not hold 'dataset_purchase'"):
        load_purchases(path=archive, return_X_y=True)


def test_get_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("SKFEDMIA_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert get_data_home() == tmp_path / "cache" / "skfedmia"
    monkeypatch.setenv("SKFEDMIA_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home("~/d") == tmp_path / "d"


def test_published_addresses_are_recorded():
    assert _loaders.LOCATION.url.endswith(
        "privacytrustlab/datasets/raw/master/dataset_location.tgz"
    )
    assert _loaders.PURCHASE.url.endswith("/dataset_purchase.tgz")
    assert _loaders.TEXAS.members == ("texas/100/feats", "texas/100/labels")
    assert dataclasses.is_dataclass(_loaders.LOCATION)


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("where", ["empty", "blank", "cwd", "home", "root", "unmarked", "parent"])
def test_clear_data_home_refuses_dangerous_folders(where, tmp_path, monkeypatch):
    work = tmp_path / "work"
    (work / "keep").mkdir(parents=True)
    (work / "keep" / "file.txt").write_text("user data")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "work"))
    target = {
        "empty": "",
        "blank": "  ",
        "cwd": ".",
        "home": "~",
        "root": "/",
        "unmarked": str(work / "keep"),
        "parent": str(tmp_path),
    }[where]
    # should the check ever regress, nothing is deleted for real
    import skfedmia.datasets._base as base

    def no_rmtree(path, *args, **kwargs):
        raise AssertionError(f"clear_data_home tried to delete {path}")

    monkeypatch.setattr(base.shutil, "rmtree", no_rmtree)
    before = _tree(tmp_path)
    with pytest.raises(ValueError, match="clear_data_home"):
        clear_data_home(target)
    assert _tree(tmp_path) == before


def test_clear_data_home_deletes_a_home_it_created(tmp_path):
    from skfedmia.datasets._base import _make_data_home

    home = _make_data_home(tmp_path / "data")
    (home / "location").mkdir()
    (home / "location" / "x.tgz").write_bytes(b"x")
    clear_data_home(home)
    assert not home.exists()
    clear_data_home(home)  # a data home that does not exist is left as is


@needs_location
def test_loaders_return_a_bunch_by_default():
    bunch = load_location(path=LOCATION_TGZ)
    assert bunch.data.shape == (5010, 446)
    assert bunch.target.shape == (5010,)
    assert bunch.frame is None and "Location" in bunch.DESCR
