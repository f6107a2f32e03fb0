"""Clipping and additive noise on a flat update."""

from __future__ import annotations

import numbers

import torch
from sklearn.utils._param_validation import Interval

from ._accountant import compute_epsilon
from ._base import BaseDefense, NoiseModel, _draw

__all__ = ["ClipNorm", "GaussianNoise", "LaplaceNoise"]


def _clip(update, max_norm):
    norm = torch.linalg.vector_norm(update)
    if norm > max_norm:
        update = update * (max_norm / norm)
    return update


class ClipNorm(BaseDefense):
    """Scale an update down to an L2 norm of at most ``max_norm``.

    Parameters
    ----------
    max_norm : float
        Largest L2 norm the update may have.

    See Also
    --------
    GaussianNoise : Clipping followed by Gaussian noise.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.defenses import ClipNorm
    >>> ClipNorm(max_norm=1.0).apply(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    """

    _parameter_constraints: dict = {
        "max_norm": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(self, max_norm=1.0):
        self.max_norm = max_norm

    def _apply(self, update, rng):
        return _clip(update, self.max_norm)

    def _noise_model(self):
        return NoiseModel(clip_norm=float(self.max_norm))


class GaussianNoise(BaseDefense):
    """Add isotropic Gaussian noise to an update, optionally after clipping its norm.

    With ``clip_norm`` set this is the Gaussian mechanism of differential privacy on the
    whole update (one record set = one node), with noise multiplier
    ``sigma / clip_norm``; :meth:`epsilon` reports the privacy it buys.

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise added to every coordinate.
    clip_norm : float or None, default=None
        Clip the update to this L2 norm before adding noise; ``None`` leaves it unclipped.

    See Also
    --------
    LaplaceNoise, ClipNorm, DPSGD

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.defenses import GaussianNoise
    >>> noisy = GaussianNoise(sigma=0.1, clip_norm=1.0).apply(np.ones(4), random_state=0)
    >>> noisy.shape
    (4,)
    """

    _parameter_constraints: dict = {
        "sigma": [Interval(numbers.Real, 0, None, closed="left")],
        "clip_norm": [Interval(numbers.Real, 0, None, closed="neither"), None],
    }

    def __init__(self, sigma=0.01, clip_norm=None):
        self.sigma = sigma
        self.clip_norm = clip_norm

    def _apply(self, update, rng):
        if self.clip_norm is not None:
            update = _clip(update, self.clip_norm)
        if self.sigma > 0:
            update = update + self.sigma * _draw(rng, "normal", update.shape[0], update)
        return update

    def _noise_model(self):
        clip = None if self.clip_norm is None else float(self.clip_norm)
        return NoiseModel(noise="gaussian", scale=float(self.sigma), clip_norm=clip)

    def epsilon(self, n_releases=1, delta=1e-5, sample_rate=1.0, accountant="rdp"):
        """Privacy spent by ``n_releases`` defended updates, from a privacy accountant.

        Parameters
        ----------
        n_releases : int, default=1
            How many updates of the same node were released with this defense.
        delta : float, default=1e-5
            Target delta of the (epsilon, delta) guarantee.
        sample_rate : float, default=1.0
            Probability that the node takes part in a round (Poisson sampling).
        accountant : {"rdp", "pld"}, default="rdp"
            Accountant of the ``dp_accounting`` library.

        Returns
        -------
        epsilon : float
        """
        self._check_params()
        if self.clip_norm is None:
            raise ValueError("clip_norm must be set to report epsilon: noise alone bounds nothing.")
        if self.sigma == 0:
            return float("inf")
        return compute_epsilon(
            noise_multiplier=self.sigma / self.clip_norm,
            sample_rate=sample_rate,
            n_steps=n_releases,
            delta=delta,
            accountant=accountant,
        )


class LaplaceNoise(BaseDefense):
    """Add i.i.d. Laplace noise of scale ``b`` to every coordinate of an update.

    Parameters
    ----------
    scale : float
        Scale ``b`` of the Laplace distribution (standard deviation ``sqrt(2) * b``).

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.defenses import LaplaceNoise
    >>> LaplaceNoise(scale=0.01).apply(np.zeros(3), random_state=0).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "scale": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(self, scale=0.01):
        self.scale = scale

    def _apply(self, update, rng):
        if self.scale > 0:
            update = update + self.scale * _draw(rng, "laplace", update.shape[0], update)
        return update

    def _noise_model(self):
        return NoiseModel(noise="laplace", scale=float(self.scale))
