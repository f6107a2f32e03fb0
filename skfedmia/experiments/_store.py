"""Finished experiment cells on disk: written atomically, verified when read back."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
import warnings
from pathlib import Path

import numpy as np

__all__ = ["CellStore", "DamagedCellError", "DamagedCellWarning", "cell_key"]

#: Version of the cell file layout; files of another version are not trusted.
FORMAT = 2


class DamagedCellWarning(UserWarning):
    """A stored cell could not be trusted; it was moved aside and is recomputed."""


class DamagedCellError(ValueError):
    """A stored cell is unreadable, fails its checksum or holds another cell's spec."""


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value


def _canonical(value) -> str:
    return json.dumps(_jsonable(value), sort_keys=True)


def cell_key(spec: dict) -> str:
    """A short stable hash of everything that determines a cell's result.

    Parameters
    ----------
    spec : dict
        The cell's specification (see :func:`iter_cells`).
    """
    return hashlib.sha256(_canonical(spec).encode()).hexdigest()[:16]


def _checksum(spec, result) -> str:
    return hashlib.sha256(_canonical({"spec": spec, "result": result}).encode()).hexdigest()


def write_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file moved into place.

    The temporary file is created with the usual permissions (``0o666`` less the umask,
    like any other output), flushed to disk, then renamed over ``path``: a reader sees
    the old file or the whole new one, never a part.
    """
    path = Path(path)
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise


class CellStore:
    """A folder of finished cells, one JSON file each, named by the hash of their spec.

    A cell is written to a temporary file in the same folder and moved into place with
    ``os.replace``, so an interrupted run leaves either the whole cell or nothing. A cell
    whose spec changed has another hash, so old results never mix with a new configuration.

    Every file holds its spec, its result, a SHA-256 checksum of both and, apart from
    them, the wall-clock seconds the cell took. :meth:`get` checks all of it: a file that
    is not valid JSON, fails its checksum or holds another spec than the one asked for
    is named in a :class:`DamagedCellWarning`, moved to ``damaged/`` and treated as
    missing, so the cell is computed again.

    Parameters
    ----------
    folder : str or Path

    Examples
    --------
    >>> import tempfile
    >>> from skfedmia.experiments import CellStore
    >>> store = CellStore(tempfile.mkdtemp())
    >>> spec = {"kind": "centralized", "n_classes": 10, "seed": 0}
    >>> store.has(spec)
    False
    >>> store.save(spec, {"test_accuracy": 0.8}, seconds=1.5)["result"]
    {'test_accuracy': 0.8}
    >>> store.get(spec)["result"]["test_accuracy"]
    0.8
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, spec: dict) -> Path:
        """Where the cell of ``spec`` is stored.

        Parameters
        ----------
        spec : dict
            The cell's specification.
        """
        return self.folder / f"{spec.get('kind', 'cell')}-{cell_key(spec)}.json"

    def has(self, spec: dict) -> bool:
        """Whether a file exists for ``spec`` (not whether it is sound; see :meth:`get`).

        Parameters
        ----------
        spec : dict
            The cell's specification.
        """
        return self.path(spec).exists()

    def load(self, spec: dict) -> dict:
        """The verified record of ``spec``.

        Parameters
        ----------
        spec : dict
            The cell's specification.

        Raises
        ------
        FileNotFoundError
            If no cell is stored for ``spec``.
        DamagedCellError
            If the file is unreadable, fails its checksum or holds another spec.
        """
        path = self.path(spec)
        text = path.read_text(encoding="utf-8")
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DamagedCellError(f"{path}: not valid JSON ({exc}).") from None
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise DamagedCellError(f"{path}: not a cell file of format {FORMAT}.")
        if record.get("checksum") != _checksum(record.get("spec"), record.get("result")):
            raise DamagedCellError(f"{path}: checksum mismatch.")
        if _canonical(record["spec"]) != _canonical(spec):
            raise DamagedCellError(f"{path}: holds the result of another cell.")
        return record

    def get(self, spec: dict) -> dict | None:
        """The verified record of ``spec``, or ``None`` if it must be computed.

        A damaged file is moved to ``damaged/`` inside the store's folder, with a
        :class:`DamagedCellWarning` naming it.

        Parameters
        ----------
        spec : dict
            The cell's specification.
        """
        try:
            return self.load(spec)
        except FileNotFoundError:
            return None
        except DamagedCellError as exc:
            moved = self._move_aside(self.path(spec))
            warnings.warn(
                f"damaged cell {exc} Moved to {moved}; it is computed again.",
                DamagedCellWarning,
                stacklevel=2,
            )
            return None

    def _move_aside(self, path: Path) -> Path:
        folder = self.folder / "damaged"
        folder.mkdir(exist_ok=True)
        dest = folder / path.name
        n = 1
        while dest.exists():
            dest = folder / f"{path.stem}.{n}{path.suffix}"
            n += 1
        os.replace(path, dest)
        return dest

    def save(self, spec: dict, result: dict, *, seconds: float | None = None) -> dict:
        """Store the result of ``spec`` atomically and return its record.

        Parameters
        ----------
        spec : dict
            The cell's specification.
        result : dict
            What the cell computed.
        seconds : float, default=None
            How long the cell took, kept beside the result and outside its checksum.
        """
        spec, result = _jsonable(spec), _jsonable(result)
        record = {
            "format": FORMAT,
            "spec": spec,
            "result": result,
            "checksum": _checksum(spec, result),
            "seconds": None if seconds is None else float(seconds),
        }
        write_atomic(self.path(spec), json.dumps(record, indent=1))
        return record


def coverage_lines(expected, records, *, by, covers) -> list:
    """Report lines saying on how many of a configuration's cells the results rest.

    Parameters
    ----------
    expected : list of dict
        The specs of every cell of the configuration.
    records : list of dict
        The stored cells the report is written from (each with its ``spec``).
    by : str
        Spec field by which the missing cells are counted (e.g. ``"kind"``).
    covers : str
        What of the report covers only the stored cells, e.g. ``"table and verdict"``.

    Returns
    -------
    lines : list of str
        A sentence and a blank line.
    """
    present = {cell_key(r["spec"]) for r in records}
    missing = [spec for spec in expected if cell_key(spec) not in present]
    if not missing:
        return [f"All {len(expected)} cells of the configuration are computed.", ""]
    counts = {}
    for spec in missing:
        counts[spec[by]] = counts.get(spec[by], 0) + 1
    listed = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
    return [
        f"**Partial run: these results rest on {len(expected) - len(missing)} of the "
        f"configuration's {len(expected)} cells** ({listed} not yet computed). Every "
        f"{covers} below covers only the stored cells; running the same command again "
        "computes the rest and reuses these.",
        "",
    ]
