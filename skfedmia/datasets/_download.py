"""Fetch a file once, verify its SHA-256 digest, and write it atomically."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import urllib.request
import warnings
from pathlib import Path

from ._base import ChecksumError

__all__ = ["fetch_file", "sha256_of"]

_CHUNK = 1 << 20


def sha256_of(path_or_bytes) -> str:
    """Hex SHA-256 digest of a file (read in chunks) or of a bytes object."""
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        return hashlib.sha256(path_or_bytes).hexdigest()
    digest = hashlib.sha256()
    with open(path_or_bytes, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_file(url, dest, *, sha256=None, timeout=60.0) -> Path:
    """Download ``url`` to ``dest`` unless ``dest`` exists; return ``dest``.

    The bytes go to a temporary file in ``dest``'s folder, which is renamed to ``dest``
    (``os.replace``, atomic on one file system) only after the transfer is complete (as many
    bytes as the server's ``Content-Length``) and its SHA-256 digest equals ``sha256``. On any
    failure the temporary file is removed, so a half-written file is never taken for data.

    Parameters
    ----------
    url : str
        Address to fetch (``urllib``: http, https, file).
    dest : path-like
        Final path; its folder is created if needed.
    sha256 : str or None, default=None
        Expected hex digest. None accepts any content but warns, naming the digest received.
    timeout : float, default=60.0
        Socket timeout in seconds.

    Raises
    ------
    ChecksumError
        The content's digest differs from ``sha256``.
    OSError
        The transfer failed or was incomplete (``ConnectionError``), or the file could not be
        written.
    """
    dest = Path(dest)
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    expected = response.headers.get("Content-Length")
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
            except http.client.IncompleteRead as exc:
                raise ConnectionError(
                    f"Download of {url} is incomplete: the connection closed after "
                    f"{received + len(exc.partial)} bytes ({exc}). Nothing was kept; try again."
                ) from exc
            except http.client.HTTPException as exc:
                raise ConnectionError(f"Download of {url} failed: {exc!r}.") from exc
            if expected is not None and received != int(expected):
                raise ConnectionError(
                    f"Download of {url} is incomplete: received {received} of {expected} "
                    "bytes. Nothing was kept; try again."
                )
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if sha256 is not None and got != sha256:
            raise ChecksumError(
                f"Checksum mismatch for {url}: expected sha256 {sha256}, got {got}. "
                "The download was discarded."
            )
        if sha256 is None:
            warnings.warn(
                f"No checksum is recorded for {url}; kept it unverified (sha256 {got}).",
                UserWarning,
                stacklevel=3,
            )
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return dest
