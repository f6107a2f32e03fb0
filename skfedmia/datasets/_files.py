"""Finding the published benchmark files and reading their bytes, verified.

Where a data set comes from (:class:`_Published`), where it may lie on disk (an explicit
path, its extracted file(s), a folder, the data home), the one-time download, and the
checksums. What the bytes mean is :mod:`._parse`'s job.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ._base import ChecksumError, _make_data_home, get_data_home
from ._download import fetch_file, sha256_of

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
