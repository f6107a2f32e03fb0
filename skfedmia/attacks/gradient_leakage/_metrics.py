"""Scores of a reconstruction after matching reconstructed to true records."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["match_records", "reconstruction_scores", "tabular_scores"]


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


def _field_errors(R, T, layout, scale, tolerance):
    """Per field: 1 where a reconstructed record gets the field wrong (R, T aligned)."""
    wrong = [R[:, g].argmax(1) != T[:, g].argmax(1) for g in layout.categorical]
    c = layout.continuous
    if c:
        wrong.extend((np.abs(R[:, c] - T[:, c]) > tolerance * scale).T)
    return np.stack(wrong, 1).astype(np.float64)


def _tabular_cost(X_rec, X_true, layout, scale, tolerance):
    cost = np.zeros((len(X_rec), len(X_true)))
    for g in layout.categorical:
        cost += X_rec[:, g].argmax(1)[:, None] != X_true[:, g].argmax(1)[None, :]
    for j, col in enumerate(layout.continuous):
        dist = np.abs(X_rec[:, col][:, None] - X_true[:, col][None, :]) / scale[j]
        # a wrong field costs 1; the distance only orders near misses
        cost += (dist > tolerance) + 0.01 * np.minimum(dist, 10.0)
    return cost


def tabular_scores(
    X_rec,
    X_true,
    layout,
    *,
    y_rec=None,
    y_true=None,
    X_reference=None,
    tolerance=0.25,
    confidence=None,
    n_draws=20,
    random_state=None,
):
    """Feature accuracy of reconstructed mixed-type records, beside random records.

    Reconstructed and true records are paired by the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``) on the number of wrong features. A
    categorical feature is right when the reconstructed group's largest column is the
    true category; a continuous one when it lies within ``tolerance`` standard deviations
    (of the reference data) of the true value. ``accuracy`` is the share of right
    features over all matched records; ``random_accuracy`` is the same for records drawn
    at random from ``X_reference`` (plausible records, matched the same way, averaged
    over ``n_draws`` draws) and ``mode_accuracy`` for the most frequent category and the
    median of every column.

    Parameters
    ----------
    X_rec : array-like of shape (n_rec, n_features)
    X_true : array-like of shape (n_true, n_features)
    layout : ColumnLayout
    y_rec, y_true : array-like, default=None
        Labels, for ``label_accuracy`` after matching.
    X_reference : array-like of shape (n_reference, n_features), default=None
        Records from the same distribution (the attacker's public data); ``X_true``
        when ``None``.
    tolerance : float, default=0.25
        Tolerance of continuous features, in standard deviations.
    confidence : array-like of shape (n_rec, n_fields), default=None
        Per-feature confidence of the reconstruction; gives ``confidence_auc``, the
        probability that a right feature is more confident than a wrong one.
    n_draws : int, default=20
        Draws of random records for the baseline.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    scores : dict of str -> float

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.attacks.gradient_leakage import ColumnLayout, tabular_scores
    >>> layout = ColumnLayout(3, categorical=[[0, 1]], continuous=[2])
    >>> X = np.array([[1, 0, 0.0], [0, 1, 5.0]])
    >>> s = tabular_scores(X[::-1], X, layout)
    >>> s["accuracy"], s["categorical_accuracy"], s["exact_row_rate"]
    (1.0, 1.0, 1.0)
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.utils import check_random_state

    X_rec = np.asarray(X_rec, dtype=np.float64)
    X_true = np.asarray(X_true, dtype=np.float64)
    for name, A in (("X_rec", X_rec), ("X_true", X_true)):
        if A.ndim != 2 or A.shape[1] != layout.n_features:
            raise ValueError(
                f"{name} must have {layout.n_features} columns as the layout declares, "
                f"got shape {A.shape}."
            )
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}.")
    ref = X_true if X_reference is None else np.asarray(X_reference, dtype=np.float64)
    c = layout.continuous
    scale = np.maximum(ref[:, c].std(0), 1e-12) if c else np.zeros(0)

    def matched_errors(A):
        cost = _tabular_cost(A, X_true, layout, scale, tolerance)
        if y_rec is not None and y_true is not None and A is X_rec:
            cost = cost + 0.25 * (np.asarray(y_rec)[:, None] != np.asarray(y_true)[None, :])
        r, t = linear_sum_assignment(cost)
        return r, t, _field_errors(A[r], X_true[t], layout, scale, tolerance)

    rec_idx, true_idx, err = matched_errors(X_rec)
    n_cat = layout.n_categorical
    scores = {
        "n_matched": float(len(rec_idx)),
        "accuracy": float(1 - err.mean()),
        "categorical_accuracy": float(1 - err[:, :n_cat].mean()) if n_cat else float("nan"),
        "continuous_accuracy": float(1 - err[:, n_cat:].mean()) if c else float("nan"),
        "exact_row_rate": float((err.sum(1) == 0).mean()),
    }
    rng = check_random_state(random_state)
    draws = []
    for _ in range(int(n_draws)):
        pick = ref[rng.randint(len(ref), size=len(X_rec))]
        draws.append(1 - matched_errors(pick)[2].mean())
    scores["random_accuracy"] = float(np.mean(draws))
    mode = np.zeros(layout.n_features)
    for g in layout.categorical:
        mode[g[int(ref[:, g].sum(0).argmax())]] = 1.0
    if c:
        mode[c] = np.median(ref[:, c], 0)
    mode_err = _field_errors(np.tile(mode, (len(X_true), 1)), X_true, layout, scale, tolerance)
    scores["mode_accuracy"] = float(1 - mode_err.mean())
    if confidence is not None:
        conf = np.asarray(confidence, dtype=np.float64)
        if conf.shape != (len(X_rec), layout.n_fields):
            raise ValueError(
                f"confidence must have shape ({len(X_rec)}, {layout.n_fields}), got {conf.shape}."
            )
        right = 1 - err.ravel()
        if 0 < right.sum() < right.size:
            scores["confidence_auc"] = float(roc_auc_score(right, conf[rec_idx].ravel()))
    if y_rec is not None and y_true is not None:
        y_rec, y_true = np.asarray(y_rec), np.asarray(y_true)
        scores["label_accuracy"] = float((y_rec[rec_idx] == y_true[true_idx]).mean())
    return scores
