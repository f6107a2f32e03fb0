"""Per-row signals of a model's output that membership attacks threshold or model.

Every function takes class probabilities (any float dtype) and returns float64 values,
higher meaning "more likely a member". They avoid the saturation of float32 probabilities:
``1 - p`` is computed as the sum of the other classes' probabilities, never by subtraction,
so confident predictions keep distinct scores.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SIGNALS", "compute_signal", "log_true_class_proba", "true_class_logit"]

_TINY = np.finfo(np.float64).tiny


def _split(proba, label_index):
    proba = np.asarray(proba, dtype=np.float64)
    rows = np.arange(len(proba))
    p_true = proba[rows, label_index]
    rest = proba.copy()
    rest[rows, label_index] = 0.0
    return proba, p_true, rest


def true_class_logit(proba, label_index):
    """Logit-scaled confidence in the true class, ``log p_y - log(sum_{j != y} p_j)``.

    The statistic of the likelihood-ratio attack (Carlini et al., 2022): nearly Gaussian
    across models for one example, and monotone in the loss ``-log p_y``.
    """
    _, p_true, rest = _split(proba, label_index)
    return np.log(np.maximum(p_true, _TINY)) - np.log(np.maximum(rest.sum(axis=1), _TINY))


def top_class_logit(proba):
    """Logit-scaled confidence in the predicted class (label-free)."""
    return true_class_logit(proba, np.asarray(proba).argmax(axis=1))


def negative_entropy(proba):
    """``sum_j p_j log p_j`` (Salem et al., 2019): confident outputs score high."""
    proba = np.asarray(proba, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(proba > 0, proba * np.log(np.maximum(proba, _TINY)), 0.0)
    return terms.sum(axis=1)


def negative_modified_entropy(proba, label_index):
    """Minus the modified entropy of Song & Mittal (2021), which uses the true label.

    ``Mentr = -(1 - p_y) log p_y - sum_{j != y} p_j log(1 - p_j)``; small for a confident,
    correct prediction, large for a confident wrong one.
    """
    _, p_true, rest = _split(proba, label_index)
    one_minus_true = rest.sum(axis=1)
    first = -one_minus_true * np.log(np.maximum(p_true, _TINY))
    second = -(rest * np.log1p(-np.minimum(rest, 1 - 1e-16))).sum(axis=1)
    return -(first + second)


SIGNALS = ("loss", "confidence", "entropy", "modified_entropy")


def compute_signal(name, proba, label_index):
    """One of :data:`SIGNALS` for each row (higher = more member-like)."""
    if name == "loss":
        # the logit-scaled true-class confidence ranks rows exactly as -loss does, but
        # keeps confident rows apart where float32 log p_y rounds to 0
        return true_class_logit(proba, label_index)
    if name == "confidence":
        return top_class_logit(proba)
    if name == "entropy":
        return negative_entropy(proba)
    if name == "modified_entropy":
        return negative_modified_entropy(proba, label_index)
    raise ValueError(f"signal must be one of {SIGNALS}, got {name!r}.")


def log_true_class_proba(proba, label_index):
    """``log p_y`` without saturation: ``-log1p(sum_{j != y} p_j / p_y)``.

    Distinct for confident rows whose float32 ``p_y`` rounds to 1 (then ``log p_y`` is
    about minus the other classes' total, not 0).
    """
    _, p_true, rest = _split(proba, label_index)
    return -np.log1p(rest.sum(axis=1) / np.maximum(p_true, _TINY))
