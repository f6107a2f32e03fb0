"""Finished experiment cells on disk: written atomically, found again on a re-run."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["CellStore", "cell_key"]


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


def cell_key(spec: dict) -> str:
    """A short stable hash of everything that determines a cell's result."""
    text = json.dumps(_jsonable(spec), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class CellStore:
    """A folder of finished cells, one JSON file each, named by the hash of their spec.

    A cell is written to a temporary file in the same folder and moved into place with
    ``os.replace``, so an interrupted run leaves either the whole cell or nothing. A cell
    whose spec changed has another hash, so old results never mix with a new configuration.

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
    >>> store.save(spec, {"test_accuracy": 0.8})["result"]
    {'test_accuracy': 0.8}
    >>> store.load(spec)["result"]["test_accuracy"]
    0.8
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, spec: dict) -> Path:
        return self.folder / f"{spec.get('kind', 'cell')}-{cell_key(spec)}.json"

    def has(self, spec: dict) -> bool:
        return self.path(spec).exists()

    def load(self, spec: dict) -> dict:
        with open(self.path(spec), encoding="utf-8") as fh:
            return json.load(fh)

    def save(self, spec: dict, result: dict) -> dict:
        record = {"spec": _jsonable(spec), "result": _jsonable(result)}
        target = self.path(spec)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return record
