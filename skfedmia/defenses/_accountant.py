"""Privacy accounting through the ``dp_accounting`` library."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["compute_epsilon", "ACCOUNTANTS"]

#: Accountant names accepted by :func:`compute_epsilon`.
ACCOUNTANTS = ("rdp", "pld")


def compute_epsilon(noise_multiplier, sample_rate, n_steps, delta=1e-5, accountant="rdp"):
    """Epsilon of ``n_steps`` Poisson-subsampled Gaussian mechanisms (DP-SGD).

    Parameters
    ----------
    noise_multiplier : float
        Noise standard deviation divided by the clipping norm (sensitivity).
    sample_rate : float
        Probability in ``(0, 1]`` that a record takes part in a step (batch size over
        data size for DP-SGD; 1.0 for a node that sends every round).
    n_steps : int
        Number of mechanisms composed.
    delta : float, default=1e-5
        Target delta in ``(0, 1)``.
    accountant : {"rdp", "pld"}, default="rdp"
        Renyi-DP accountant or privacy-loss-distribution accountant of ``dp_accounting``.

    Returns
    -------
    epsilon : float

    Examples
    --------
    >>> from skfedmia.defenses import compute_epsilon
    >>> eps = compute_epsilon(1.1, sample_rate=0.01, n_steps=1000, delta=1e-5)
    >>> 1.0 < eps < 2.0
    True
    """
    if not (isinstance(noise_multiplier, numbers.Real) and noise_multiplier >= 0):
        raise ValueError(f"noise_multiplier must be a number >= 0, got {noise_multiplier!r}.")
    if not (isinstance(sample_rate, numbers.Real) and 0 < sample_rate <= 1):
        raise ValueError(f"sample_rate must be a number in (0, 1], got {sample_rate!r}.")
    if not (isinstance(n_steps, numbers.Integral) and n_steps >= 0):
        raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}.")
    if not (isinstance(delta, numbers.Real) and 0 < delta < 1):
        raise ValueError(f"delta must be a number in (0, 1), got {delta!r}.")
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {list(ACCOUNTANTS)}, got {accountant!r}.")
    if n_steps == 0:
        return 0.0
    if noise_multiplier == 0:
        return float("inf")

    import dp_accounting
    from dp_accounting.pld import pld_privacy_accountant
    from dp_accounting.rdp import rdp_privacy_accountant

    event = dp_accounting.GaussianDpEvent(float(noise_multiplier))
    if sample_rate < 1:
        event = dp_accounting.PoissonSampledDpEvent(float(sample_rate), event)
    event = dp_accounting.SelfComposedDpEvent(event, int(n_steps))
    if accountant == "rdp":
        acc = rdp_privacy_accountant.RdpAccountant()
    else:
        acc = pld_privacy_accountant.PLDAccountant()
    acc.compose(event)
    return float(np.float64(acc.get_epsilon(float(delta))))
