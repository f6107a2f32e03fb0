"""Shared pieces of the datasets package: the data home, output formatting, exceptions."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["ChecksumError", "clear_data_home", "get_data_home"]

#: Environment variable naming the data home (see :func:`get_data_home`).
DATA_HOME_ENV = "SKFEDMIA_DATA"


class ChecksumError(ValueError):
    """A data file's SHA-256 digest differs from the published one.

    Raised by the loaders when a known file is damaged, truncated or not the published one,
    and by ``download=True`` when the transfer did not give the published bytes (then no file
    is kept). Pass ``checksum=False`` to a loader to read a file you re-packed on purpose.
    """


def get_data_home(data_home=None) -> Path:
    """Return the folder where skfedmia looks for (and downloads) data files.

    The first of these that is set wins:

    1. the ``data_home`` argument;
    2. the ``SKFEDMIA_DATA`` environment variable;
    3. ``$XDG_CACHE_HOME/skfedmia`` when ``XDG_CACHE_HOME`` is set, else
       ``~/.cache/skfedmia``.

    ``~`` is expanded. The folder is not created here; ``download=True`` creates it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit folder.

    Returns
    -------
    data_home : pathlib.Path

    Examples
    --------
    >>> from skfedmia.datasets import get_data_home
    >>> str(get_data_home("/tmp/my_data"))
    '/tmp/my_data'
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or None
    if data_home is None:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        data_home = os.path.join(cache, "skfedmia")
    return Path(os.fspath(data_home)).expanduser()


#: File that marks a folder as a data home skfedmia created (and so may delete).
DATA_HOME_MARKER = ".skfedmia-data-home"


def _make_data_home(home) -> Path:
    """Create the data home folder if needed, with the marker that lets it be cleared."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    marker = home / DATA_HOME_MARKER
    if not marker.exists():
        marker.write_text(
            "This folder was created by skfedmia to hold downloaded data sets;\n"
            "skfedmia.datasets.clear_data_home() may delete it.\n"
        )
    return home


def clear_data_home(data_home=None) -> None:
    """Delete the data home folder and everything in it (see :func:`get_data_home`).

    Only a folder that skfedmia created for downloads is deleted: it holds a marker file,
    ``.skfedmia-data-home``. An empty path, the current directory, the home directory, a
    filesystem root, a file, or a folder without the marker are refused with a
    ``ValueError`` and nothing is deleted. A data home that does not exist is left as is.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder to delete; the default data home when None.

    Raises
    ------
    ValueError
        When the folder is not one skfedmia may delete; the message says why.

    Examples
    --------
    >>> import os, tempfile
    >>> from skfedmia.datasets import clear_data_home
    >>> clear_data_home(os.getcwd())
    Traceback (most recent call last):
    ...
    ValueError: clear_data_home refuses to delete ...: it is the current directory.
    """
    if data_home is not None and not os.fspath(data_home).strip():
        raise ValueError(
            "clear_data_home needs a folder to delete; got an empty path, which would mean "
            "the current directory. Pass None for the default data home."
        )
    home = get_data_home(data_home)
    if not home.exists() and not home.is_symlink():
        return
    resolved = home.resolve()
    reasons = {
        Path.cwd().resolve(): "it is the current directory",
        Path.home().resolve(): "it is the home directory",
        Path(resolved.anchor): "it is a filesystem root",
    }
    why = reasons.get(resolved)
    if why is None and not resolved.is_dir():
        why = "it is not a folder"
    if why is None and Path.cwd().resolve().is_relative_to(resolved):
        why = "it holds the current directory"
    if why is None and not (resolved / DATA_HOME_MARKER).is_file():
        why = (
            f"skfedmia did not create it (it has no {DATA_HOME_MARKER} marker file); delete "
            "it yourself if that is what you mean"
        )
    if why is not None:
        raise ValueError(f"clear_data_home refuses to delete {str(home)!r}: {why}.")
    shutil.rmtree(resolved)


def _as_output(
    X,
    y,
    *,
    feature_names,
    target_names,
    descr,
    return_X_y,
    as_frame,
    target_name="target",
    extra=None,
):
    """Format ``(X, y)`` the way scikit-learn's dataset functions do.

    ``X`` becomes float32 and ``y`` int64. ``as_frame=True`` gives a DataFrame and a Series
    (without copying where pandas allows). ``return_X_y=False`` gives a Bunch with ``data``,
    ``target``, ``feature_names``, ``target_names``, ``frame``, ``DESCR`` and ``extra``.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    frame = None
    if as_frame:
        import pandas as pd

        X = pd.DataFrame(X, columns=list(feature_names), copy=False)
        y = pd.Series(y, name=target_name)
        if not return_X_y:
            frame = pd.concat([X, y], axis=1)
    if return_X_y:
        return X, y
    bunch = Bunch(
        data=X,
        target=y,
        feature_names=np.asarray(feature_names, dtype=object),
        target_names=np.asarray(target_names) if target_names is not None else None,
        frame=frame,
        DESCR=descr,
    )
    if extra:
        bunch.update(extra)
    return bunch
