"""DP-SGD: per-example clipping and Gaussian noise on a batch gradient."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from torch.func import functional_call, grad, vmap

from ..utils._validation import check_params
from ._accountant import ACCOUNTANTS, compute_epsilon
from ._base import NoiseModel

__all__ = ["DPSGD"]


def _resolve_module(model):
    module = model if isinstance(model, nn.Module) else getattr(model, "module_", None)
    if not isinstance(module, nn.Module):
        raise ValueError(
            "model must be a torch.nn.Module or have a fitted torch module in `module_`, "
            f"got {type(model).__name__}."
        )
    return module


class DPSGD(BaseEstimator):
    """Differentially private batch gradients (Abadi et al., 2016).

    Every example's gradient is computed with ``torch.func.vmap(grad(...))``, clipped to
    L2 norm ``max_grad_norm`` over all parameters, summed, perturbed with Gaussian noise
    of standard deviation ``noise_multiplier * max_grad_norm`` and divided by the batch
    size. :meth:`epsilon` reports the privacy spent, from the ``dp_accounting`` library.

    Parameters
    ----------
    noise_multiplier : float, default=1.0
        Noise standard deviation relative to ``max_grad_norm``.
    max_grad_norm : float, default=1.0
        Per-example clipping norm.
    delta : float, default=1e-5
        Target delta for :meth:`epsilon`.
    accountant : {"rdp", "pld"}, default="rdp"
        Accountant used by :meth:`epsilon`.

    Attributes
    ----------
    n_steps_ : int
        Number of privatised gradients computed by :meth:`step` so far.

    See Also
    --------
    skfedmia.defenses.compute_epsilon, skfedmia.defenses.GaussianNoise

    Examples
    --------
    >>> import torch
    >>> from skfedmia.defenses import DPSGD
    >>> from skfedmia.neural_net import MLPModule
    >>> model = MLPModule(n_features=5, n_classes=2, hidden_layer_sizes=(4,))
    >>> dp = DPSGD(noise_multiplier=1.0, max_grad_norm=1.0)
    >>> X, y = torch.randn(8, 5), torch.tensor([0, 1] * 4)
    >>> grads = dp.privatize_gradient(model, X, y, random_state=0)
    >>> [tuple(g.shape) for g in grads][:2]
    [(4, 5), (4,)]
    >>> round(dp.epsilon(n_steps=100, sample_rate=0.1), 2) > 0
    True
    """

    _parameter_constraints: dict = {
        "noise_multiplier": [Interval(numbers.Real, 0, None, closed="left")],
        "max_grad_norm": [Interval(numbers.Real, 0, None, closed="neither")],
        "delta": [Interval(numbers.Real, 0, 1, closed="neither")],
        "accountant": [StrOptions(set(ACCOUNTANTS))],
    }

    def __init__(self, noise_multiplier=1.0, max_grad_norm=1.0, delta=1e-5, accountant="rdp"):
        self.noise_multiplier = noise_multiplier
        self.max_grad_norm = max_grad_norm
        self.delta = delta
        self.accountant = accountant

    def _check_params(self):
        check_params(self)

    def noise_model(self):
        """Describe the privatised gradient to an attacker that models it.

        Every record's gradient is clipped to ``max_grad_norm`` and Gaussian noise of
        standard deviation ``noise_multiplier * max_grad_norm`` is added to their sum, so
        the mean gradient a node sends carries noise ``scale / batch_size``.

        Returns
        -------
        model : NoiseModel
            ``noise="gaussian"`` (or ``None`` without noise), ``scale`` the standard
            deviation on the summed gradient, ``clip_norm=max_grad_norm`` and
            ``per_example_clip=True``.

        Examples
        --------
        >>> from skfedmia.defenses import DPSGD
        >>> nm = DPSGD(noise_multiplier=0.5, max_grad_norm=2.0).noise_model()
        >>> nm.noise, nm.scale, nm.clip_norm, nm.per_example_clip
        ('gaussian', 1.0, 2.0, True)
        """
        self._check_params()
        scale = float(self.noise_multiplier * self.max_grad_norm)
        return NoiseModel(
            noise="gaussian" if scale > 0 else None,
            scale=scale,
            clip_norm=float(self.max_grad_norm),
            per_example_clip=True,
        )

    def per_example_gradients(self, model, X, y, loss_fn=None):
        """Gradients of every example, stacked along a new first axis.

        Parameters
        ----------
        model : torch.nn.Module or object with ``module_``
        X : torch.Tensor of shape (n_samples, ...)
        y : torch.Tensor of shape (n_samples,)
        loss_fn : callable, default=None
            ``loss_fn(output, target)`` with mean reduction; cross-entropy on logits by
            default.

        Returns
        -------
        grads : list of torch.Tensor
            One tensor of shape ``(n_samples, *param.shape)`` per trainable parameter.
        """
        module = _resolve_module(model)
        loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
        names = [n for n, p in module.named_parameters() if p.requires_grad]
        params = {n: p.detach() for n, p in module.named_parameters() if p.requires_grad}
        buffers = {n: b.detach() for n, b in module.named_buffers()}
        device = next(module.parameters()).device
        X = torch.as_tensor(X, device=device)
        y = torch.as_tensor(y, device=device)
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X and y have {X.shape[0]} and {y.shape[0]} rows.")

        def one(p, x, t):
            out = functional_call(module, (p, buffers), (x.unsqueeze(0),))
            return loss_fn(out, t.unsqueeze(0))

        per = vmap(grad(one), in_dims=(None, 0, 0), randomness="different")(params, X, y)
        return [per[n] for n in names]

    def privatize_gradient(self, model, X, y, loss_fn=None, random_state=None):
        """Clipped, noised mean gradient of a batch.

        Parameters
        ----------
        model : torch.nn.Module or object with ``module_``
        X : torch.Tensor of shape (n_samples, ...)
        y : torch.Tensor of shape (n_samples,)
        loss_fn : callable, default=None
            See :meth:`per_example_gradients`.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise.

        Returns
        -------
        grads : list of torch.Tensor
            One tensor per trainable parameter, shaped like the parameter.
        """
        self._check_params()
        per = self.per_example_gradients(model, X, y, loss_fn=loss_fn)
        n = per[0].shape[0]
        norms = torch.sqrt(sum(g.reshape(n, -1).pow(2).sum(1) for g in per))
        factor = (self.max_grad_norm / (norms + 1e-12)).clamp(max=1.0)
        rng = check_random_state(random_state)
        std = self.noise_multiplier * self.max_grad_norm
        out = []
        for g in per:
            summed = (g * factor.view(-1, *([1] * (g.ndim - 1)))).sum(0)
            if std > 0:
                noise = torch.as_tensor(
                    rng.standard_normal(summed.shape), dtype=summed.dtype, device=summed.device
                )
                summed = summed + std * noise
            out.append(summed / n)
        return out

    def step(self, model, optimizer, X, y, loss_fn=None, random_state=None):
        """Write the privatised gradient into ``.grad`` and take one optimizer step.

        Parameters
        ----------
        model : torch.nn.Module or object with ``module_``
        optimizer : torch.optim.Optimizer
            Optimizer over the model's parameters.
        X, y : torch.Tensor
            The (Poisson- or uniformly) sampled batch.
        loss_fn : callable, default=None
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        self : DPSGD
        """
        module = _resolve_module(model)
        grads = self.privatize_gradient(module, X, y, loss_fn=loss_fn, random_state=random_state)
        trainable = [p for p in module.parameters() if p.requires_grad]
        for p, g in zip(trainable, grads):
            p.grad = g.detach().to(p.dtype)
        optimizer.step()
        self.n_steps_ = getattr(self, "n_steps_", 0) + 1
        return self

    def epsilon(self, n_steps=None, sample_rate=1.0, delta=None):
        """Epsilon spent after ``n_steps`` steps at sampling rate ``sample_rate``.

        Parameters
        ----------
        n_steps : int or None, default=None
            Number of steps; ``None`` uses ``n_steps_`` counted by :meth:`step`.
        sample_rate : float, default=1.0
            Batch size over data size.
        delta : float or None, default=None
            Overrides the ``delta`` parameter.

        Returns
        -------
        epsilon : float
        """
        self._check_params()
        if n_steps is None:
            n_steps = getattr(self, "n_steps_", 0)
        delta = self.delta if delta is None else delta
        return compute_epsilon(
            self.noise_multiplier, sample_rate, int(np.int64(n_steps)), delta, self.accountant
        )
