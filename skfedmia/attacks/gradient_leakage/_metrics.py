"""Scores of a reconstruction after matching reconstructed to true records."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["match_records", "reconstruction_scores"]


def _is_binary(X):
    return bool(np.isin(X, (0.0, 1.0)).all())


def match_records(X_rec, X_true, y_rec=None, y_true=None):
    """Pair reconstructed with true records (Hungarian algorithm).

    The cost is the Hamming distance for binary data and the squared Euclidean distance
    otherwise; a label disagreement adds half a unit, which only breaks ties.

    Parameters
    ----------
    X_rec : array-like of shape (n_rec, n_features)
    X_true : array-like of shape (n_true, n_features)
    y_rec, y_true : array-like of shape (n_rec,) and (n_true,), default=None

    Returns
    -------
    rec_idx, true_idx : ndarray of int
        ``X_rec[rec_idx[k]]`` is matched to ``X_true[true_idx[k]]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.attacks.gradient_leakage import match_records
    >>> match_records(np.array([[0, 1], [1, 0]]), np.array([[1, 0], [0, 1]]))
    (array([0, 1]), array([1, 0]))
    """
    X_rec = np.asarray(X_rec, dtype=np.float64)
    X_true = np.asarray(X_true, dtype=np.float64)
    if X_rec.ndim != 2 or X_true.ndim != 2 or X_rec.shape[1] != X_true.shape[1]:
        raise ValueError(
            f"X_rec and X_true must be 2-D with equal widths, got {X_rec.shape} and {X_true.shape}."
        )
    if _is_binary(X_rec) and _is_binary(X_true):
        cost = X_rec @ (1 - X_true).T + (1 - X_rec) @ X_true.T
    else:
        cost = (X_rec**2).sum(1)[:, None] + (X_true**2).sum(1)[None, :] - 2 * X_rec @ X_true.T
    if y_rec is not None and y_true is not None:
        cost = cost + 0.5 * (np.asarray(y_rec)[:, None] != np.asarray(y_true)[None, :])
    return linear_sum_assignment(cost)


def _prf(pred, true):
    tp = float((pred * true).sum())
    fp = float((pred * (1 - true)).sum())
    fn = float(((1 - pred) * true).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    return precision, recall, f1


def reconstruction_scores(X_rec, X_true, y_rec=None, y_true=None, X_reference=None):
    """Quality of reconstructed records, with the trivial baselines beside it.

    Records are matched first (:func:`match_records`). For binary data: ``accuracy``
    (share of bits right), ``precision`` / ``recall`` / ``f1`` on the 1-bits and
    ``exact_row_rate``; for continuous data ``mse``. Baselines: all zeros
    (``zeros_*``) and the per-feature majority value of the marginals
    (``marginal_*``, from ``X_reference`` when given, else from ``X_true``) for binary
    data; the feature means (``mean_mse``) for continuous data. With labels:
    ``label_accuracy`` after matching and ``label_count_error`` (records whose label
    cannot be paired by counts, ``sum(|counts_rec - counts_true|) / 2``).

    Parameters
    ----------
    X_rec : array-like of shape (n_rec, n_features)
    X_true : array-like of shape (n_true, n_features)
    y_rec, y_true : array-like, default=None
    X_reference : array-like of shape (n_reference, n_features), default=None
        Public data whose marginals give the marginal baseline.

    Returns
    -------
    scores : dict of str -> float

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.attacks.gradient_leakage import reconstruction_scores
    >>> X = np.array([[1, 0, 0, 0], [0, 1, 0, 0]])
    >>> reconstruction_scores(X[::-1], X)["f1"]
    1.0
    """
    X_rec = np.asarray(X_rec, dtype=np.float64)
    X_true = np.asarray(X_true, dtype=np.float64)
    rec_idx, true_idx = match_records(X_rec, X_true, y_rec, y_true)
    R, T = X_rec[rec_idx], X_true[true_idx]
    scores = {"n_matched": float(len(rec_idx))}
    ref = X_true if X_reference is None else np.asarray(X_reference, dtype=np.float64)
    if _is_binary(X_true):
        pred = (R >= 0.5).astype(np.float64)
        p, r, f = _prf(pred, T)
        scores.update(
            accuracy=float((pred == T).mean()),
            precision=p,
            recall=r,
            f1=f,
            exact_row_rate=float((pred == T).all(1).mean()),
        )
        zeros = np.zeros_like(T)
        scores.update(zeros_accuracy=float((zeros == T).mean()), zeros_f1=_prf(zeros, T)[2])
        mode = np.broadcast_to((ref.mean(0) >= 0.5).astype(np.float64), T.shape)
        scores.update(marginal_accuracy=float((mode == T).mean()), marginal_f1=_prf(mode, T)[2])
    else:
        scores.update(
            mse=float(((R - T) ** 2).mean()),
            mean_mse=float(((ref.mean(0) - T) ** 2).mean()),
        )
    if y_rec is not None and y_true is not None:
        y_rec, y_true = np.asarray(y_rec), np.asarray(y_true)
        scores["label_accuracy"] = float((y_rec[rec_idx] == y_true[true_idx]).mean())
        classes = np.union1d(y_rec, y_true)
        c_rec = np.array([(y_rec == c).sum() for c in classes])
        c_true = np.array([(y_true == c).sum() for c in classes])
        scores["label_count_error"] = float(np.abs(c_rec - c_true).sum() / 2)
    return scores
