"""Loaders of the membership-inference benchmark files as their authors publish them.

Shokri et al. (2017) published Location, Purchases and Texas as gzipped tar archives; each
holds comma-separated text with a class label (1-based, Location's in double quotes) followed
by binary features, Texas with features and labels in two files. The loaders read an archive
or its extracted content, from an explicit path or from the data home, and can download the
archive once.
"""

from __future__ import annotations

import io
import os
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

from ._base import ChecksumError, _as_output, _make_data_home, get_data_home
from ._download import fetch_file, sha256_of
from ._purchases import relabel_kmeans

__all__ = ["load_location", "load_purchases", "load_texas"]

_BASE_URL = "https://github.com/privacytrustlab/datasets/raw/master/"
#: Public addresses of the archives, as Shokri et al. publish them.
LOCATION_URL = _BASE_URL + "dataset_location.tgz"
PURCHASE_URL = _BASE_URL + "dataset_purchase.tgz"
TEXAS_URL = _BASE_URL + "dataset_texas.tgz"


@dataclass(frozen=True)
class _Published:
    """Where a published data set comes from and what its archive holds."""

    name: str  # folder in the data home
    url: str
    archive: str  # archive file name
    members: tuple[str, ...]  # files inside the archive, in reading order
    archive_sha256: str | None = None
    member_sha256: dict = field(default_factory=dict)


LOCATION = _Published(
    name="location",
    url=LOCATION_URL,
    archive="dataset_location.tgz",
    members=("bangkok",),
    archive_sha256="927203f85a868f8ee17a0ded1dc61699efe602167beabe34fbf45b4b1de94b33",
    member_sha256={"bangkok": "2ca8f7fc231251e089823e44d39f2d1eed124574cc351c7f80368cfe631dd718"},
)
# No digests are recorded for these two yet: they are read unverified (and a download warns,
# naming the digest it received, so that it can be recorded here).
PURCHASE = _Published(
    name="purchase",
    url=PURCHASE_URL,
    archive="dataset_purchase.tgz",
    members=("dataset_purchase",),
)
TEXAS = _Published(
    name="texas",
    url=TEXAS_URL,
    archive="dataset_texas.tgz",
    members=("texas/100/feats", "texas/100/labels"),
)

_ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".tar")


# ----------------------------------------------------------------------------- locating files
def _is_archive(path: Path) -> bool:
    return path.name.endswith(_ARCHIVE_SUFFIXES)


def _candidates(spec: _Published, folder: Path):
    """Places in ``folder`` where the archive or its extracted content may lie, in order."""
    out = []
    for base in (folder / spec.name, folder):
        out.append(base / spec.archive)
        out.append(base / spec.members[0])
        if len(spec.members) > 1:  # Texas: also the inner folder itself (texas/100/feats)
            out.append(base / Path(spec.members[0]).name)
    return out


def _member_paths(spec: _Published, path: Path) -> dict[str, Path]:
    """Extracted files of ``spec`` given the path of its first one."""
    if len(spec.members) == 1:
        return {spec.members[0]: path}
    folder = path.parent
    paths = {m: folder / Path(m).name for m in spec.members}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{spec.name}: {path} needs its companion file(s) beside it: {', '.join(missing)}."
        )
    return paths


def _not_found(spec: _Published, looked: list[Path], data_home: Path) -> FileNotFoundError:
    where = "\n  ".join(str(p) for p in looked)
    return FileNotFoundError(
        f"The {spec.name} data set was not found. Looked for:\n  {where}\n"
        f"To get it, pass download=True (fetches {spec.url} once into "
        f"{data_home / spec.name}), or download {spec.archive} yourself and pass "
        f"path=<the .tgz, its extracted file or their folder>, or set the SKFEDMIA_DATA "
        "environment variable to the folder that holds it."
    )


def _locate(spec: _Published, path, data_home, download):
    """Return ``("archive", Path)`` or ``("files", {member: Path})``."""
    if path is not None:
        path = Path(os.fspath(path)).expanduser()
        if path.is_file():
            if _is_archive(path) or tarfile.is_tarfile(path):
                return "archive", path
            return "files", _member_paths(spec, path)
        if path.is_dir():
            looked = _candidates(spec, path)
        else:
            raise FileNotFoundError(f"{spec.name}: path={str(path)!r} does not exist.")
        home = get_data_home(data_home)
    else:
        home = get_data_home(data_home)
        looked = _candidates(spec, home)
    for candidate in looked:
        if candidate.is_file():
            if _is_archive(candidate):
                return "archive", candidate
            return "files", _member_paths(spec, candidate)
    if download and path is None:
        _make_data_home(home)
        dest = fetch_file(spec.url, home / spec.name / spec.archive, sha256=spec.archive_sha256)
        return "archive", dest
    raise _not_found(spec, looked, home)


# ------------------------------------------------------------------------------ reading bytes
def _verify(what, data_or_path, expected):
    got = sha256_of(data_or_path)
    if got != expected:
        raise ChecksumError(
            f"Checksum mismatch for {what}: expected sha256 {expected}, got {got}. The file is "
            "damaged, truncated or not the published one: delete it and download it again, or "
            "pass checksum=False to read a file you re-packed on purpose."
        )


def _read_members(spec: _Published, kind, where, checksum) -> dict[str, bytes]:
    """The bytes of every member of ``spec``, verified against the known digests."""
    if kind == "archive":
        if checksum and spec.archive_sha256 is not None:
            _verify(where, where, spec.archive_sha256)
        contents = {}
        try:
            with tarfile.open(where, mode="r:*") as tar:
                by_name = {os.path.normpath(m.name): m for m in tar.getmembers() if m.isfile()}
                for member in spec.members:
                    info = by_name.get(os.path.normpath(member))
                    if info is None:
                        raise ValueError(
                            f"{where} does not hold {member!r}; it holds "
                            f"{sorted(by_name)[:10]}. Is it the {spec.name} archive?"
                        )
                    contents[member] = tar.extractfile(info).read()
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise ValueError(
                f"Could not read the archive {where}: it is damaged or truncated ({exc}). "
                "Delete it and download it again."
            ) from exc
    else:
        contents = {member: Path(p).read_bytes() for member, p in where.items()}
    if checksum:
        for member, expected in spec.member_sha256.items():
            label = f"{where} member {member!r}" if kind == "archive" else str(where[member])
            _verify(label, contents[member], expected)
    return contents


# ------------------------------------------------------------------------------------ parsing
def _parse_int_tokens(raw: list[bytes], what: str) -> np.ndarray:
    try:
        return np.array([int(t.strip().strip(b'"')) for t in raw], dtype=np.int64)
    except ValueError as exc:
        raise ValueError(f"Could not read {what}: {exc}.") from None


def _lines(data: bytes):
    """Start and end offsets of the non-empty lines of ``data``."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == ord("\n"))
    starts = np.r_[0, newlines + 1]
    ends = np.r_[newlines, len(buf)]
    keep = ends > starts
    return buf, starts[keep], ends[keep]


def _parse_binary_fast(buf, starts, ends):
    """Fast path for lines of single-character 0/1 values separated by commas.

    Returns an (n, d) uint8 array, or None when the lines do not have that exact shape.
    """
    widths = ends - starts
    if len(widths) == 0 or widths[0] % 2 == 0 or (widths != widths[0]).any():
        return None
    n_features = (int(widths[0]) + 1) // 2
    values = buf[starts[:, None] + 2 * np.arange(n_features)]
    if n_features > 1:
        commas = buf[starts[:, None] + 2 * np.arange(n_features - 1) + 1]
        if (commas != ord(",")).any():
            return None
    values = values - np.uint8(ord("0"))
    if (values > 1).any():
        return None
    return values


def _parse_features(data: bytes, what: str, *, label_column: bool):
    """Parse comma-separated rows -> (X uint8 or float32, labels int64 or None)."""
    if b"\r" in data:
        data = data.replace(b"\r", b"")
    buf, starts, ends = _lines(data)
    labels = None
    feature_starts = starts
    if label_column:
        commas = np.flatnonzero(buf == ord(","))
        first = np.searchsorted(commas, starts)
        if (first >= len(commas)).any() or (
            commas[np.minimum(first, len(commas) - 1)] >= ends
        ).any():
            raise ValueError(f"Could not read {what}: a line has no comma after its label.")
        first_comma = commas[first]
        labels = _parse_int_tokens(
            [data[s:e] for s, e in zip(starts.tolist(), first_comma.tolist())],
            f"the labels of {what}",
        )
        feature_starts = first_comma + 1
    X = _parse_binary_fast(buf, feature_starts, ends)
    if X is None:  # general comma-separated numbers: let pandas parse them
        import pandas as pd

        try:
            frame = pd.read_csv(io.BytesIO(data), header=None, skipinitialspace=True)
        except Exception as exc:
            raise ValueError(f"Could not read {what}: {exc}.") from exc
        if label_column:
            frame = frame.iloc[:, 1:]
        try:
            X = frame.to_numpy(dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Could not read {what}: non-numeric features ({exc}).") from None
        if np.isnan(X).any():
            raise ValueError(f"Could not read {what}: missing values or ragged lines.")
    return X, labels


def _zero_based(labels, what):
    if labels.min() < 1:
        raise ValueError(
            f"{what}: expected the published 1-based labels, found label {labels.min()}."
        )
    return labels - 1


def _finish(X, y, *, n_classes_published, descr, prefix, return_X_y, as_frame):
    return _as_output(
        X,
        y,
        feature_names=[f"{prefix}_{j}" for j in range(X.shape[1])],
        target_names=np.arange(1, n_classes_published + 1),
        descr=descr,
        return_X_y=return_X_y,
        as_frame=as_frame,
    )


# ------------------------------------------------------------------------------------ loaders
_COMMON_PARAMS = """
    path : str or path-like, default=None
        The published ``.tgz``, its extracted file(s), or a folder holding either (also
        looked for in a ``{name}/`` subfolder). When None, the data home is searched.
    data_home : str or path-like, default=None
        Data home to search (and download into); see :func:`get_data_home` for the default
        (``SKFEDMIA_DATA``, else ``~/.cache/skfedmia``).
    download : bool, default=False
        If the file is not found (and ``path`` is None), fetch the archive once from
        ``{url}`` into ``<data_home>/{name}/``, writing it atomically{verified}.
    checksum : bool, default=True
        Verify the SHA-256 digest of a file whose digest is known{known}; a mismatch raises
        :class:`ChecksumError`. False reads a re-packed file as it is.
    return_X_y : bool, default=True
        If True, return ``(X, y)``; else a :class:`~sklearn.utils.Bunch` with ``data``,
        ``target``, ``feature_names``, ``target_names``, ``frame`` and ``DESCR``.
    as_frame : bool, default=False
        If True, ``X`` is a :class:`pandas.DataFrame` and ``y`` a :class:`pandas.Series`."""


def _doc(name, url, known):
    verified = (
        " after checking its SHA-256 digest" if known else " (no digest is recorded yet: warns)"
    )
    known_text = (
        " (the archive and the extracted file)" if known else " (none recorded yet for this one)"
    )
    return _COMMON_PARAMS.format(name=name, url=url, verified=verified, known=known_text)


def load_location(
    *, path=None, data_home=None, download=False, checksum=True, return_X_y=True, as_frame=False
):
    """Load the Location benchmark (Foursquare check-ins in Bangkok; Shokri et al., 2017).

    5,010 users x 446 binary features (whether the user visited a region or location type),
    30 classes (geosocial user profiles). The published archive ``dataset_location.tgz`` holds
    one comma-separated file, ``bangkok``: on every line the class ``"1"`` .. ``"30"`` in
    double quotes, then the 446 features.

    Labels are returned 0-based (``y = published label - 1``, in ``0 .. 29``), as torch's
    losses expect; ``target_names[y]`` gives the published label back.

    Parameters
    ----------{params}

    Returns
    -------
    X : ndarray of shape (5010, 446), dtype float32
        Binary features.
    y : ndarray of shape (5010,), dtype int64
        Classes ``0 .. 29``.
    data : :class:`~sklearn.utils.Bunch`
        When ``return_X_y=False``.

    Raises
    ------
    FileNotFoundError
        The file is not found and ``download`` is False; the message lists where it looked.
    ChecksumError
        The file is not the published one.
    ValueError
        The archive is damaged or does not hold ``bangkok``.

    Examples
    --------
    >>> from skfedmia.datasets import load_location
    >>> X, y = load_location(path="dataset_location.tgz")  # doctest: +SKIP
    >>> X.shape, y.max() + 1  # doctest: +SKIP
    ((5010, 446), 30)
    """
    kind, where = _locate(LOCATION, path, data_home, download)
    raw = _read_members(LOCATION, kind, where, checksum)["bangkok"]
    X, labels = _parse_features(raw, f"{where} (location)", label_column=True)
    y = _zero_based(labels, "location")
    descr = (
        "Location (Shokri et al., 2017): Foursquare check-ins in Bangkok, "
        f"{X.shape[0]} users x {X.shape[1]} binary features, {y.max() + 1} classes. "
        f"Read from {where}."
    )
    return _finish(
        X,
        y,
        n_classes_published=int(y.max()) + 1,
        descr=descr,
        prefix="location",
        return_X_y=return_X_y,
        as_frame=as_frame,
    )


def load_purchases(
    n_classes=100,
    *,
    n_samples=None,
    random_state=0,
    path=None,
    data_home=None,
    download=False,
    checksum=True,
    return_X_y=True,
    as_frame=False,
):
    """Load the Purchases benchmark (Kaggle "Acquire Valued Shoppers"; Shokri et al., 2017).

    197,324 customers x 600 binary features (whether the customer bought a product), labelled
    by k-means into 100 classes by its authors. The published archive ``dataset_purchase.tgz``
    holds one comma-separated file, ``dataset_purchase``: on every line the class ``1`` ..
    ``100``, then the 600 features.

    As in Pustozerova & Mayer (2020), other numbers of classes are obtained by clustering the
    rows again with k-means (:func:`relabel_kmeans`); ``n_samples`` takes a random subset
    first (the paper uses 10,000 rows).

    Labels are 0-based. With ``n_classes=100`` they are the published ones minus 1
    (``target_names[y]`` gives the published label back); otherwise they are the k-means
    clusters, largest first.

    Parameters
    ----------
    n_classes : int, default=100
        Number of classes; any other value than 100 relabels with k-means.
    n_samples : int or None, default=None
        If given, a random subset of this many rows (drawn with ``random_state``).
    random_state : int, RandomState instance or None, default=0
        Seed of the subset and of the k-means relabelling.{params}

    Returns
    -------
    X : ndarray of shape (n_samples, 600), dtype float32
    y : ndarray of shape (n_samples,), dtype int64
    data : :class:`~sklearn.utils.Bunch`
        When ``return_X_y=False``.

    See Also
    --------
    make_purchases : A built-in, offline Purchases-like generator.

    Examples
    --------
    >>> from skfedmia.datasets import load_purchases
    >>> X, y = load_purchases(n_classes=20, n_samples=10_000)  # doctest: +SKIP
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}.")
    kind, where = _locate(PURCHASE, path, data_home, download)
    raw = _read_members(PURCHASE, kind, where, checksum)["dataset_purchase"]
    X, labels = _parse_features(raw, f"{where} (purchase)", label_column=True)
    y = _zero_based(labels, "purchase")
    rng = check_random_state(random_state)
    if n_samples is not None:
        if not 1 <= n_samples <= len(y):
            raise ValueError(f"n_samples must lie in [1, {len(y)}], got {n_samples!r}.")
        rows = np.sort(rng.choice(len(y), size=n_samples, replace=False))
        X, y = X[rows], y[rows]
    n_published = int(labels.max())
    if n_classes != 100:
        y = relabel_kmeans(X, n_classes, random_state=rng)
        n_published = n_classes
    descr = (
        f"Purchases (Shokri et al., 2017): {X.shape[0]} customers x {X.shape[1]} products, "
        f"{n_classes} classes"
        + (" (k-means relabelling)" if n_classes != 100 else "")
        + f". Read from {where}."
    )
    return _finish(
        X,
        y,
        n_classes_published=n_published,
        descr=descr,
        prefix="product",
        return_X_y=return_X_y,
        as_frame=as_frame,
    )


def load_texas(
    *, path=None, data_home=None, download=False, checksum=True, return_X_y=True, as_frame=False
):
    """Load the Texas-100 benchmark (Texas hospital discharge data; Shokri et al., 2017).

    67,330 patients x 6,169 binary features (external causes of injury, diagnosis, procedures,
    generic patient information), 100 classes (the most frequent main procedures). The
    published archive ``dataset_texas.tgz`` holds ``texas/100/feats`` (comma-separated
    features, no label) and ``texas/100/labels`` (one class ``1`` .. ``100`` a line).

    Labels are returned 0-based (``y = published label - 1``). The float32 feature matrix
    takes about 1.7 GB of memory.

    Parameters
    ----------{params}

    Returns
    -------
    X : ndarray of shape (67330, 6169), dtype float32
    y : ndarray of shape (67330,), dtype int64
    data : :class:`~sklearn.utils.Bunch`
        When ``return_X_y=False``.

    Examples
    --------
    >>> from skfedmia.datasets import load_texas
    >>> X, y = load_texas(path="dataset_texas.tgz")  # doctest: +SKIP
    """
    kind, where = _locate(TEXAS, path, data_home, download)
    raw = _read_members(TEXAS, kind, where, checksum)
    X, _ = _parse_features(raw["texas/100/feats"], f"{where} (texas feats)", label_column=False)
    labels = _parse_int_tokens(raw["texas/100/labels"].split(), f"{where} (texas labels)")
    if len(labels) != X.shape[0]:
        raise ValueError(f"texas: {X.shape[0]} feature rows but {len(labels)} labels in {where}.")
    y = _zero_based(labels, "texas")
    descr = (
        f"Texas-100 (Shokri et al., 2017): {X.shape[0]} patients x {X.shape[1]} binary "
        f"features, {y.max() + 1} classes. Read from {where}."
    )
    return _finish(
        X,
        y,
        n_classes_published=int(y.max()) + 1,
        descr=descr,
        prefix="texas",
        return_X_y=return_X_y,
        as_frame=as_frame,
    )


load_location.__doc__ = load_location.__doc__.format(
    params=_doc("location", LOCATION_URL, known=True)
)
load_purchases.__doc__ = load_purchases.__doc__.format(
    params=_doc("purchase", PURCHASE_URL, known=False)
)
load_texas.__doc__ = load_texas.__doc__.format(params=_doc("texas", TEXAS_URL, known=False))
