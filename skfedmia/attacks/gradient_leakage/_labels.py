"""Label recovery from the gradient of the last layer's bias."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["recover_label_counts"]


def recover_label_counts(bias_grad, batch_size, mean_proba, unknown_scale=False):
    """Label counts of a batch from the softmax cross-entropy bias gradient.

    With mean reduction the bias gradient is ``(sum_i p_i - counts) / batch_size``, so
    ``counts = batch_size * (mean_proba - bias_grad)`` where ``mean_proba`` estimates the
    mean softmax output on the batch. The estimate is rounded to integers summing to
    ``batch_size`` (largest remainders).

    Parameters
    ----------
    bias_grad : array-like of shape (n_classes,)
    batch_size : int
    mean_proba : array-like of shape (n_classes,)
    unknown_scale : bool, default=False
        The gradient may have been scaled down by an unknown factor (norm clipping):
        the factor is then chosen so that the count estimates are closest to integers.

    Returns
    -------
    counts : ndarray of shape (n_classes,), int64

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.attacks.gradient_leakage import recover_label_counts
    >>> p = np.full(3, 1 / 3)
    >>> g = (4 * p - np.array([1, 3, 0])) / 4
    >>> recover_label_counts(g, 4, p)
    array([1, 3, 0])
    """
    g = np.asarray(
        bias_grad.detach().cpu() if isinstance(bias_grad, torch.Tensor) else bias_grad,
        dtype=np.float64,
    )
    p = np.asarray(mean_proba, dtype=np.float64)
    if batch_size == 1:
        counts = np.zeros(g.shape[0], dtype=np.int64)
        counts[int(np.argmin(g))] = 1
        return counts
    if unknown_scale:
        g = g * _scale_from_integrality(g, batch_size, p)
    est = np.clip(batch_size * (p - g), 0, None)
    total = est.sum()
    if total > 0:
        # noise can make the estimates add up to more or less than the batch: keep their
        # proportions, then round by largest remainders so the counts sum to batch_size
        est = est * (batch_size / total)
    counts = np.floor(est).astype(np.int64)
    rest = int(batch_size - counts.sum())
    counts[np.argsort(-(est - counts), kind="stable")[:rest]] += 1
    return counts


def _scale_from_integrality(g, batch_size, p):
    """Factor ``u >= 1`` making ``batch_size * (p - u * g)`` closest to whole numbers."""

    def residual(u):
        est = batch_size * (p[None, :] - u[:, None] * g[None, :])
        frac = est - np.round(est)
        return (frac**2).sum(1) + (np.clip(-est, 0, None) ** 2).sum(1)

    grid = np.geomspace(1.0, 1e4, 20001)
    best = grid[int(np.argmin(residual(grid)))]
    fine = np.linspace(best / 1.001, best * 1.001, 2001)
    return float(fine[int(np.argmin(residual(fine)))])
