"""Loaders of the membership-inference benchmark files as their authors publish them.

Shokri et al. (2017) published Location, Purchases and Texas as gzipped tar archives; each
holds comma-separated text with a class label (1-based, Location's in double quotes) followed
by binary features, Texas with features and labels in two files. The loaders read an archive
or its extracted content, from an explicit path or from the data home, and can download the
archive once. Like scikit-learn's ``fetch_*`` functions they return a
:class:`~sklearn.utils.Bunch` unless ``return_X_y=True``. Finding the files is
:mod:`._files`' job, parsing them :mod:`._parse`'s.
"""

from __future__ import annotations

import numbers
import os

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ._files import (
    LOCATION,
    LOCATION_URL,
    PURCHASE,
    PURCHASE_URL,
    TEXAS,
    TEXAS_URL,
    _locate,
    _read_members,
)
from ._parse import _finish, _parse_features, _parse_int_tokens, _zero_based
from ._purchases import relabel_kmeans

__all__ = ["load_location", "load_purchases", "load_texas"]

_COMMON_CONSTRAINTS = {
    "path": [str, os.PathLike, None],
    "data_home": [str, os.PathLike, None],
    "download": ["boolean"],
    "checksum": ["boolean"],
    "return_X_y": ["boolean"],
    "as_frame": ["boolean"],
}


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
    return_X_y : bool, default=False
        If True, return ``(X, y)``; else (the default, as in scikit-learn) a
        :class:`~sklearn.utils.Bunch` with ``data``, ``target``, ``feature_names``,
        ``target_names``, ``frame`` and ``DESCR``.
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


@validate_params(_COMMON_CONSTRAINTS, prefer_skip_nested_validation=True)
def load_location(
    *, path=None, data_home=None, download=False, checksum=True, return_X_y=False, as_frame=False
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
    data : :class:`~sklearn.utils.Bunch`
        ``data``: features, ndarray of shape (5010, 446), float32; ``target``:
        labels, ndarray of shape (5010,), int64. Classes ``0 .. 29``. Also ``feature_names``,
        ``target_names``, ``frame`` and ``DESCR``.
    (X, y) : tuple of ndarray
        The same ``data`` and ``target``, when ``return_X_y=True``.

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
    >>> X, y = load_location(path="dataset_location.tgz", return_X_y=True)  # doctest: +SKIP
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


@validate_params(
    {
        "n_classes": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        **_COMMON_CONSTRAINTS,
    },
    prefer_skip_nested_validation=True,
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
    return_X_y=False,
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
    data : :class:`~sklearn.utils.Bunch`
        ``data``: features, ndarray of shape (n_samples, 600), float32; ``target``:
        labels, ndarray of shape (n_samples,), int64. Also ``feature_names``,
        ``target_names``, ``frame`` and ``DESCR``.
    (X, y) : tuple of ndarray
        The same ``data`` and ``target``, when ``return_X_y=True``.

    See Also
    --------
    make_purchases : A built-in, offline Purchases-like generator.

    Examples
    --------
    >>> from skfedmia.datasets import load_purchases
    >>> X, y = load_purchases(n_classes=20, n_samples=10_000, return_X_y=True)  # doctest: +SKIP
    """
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


@validate_params(_COMMON_CONSTRAINTS, prefer_skip_nested_validation=True)
def load_texas(
    *, path=None, data_home=None, download=False, checksum=True, return_X_y=False, as_frame=False
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
    data : :class:`~sklearn.utils.Bunch`
        ``data``: features, ndarray of shape (67330, 6169), float32; ``target``:
        labels, ndarray of shape (67330,), int64. Also ``feature_names``,
        ``target_names``, ``frame`` and ``DESCR``.
    (X, y) : tuple of ndarray
        The same ``data`` and ``target``, when ``return_X_y=True``.

    Examples
    --------
    >>> from skfedmia.datasets import load_texas
    >>> bunch = load_texas(path="dataset_texas.tgz")  # doctest: +SKIP
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
