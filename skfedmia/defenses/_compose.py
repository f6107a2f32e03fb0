"""Chaining defenses."""

from __future__ import annotations

from ._base import BaseDefense, NoiseModel

__all__ = ["Compose"]


class Compose(BaseDefense):
    """Apply several defenses one after the other.

    Parameters
    ----------
    defenses : list of defense objects
        Applied in order; each must have an ``apply(update, random_state=...)`` method.

    Notes
    -----
    One random generator, seeded by ``random_state``, is passed through all steps, so
    the composition repeats exactly. For an attacker the composition is summarised by its
    last noise, its clipping norm, and whether pruning came after all noise (then zero
    coordinates of an observed update are known to carry nothing and are left out).

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia.defenses import ClipNorm, Compose, TopKSparsification
    >>> defense = Compose([ClipNorm(1.0), TopKSparsification(fraction=0.5)])
    >>> defense.apply(np.array([3.0, 0.0, 4.0, 0.0]))
    array([0.6, 0. , 0.8, 0. ])
    """

    _parameter_constraints: dict = {"defenses": [list, tuple]}

    def __init__(self, defenses=()):
        self.defenses = defenses

    def _check_params(self):
        super()._check_params()
        for i, step in enumerate(self.defenses):
            if not callable(getattr(step, "apply", None)):
                raise ValueError(
                    f"defenses[{i}] must be a defense object with an `apply` method, got {step!r}."
                )

    def _apply(self, update, rng):
        for step in self.defenses:
            update = step.apply(update, random_state=rng)
        return update

    def _noise_model(self):
        noise, scale, clip, pruned = None, 0.0, None, False
        rule, fraction = None, 0.0
        for step in self.defenses:
            part = step.noise_model() if hasattr(step, "noise_model") else NoiseModel()
            if part.clip_norm is not None and noise is None:
                clip = part.clip_norm if clip is None else min(clip, part.clip_norm)
            if part.noise is not None:
                noise, scale, pruned, rule, fraction = part.noise, part.scale, False, None, 0.0
            if part.pruned:
                # a second pruning keeps the first one's zeros: the rule of the last one
                # and the larger share describe what an attacker sees
                pruned, rule = True, part.prune_rule
                fraction = max(fraction, part.prune_fraction)
        return NoiseModel(
            noise=noise,
            scale=scale,
            clip_norm=clip,
            pruned=pruned,
            prune_rule=rule,
            prune_fraction=fraction,
        )
