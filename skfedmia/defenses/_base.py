"""Shared machinery of the update defenses."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from ..utils._validation import check_params

__all__ = ["BaseDefense", "NoiseModel"]


@dataclass(frozen=True)
class NoiseModel:
    """What an attacker assumes about a defended update.

    Each parameter is kept as the attribute of the same name.

    Parameters
    ----------
    noise : {"gaussian", "laplace"} or None, default=None
        Distribution of the additive noise, ``None`` for none.
    scale : float, default=0.0
        Standard deviation (Gaussian) or scale ``b`` (Laplace) of the noise.
    clip_norm : float or None, default=None
        L2 norm the update was clipped to before the noise, ``None`` for no clipping.
    pruned : bool, default=False
        Whether coordinates were set to zero *after* any noise.
    prune_rule : {"magnitude", "random"} or None, default=None
        How the zeroed coordinates were chosen: the smallest in magnitude (a zero then
        says the coordinate was at most the smallest one kept) or at random (a zero is
        either a pruned coordinate or one that was zero already).
    prune_fraction : float, default=0.0
        Share of coordinates the pruning set to zero.
    per_example_clip : bool, default=False
        Whether ``clip_norm`` bounds every record's gradient (DP-SGD) rather than the
        whole update; the noise of ``scale`` is then added to the *sum* of the clipped
        per-record gradients, so the mean gradient carries ``scale / batch_size``.
    """

    noise: str | None = None
    scale: float = 0.0
    clip_norm: float | None = None
    pruned: bool = False
    prune_rule: str | None = None
    prune_fraction: float = 0.0
    per_example_clip: bool = False


class BaseDefense(BaseEstimator, metaclass=ABCMeta):
    """Base class of the defenses applied to the flat parameter update a node sends on.

    Subclasses store their parameters in ``__init__`` untouched, declare them in
    ``_parameter_constraints`` (checked at every public call), implement ``_apply`` on a
    1-D torch tensor, and ``_noise_model`` describing the defense to an attacker.
    """

    _parameter_constraints: dict = {}

    def apply(self, update, random_state=None):
        """Return the defended copy of a flat update.

        Parameters
        ----------
        update : 1-D torch.Tensor or array-like
            Flat parameter update (or gradient). A torch tensor stays on its device and
            dtype; anything else is returned as a numpy array.
        random_state : int, RandomState instance or None, default=None
            Seeds the randomness of the defense (noise, random pruning).

        Returns
        -------
        defended : same type as ``update``
            The defended update; ``update`` itself is left unchanged.
        """
        self._check_params()
        if isinstance(update, torch.Tensor):
            tensor, as_numpy, dtype = update.detach(), False, None
            if not torch.is_floating_point(tensor):
                tensor = tensor.double()
        else:
            array = np.asarray(update)
            if array.dtype.kind not in "biuf":
                raise ValueError(f"update must be numeric, got dtype {array.dtype}.")
            dtype = array.dtype if array.dtype.kind == "f" else np.float64
            tensor, as_numpy = torch.as_tensor(array.astype(dtype, copy=True)), True
        if tensor.ndim != 1:
            raise ValueError(
                f"update must be a 1-D (flat) parameter update, got shape {tuple(tensor.shape)}."
            )
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError("update contains NaN or infinite values.")
        rng = check_random_state(random_state)
        out = self._apply(tensor.clone(), rng)
        if as_numpy:
            return out.cpu().numpy().astype(dtype, copy=False)
        return out

    def noise_model(self):
        """Describe this defense to an attacker that models it.

        Returns
        -------
        model : NoiseModel
        """
        self._check_params()
        return self._noise_model()

    def _check_params(self):
        check_params(self)

    # -- to be implemented -------------------------------------------------------------
    @abstractmethod
    def _apply(self, update, rng):
        """Defend a 1-D torch tensor (a copy the caller owns) with numpy generator ``rng``."""

    def _noise_model(self):
        return NoiseModel()


def _draw(rng, kind, size, like):
    """Draw noise with a numpy generator and move it to ``like``'s device and dtype."""
    if kind == "normal":
        values = rng.standard_normal(size)
    elif kind == "laplace":
        values = rng.laplace(0.0, 1.0, size)
    else:
        values = rng.random_sample(size)
    return torch.as_tensor(values, dtype=like.dtype, device=like.device)
