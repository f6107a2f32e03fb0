"""Parsing the published benchmark files: comma-separated labels and binary features."""

from __future__ import annotations

import io

import numpy as np

from ._base import _as_output


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
