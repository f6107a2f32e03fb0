"""Gradient inversion as points of the Bayesian framework of gradient leakage."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array
from torch.func import functional_call, grad, vmap

from ._labels import recover_label_counts
from ._metrics import reconstruction_scores
from ._model import (
    as_param_list,
    attack_copy,
    flatten,
    make_loss,
    model_info,
    resolve_module,
    sgd_steps,
)

__all__ = ["GradientInversionAttack", "GradientReconstruction", "LOSSES", "PRIORS"]

#: Gradient-matching losses accepted by :class:`GradientInversionAttack`.
LOSSES = ("cosine", "l2", "l1", "bayes")
#: Input priors accepted by :class:`GradientInversionAttack`.
PRIORS = ("bernoulli", "gaussian", "none")
_UPDATE_MODES = ("auto", "gradient", "replay")


class GradientReconstruction:
    """Records reconstructed from a gradient or an update.

    Attributes
    ----------
    X_ : ndarray of shape (batch_size, n_features)
        Reconstructed records (0/1 under the Bernoulli prior).
    y_ : ndarray of shape (batch_size,)
        Recovered (or given) labels, as class indices of the model's output layer.
    confidence_ : ndarray of shape (batch_size, n_features)
        Per-feature confidence in ``[0, 1]``: for binary features the mean probability
        the pooled restarts give to the reported bit; for continuous ones
        ``1 / (1 + spread / prior_std)`` with the spread across pooled restarts.
    loss_ : float
        Matching objective (data term plus prior term) of ``X_``.
    method_ : str
        ``"analytic"`` (closed form), ``"gradient"`` (one gradient matched) or
        ``"replay"`` (the node's local steps replayed on the dummy data).
    label_counts_ : ndarray of shape (n_classes,)
        Number of records per class.
    restart_losses_ : ndarray of shape (n_restarts,)
        Final objective of every restart.
    mode_losses_ : dict
        For updates: the replay objective of the candidate of each mode tried.
    """

    def __init__(self, X, y, confidence, loss, method, label_counts, restart_losses, mode_losses):
        self.X_ = X
        self.y_ = y
        self.confidence_ = confidence
        self.loss_ = loss
        self.method_ = method
        self.label_counts_ = label_counts
        self.restart_losses_ = restart_losses
        self.mode_losses_ = mode_losses

    def __repr__(self):
        return (
            f"GradientReconstruction(n_records={self.X_.shape[0]}, "
            f"method={self.method_!r}, loss={self.loss_:.4g})"
        )


def _check_int(value, name, low):
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _check_real(value, name, *, low=0.0, strict=True):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not (ok and (value > low if strict else value >= low)):
        raise ValueError(
            f"{name} must be a finite number {'>' if strict else '>='} {low}, got {value!r}."
        )
    return float(value)


class GradientInversionAttack(BaseEstimator):
    """Reconstruct a node's records from the gradient or update it sends on.

    Following Balunovic et al. (2022), an attack is an approximation of the Bayes
    optimal adversary ``argmax_x log p(g | x) + log p(x)``: the choice of the
    gradient-matching ``loss`` encodes the assumed distribution of the observed gradient
    ``g`` around the true one, ``prior`` the distribution of the inputs ``x``. L2
    matching is Deep Leakage from Gradients (Zhu et al., 2019), cosine matching is
    Inverting Gradients (Geiping et al., 2020), and ``loss="bayes"`` uses the likelihood
    of the named ``defense`` (Gaussian noise: L2 over ``2 sigma^2``; Laplace noise: L1
    over ``b``; pruning: only the coordinates that were kept; clipping: the simulated
    gradient is clipped alike) plus the log-prior.

    Labels are recovered first from the last layer's bias gradient and held fixed. With
    one record and an exact gradient the input is computed in closed form from the
    first layer (``dW[j] / db[j]``). Otherwise dummy records are optimised with Adam and
    refined with L-BFGS, from ``n_restarts`` random starts; the better half of the
    restarts is pooled by matching records and averaging (a soft vote). Binary features
    are relaxed through a sigmoid (``x = sigmoid(z)``) and rounded at 0.5 at the end.

    Parameters
    ----------
    loss : {"cosine", "l2", "l1", "bayes"}, default="cosine"
        Gradient-matching loss; ``"bayes"`` is the negative log-likelihood of ``defense``.
    prior : {"bernoulli", "gaussian", "none"}, default="bernoulli"
        Input prior: binary features (sigmoid relaxation; Bernoulli marginals fitted by
        :meth:`fit`, else 0.5), continuous features (Gaussian with fitted means and
        standard deviations, else standard normal) or unconstrained continuous features
        without a prior term.
    defense : defense object or None, default=None
        The defense assumed to protect the observed gradient (any object of
        :mod:`skfedmia.defenses`, i.e. with ``noise_model()``). Pruning is modelled for
        every loss; noise and clipping enter the likelihood of ``loss="bayes"``.
    prior_weight : float or "auto", default="auto"
        Weight of the negative log-prior (summed over all entries). ``"auto"`` is 1 for
        ``loss="bayes"`` with a noisy ``defense`` (the exact posterior) and 0 otherwise.
    n_restarts : int, default=4
        Random starts optimised together.
    max_iter : int, default=500
        Adam iterations.
    refine_iter : int, default=200
        L-BFGS iterations after Adam (0 to skip).
    learning_rate : float, default=0.1
        Adam learning rate (cosine-annealed to 1% of it).
    update_mode : {"auto", "gradient", "replay"}, default="auto"
        For multi-step updates: treat the update as one gradient
        (``update / (-lr * n_steps)``), replay the node's local steps on the dummy data,
        or do both (replay starting from the one-gradient solution) and keep the better
        fit under the replay objective, so the result never fits worse than the shortcut.
    random_state : int, RandomState instance or None, default=None
        Seeds the restarts; fixed seeds repeat results exactly.
    verbose : int, default=0
        Print the objective while optimising.

    Attributes
    ----------
    n_features_in_ : int
        Width of the public data seen by :meth:`fit`.
    feature_means_ : ndarray of shape (n_features,)
        Feature means (Bernoulli marginals for binary data) of the public data.
    feature_stds_ : ndarray of shape (n_features,)
        Feature standard deviations of the public data.
    X_reference_ : ndarray
        The public data, kept for the marginal baselines of :meth:`score`.

    See Also
    --------
    skfedmia.defenses : Defenses that this attack can model.

    References
    ----------
    M. Balunovic, D. I. Dimitrov, R. Staab, M. Vechev. "Bayesian Framework for Gradient
    Leakage". ICLR 2022.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skfedmia.attacks.gradient_leakage import (
    ...     GradientInversionAttack, compute_gradient)
    >>> from skfedmia.neural_net import MLPModule
    >>> _ = torch.manual_seed(0)
    >>> model = MLPModule(n_features=20, n_classes=3, hidden_layer_sizes=(16,))
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(2, 20) < 0.3).astype(np.float32)
    >>> y = np.array([0, 2])
    >>> gradient = compute_gradient(model, X, y)
    >>> gia = GradientInversionAttack(n_restarts=2, max_iter=200, random_state=0)
    >>> result = gia.reconstruct(model, gradient, batch_size=2)
    >>> sorted(result.y_.tolist())
    [0, 2]
    >>> gia.score(result, X, y)["f1"] > 0.9
    True
    """

    def __init__(
        self,
        *,
        loss="cosine",
        prior="bernoulli",
        defense=None,
        prior_weight="auto",
        n_restarts=4,
        max_iter=500,
        refine_iter=200,
        learning_rate=0.1,
        update_mode="auto",
        random_state=None,
        verbose=0,
    ):
        self.loss = loss
        self.prior = prior
        self.defense = defense
        self.prior_weight = prior_weight
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.refine_iter = refine_iter
        self.learning_rate = learning_rate
        self.update_mode = update_mode
        self.random_state = random_state
        self.verbose = verbose

    # -- validation ----------------------------------------------------------------------
    def _check_params(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {list(LOSSES)}, got {self.loss!r}.")
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {list(PRIORS)}, got {self.prior!r}.")
        if self.defense is not None and not callable(getattr(self.defense, "noise_model", None)):
            raise ValueError(
                "defense must be None or a defense with a noise_model() method, "
                f"got {self.defense!r}."
            )
        if not (isinstance(self.prior_weight, str) and self.prior_weight == "auto"):
            _check_real(self.prior_weight, "prior_weight", strict=False)
        _check_int(self.n_restarts, "n_restarts", 1)
        _check_int(self.max_iter, "max_iter", 0)
        _check_int(self.refine_iter, "refine_iter", 0)
        _check_real(self.learning_rate, "learning_rate")
        if self.update_mode not in _UPDATE_MODES:
            raise ValueError(
                f"update_mode must be one of {list(_UPDATE_MODES)}, got {self.update_mode!r}."
            )

    def fit(self, X, y=None):
        """Fit the input prior (feature marginals) on public data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Public records from the node's distribution.
        y : ignored

        Returns
        -------
        self : GradientInversionAttack
        """
        self._check_params()
        X = check_array(X, dtype=np.float64)
        if self.prior == "bernoulli" and not np.isin(X, (0.0, 1.0)).all():
            raise ValueError("X must be binary (0/1) for prior='bernoulli'.")
        self.n_features_in_ = X.shape[1]
        self.feature_means_ = X.mean(0)
        self.feature_stds_ = X.std(0)
        self.X_reference_ = X
        return self

    def score(self, result, X, y=None):
        """Scores of a reconstruction against the true records.

        Parameters
        ----------
        result : GradientReconstruction
        X : array-like of shape (n_samples, n_features)
            The node's true records.
        y : array-like of shape (n_samples,), default=None
            Their labels (class indices).

        Returns
        -------
        scores : dict of str -> float
            See :func:`~skfedmia.attacks.gradient_leakage.reconstruction_scores`.
        """
        if not isinstance(result, GradientReconstruction):
            raise ValueError(f"result must be a GradientReconstruction, got {type(result)}.")
        ref = getattr(self, "X_reference_", None)
        return reconstruction_scores(
            result.X_, X, result.y_, None if y is None else np.asarray(y), X_reference=ref
        )

    # -- prior ---------------------------------------------------------------------------
    def _prior_stats(self, n_features, device):
        fitted = hasattr(self, "feature_means_")
        if self.prior == "bernoulli":
            m = self.feature_means_ if fitted else np.full(n_features, 0.5)
            m = torch.as_tensor(np.clip(m, 1e-3, 1 - 1e-3), dtype=torch.float64, device=device)
            return m, None
        mu = self.feature_means_ if fitted else np.zeros(n_features)
        sd = np.maximum(self.feature_stds_, 1e-3) if fitted else np.ones(n_features)
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float64, device=device)  # noqa: E731
        return as_t(mu), as_t(sd)

    def _sample_prior(self, n, n_features, gen, device):
        a, b = self._prior_stats(n_features, "cpu")
        if self.prior == "bernoulli":
            X = (torch.rand(n, n_features, generator=gen, dtype=torch.float64) < a).double()
        else:
            X = a + b * torch.randn(n, n_features, generator=gen, dtype=torch.float64)
        return X.to(device)

    # -- main entry ------------------------------------------------------------------------
    def reconstruct(
        self,
        model,
        gradient=None,
        *,
        batch_size=None,
        update=None,
        lr=None,
        local_epochs=1,
        local_batch_size=None,
        local_optimizer="sgd",
        labels=None,
    ):
        """Reconstruct the records behind one gradient or one multi-step update.

        Parameters
        ----------
        model : torch.nn.Module or object with ``module_``
            The model at the state the node received (a skorch net works too). It is not
            modified. Cross-entropy with mean reduction is assumed, as in torch/skorch.
        gradient : list of tensors, dict or flat vector, default=None
            The observed mean gradient (one tensor per trainable parameter in the order
            of ``model.parameters()``, a dict by parameter name, or one flat vector).
        batch_size : int
            Number of records behind the gradient or update.
        update : tuple (params_before, params_after) or flat vector, default=None
            Instead of ``gradient``: parameters before and after the node's local
            training (flat vectors or per-parameter lists), or the difference
            ``after - before`` with ``model`` holding the parameters before.
        lr : float, default=None
            Local learning rate; required with ``update``.
        local_epochs : int, default=1
            Local epochs behind ``update``.
        local_batch_size : int or None, default=None
            Local minibatch size behind ``update`` (``None``: full batch).
        local_optimizer : {"sgd", "adam"}, default="sgd"
            Local optimizer the replay simulates.
        labels : array-like of shape (batch_size,), default=None
            Known labels (class indices); recovered from the gradient when ``None``.

        Returns
        -------
        result : GradientReconstruction
        """
        self._check_params()
        module = resolve_module(model)
        info = model_info(module)
        d = info["n_features"]
        if hasattr(self, "n_features_in_") and self.n_features_in_ != d:
            raise ValueError(
                f"model takes {d} features but the attack was fitted on {self.n_features_in_}."
            )
        batch_size = _check_int(batch_size, "batch_size", 1)
        if (gradient is None) == (update is None):
            raise ValueError("Pass exactly one of gradient and update.")
        device = info["device"]
        work = attack_copy(module)
        names = info["names"]
        buffers = {n: b.detach() for n, b in work.named_buffers()}
        loss_fn = make_loss(work, buffers)
        nm = self.defense.noise_model() if self.defense is not None else None
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        gen = torch.Generator().manual_seed(int(seed))

        if gradient is not None:
            params = {n: p.detach() for n, p in work.named_parameters() if n in names}
            g_obs = flatten(as_param_list(gradient, info, "gradient"))
            label_grad, replay = g_obs, None
            obs, factor = g_obs, 1.0
        else:
            lr = _check_real(lr, "lr")
            local_epochs = _check_int(local_epochs, "local_epochs", 1)
            lbs = batch_size if local_batch_size is None else local_batch_size
            lbs = min(_check_int(lbs, "local_batch_size", 1), batch_size)
            if local_optimizer not in ("sgd", "adam"):
                raise ValueError(
                    f"local_optimizer must be 'sgd' or 'adam', got {local_optimizer!r}."
                )
            if isinstance(update, tuple) and len(update) == 2:
                before = as_param_list(update[0], info, "update[0]")
                after = as_param_list(update[1], info, "update[1]")
                delta = flatten(after) - flatten(before)
            else:
                before = [p.detach() for n, p in work.named_parameters() if n in names]
                delta = flatten(as_param_list(update, info, "update"))
            params = dict(zip(names, before))
            n_steps = local_epochs * math.ceil(batch_size / lbs)
            factor = -lr * n_steps
            obs = delta
            label_grad = delta / factor
            replay = dict(
                lr=lr, local_epochs=local_epochs, local_batch_size=lbs, optimizer=local_optimizer
            )
        sizes = [math.prod(s) for s in info["shapes"]]
        offsets = dict(zip(names, np.cumsum([0] + sizes[:-1])))

        # labels
        if labels is not None:
            y = np.asarray(labels).astype(np.int64).ravel()
            if y.shape[0] != batch_size or y.min() < 0 or y.max() >= info["n_classes"]:
                raise ValueError(
                    f"labels must hold {batch_size} class indices in [0, {info['n_classes']})."
                )
            y = np.sort(y)
            counts = np.bincount(y, minlength=info["n_classes"])
        else:
            if info["last_bias"] is None:
                raise ValueError("model needs a bias in its last Linear layer to recover labels.")
            o = offsets[info["last_bias"]]
            bias_grad = label_grad[o : o + info["n_classes"]]
            with torch.no_grad():
                dummy = self._sample_prior(512, d, gen, device)
                proba = torch.softmax(functional_call(work, (params, buffers), (dummy,)), 1)
                mean_proba = proba.mean(0).cpu().numpy()
            scaled = nm is not None and nm.clip_norm is not None
            counts = recover_label_counts(bias_grad, batch_size, mean_proba, unknown_scale=scaled)
            y = np.repeat(np.arange(info["n_classes"]), counts)
        y_t = torch.as_tensor(y, dtype=torch.long, device=device)

        # closed form: one record, exact gradient
        exact = nm is None or (nm.noise is None and not nm.pruned)
        if (
            gradient is not None
            and batch_size == 1
            and exact
            and info["first_bias"] is not None
            and info["first_weight"] is not None
        ):
            X = self._analytic(g_obs, offsets, info)
            X_np = X.cpu().numpy()[None, :]
            if self.prior == "bernoulli":
                X_np = (X_np >= 0.5).astype(np.float64)
            return GradientReconstruction(
                X_np, y, np.ones_like(X_np), 0.0, "analytic", counts, np.zeros(1), {}
            )

        mask = (obs != 0) if (nm is not None and nm.pruned) else None

        def observe_gradient(X):
            g = grad(loss_fn)(params, X, y_t)
            return factor * flatten([g[n] for n in names])

        def observe_replay(X):
            p = sgd_steps(loss_fn, params, names, X, y_t, **replay)
            return flatten([p[n] - params[n] for n in names])

        prior_stats = self._prior_stats(d, device)
        objective = dict(obs=obs, mask=mask, nm=nm, prior=prior_stats)

        if gradient is not None or self.update_mode == "gradient":
            modes = ["gradient"]
        elif self.update_mode == "replay":
            modes = ["replay"]
        else:
            modes = ["gradient", "replay"]
        observers = {"gradient": observe_gradient, "replay": observe_replay}
        init = self._init(batch_size, d, gen, device)
        candidates, mode_losses = {}, {}
        for mode in modes:
            Z = self._optimise(init, observers[mode], objective, y, mode)
            candidates[mode] = self._pool(Z, observers[mode], objective, y)
            init = candidates[mode]["Z_init"]
        if replay is not None:
            for mode, cand in candidates.items():
                X_c = torch.as_tensor(cand["X"], dtype=torch.float64, device=device)
                mode_losses[mode] = float(self._objective(X_c[None], observe_replay, objective)[0])
            best = min(modes, key=lambda m: (mode_losses[m], m != "gradient"))
        else:
            best = modes[0]
        cand = candidates[best]
        loss_value = mode_losses.get(best, cand["loss"])
        return GradientReconstruction(
            cand["X"],
            y,
            cand["confidence"],
            float(loss_value),
            best,
            counts,
            cand["restart_losses"],
            mode_losses,
        )

    # -- pieces -----------------------------------------------------------------------------
    def _analytic(self, g_obs, offsets, info):
        h, d = info["shapes"][info["names"].index(info["first_weight"])]
        ow, ob = offsets[info["first_weight"]], offsets[info["first_bias"]]
        dW = g_obs[ow : ow + h * d].reshape(h, d)
        db = g_obs[ob : ob + h]
        denom = (db**2).sum()
        if float(denom) == 0.0:
            raise ValueError("gradient of the first layer's bias is zero: nothing to invert.")
        return (db @ dW) / denom

    def _transform(self, Z):
        return torch.sigmoid(Z) if self.prior == "bernoulli" else Z

    def _init(self, batch_size, d, gen, device):
        R = self.n_restarts
        noise = torch.randn(R, batch_size, d, generator=gen, dtype=torch.float64)
        if self.prior == "gaussian" and hasattr(self, "feature_means_"):
            mu = torch.as_tensor(self.feature_means_, dtype=torch.float64)
            sd = torch.as_tensor(np.maximum(self.feature_stds_, 1e-3), dtype=torch.float64)
            noise = mu + sd * noise
        return noise.to(device)

    def _weight(self, nm):
        if isinstance(self.prior_weight, str):
            # the posterior only has a finite prior weight when the gradient is noisy
            noisy = nm is not None and nm.noise is not None and nm.scale > 0
            return 1.0 if self.loss == "bayes" and noisy else 0.0
        return float(self.prior_weight)

    def _objective(self, X, observe, objective):
        """Objective per restart for relaxed inputs ``X`` of shape (R, B, d)."""
        obs, mask, nm = objective["obs"], objective["mask"], objective["nm"]
        sim = vmap(observe, randomness="different")(X)
        if nm is not None and nm.clip_norm is not None and self.loss != "cosine":
            norm = torch.linalg.vector_norm(sim, dim=1, keepdim=True)
            sim = sim * torch.clamp(nm.clip_norm / (norm + 1e-30), max=1.0)
        if mask is not None:
            sim, obs = sim[:, mask], obs[mask]
        loss = self.loss
        if loss == "bayes":
            if nm is None or nm.noise is None:
                loss = "cosine"
            elif nm.noise == "gaussian":
                data = ((sim - obs) ** 2).sum(1) / (2 * max(nm.scale, 1e-30) ** 2)
            else:
                data = (sim - obs).abs().sum(1) / max(nm.scale, 1e-30)
        if loss == "cosine":
            dot = sim @ obs
            data = 1 - dot / (torch.linalg.vector_norm(sim, dim=1) * obs.norm() + 1e-30)
        elif loss == "l2":
            data = ((sim - obs) ** 2).sum(1)
        elif loss == "l1":
            data = (sim - obs).abs().sum(1)
        w = self._weight(nm)
        if w == 0.0 or self.prior == "none":
            return data
        a, b = objective["prior"]
        if self.prior == "bernoulli":
            Xc = X.clamp(0, 1)
            nlp = -(Xc * torch.log(a) + (1 - Xc) * torch.log1p(-a)).sum((1, 2))
        else:
            nlp = (((X - a) / b) ** 2 / 2).sum((1, 2))
        return data + w * nlp

    def _optimise(self, Z0, observe, objective, y, mode):
        Z = Z0.clone().requires_grad_(True)
        if self.max_iter > 0:
            opt = torch.optim.Adam([Z], lr=self.learning_rate)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(
                opt, self.max_iter, eta_min=self.learning_rate * 0.01
            )
            for it in range(self.max_iter):
                losses = self._objective(self._transform(Z), observe, objective)
                opt.zero_grad()
                losses.sum().backward()
                opt.step()
                sched.step()
                if self.verbose and (it % max(1, self.max_iter // 5) == 0):
                    print(f"[{mode}] adam {it}: {losses.detach().cpu().numpy()}")
        if self.refine_iter > 0:
            opt = torch.optim.LBFGS(
                [Z],
                lr=1.0,
                max_iter=self.refine_iter,
                history_size=50,
                line_search_fn="strong_wolfe",
                tolerance_grad=1e-12,
                tolerance_change=1e-16,
            )

            def closure():
                opt.zero_grad()
                total = self._objective(self._transform(Z), observe, objective).sum()
                total.backward()
                return total

            opt.step(closure)
            if self.verbose:
                print(f"[{mode}] lbfgs: {float(closure())}")
        return Z.detach()

    def _pool(self, Z, observe, objective, y):
        """Pool the better half of the restarts by matching records and averaging."""
        with torch.no_grad():
            X = self._transform(Z)
            losses = self._objective(X, observe, objective).cpu().numpy()
            order = np.argsort(losses, kind="stable")
            keep = order[: max(1, math.ceil(len(order) / 2))]
            P = X.cpu().numpy()
            ref = P[keep[0]]
            aligned = [ref]
            for r in keep[1:]:
                cost = np.abs(ref[:, None, :] - P[r][None, :, :]).sum(-1)
                cost = cost + 1e6 * (y[:, None] != y[None, :])
                _, cols = linear_sum_assignment(cost)
                aligned.append(P[r][cols])
            aligned = np.stack(aligned)
            pooled = aligned.mean(0)
            binary = self.prior == "bernoulli"
            cands = [pooled, ref]
            if binary:
                cands = [(c >= 0.5).astype(np.float64) for c in cands]
            cand_t = torch.as_tensor(np.stack(cands), dtype=torch.float64, device=Z.device)
            cand_losses = self._objective(cand_t, observe, objective).cpu().numpy()
            pick = int(np.argmin(cand_losses))
            X_out = cands[pick]
            if binary:
                conf = np.where(X_out >= 0.5, aligned, 1 - aligned).mean(0)
                z_init = np.log(np.clip(pooled, 1e-4, 1 - 1e-4)) - np.log1p(
                    -np.clip(pooled, 1e-4, 1 - 1e-4)
                )
            else:
                _, sd = objective["prior"]
                sd = 1.0 if sd is None else sd.cpu().numpy()
                conf = 1.0 / (1.0 + aligned.std(0) / sd)
                z_init = pooled
            # start of a follow-up stage: pooled solution, jittered for the other restarts
            Z_init = torch.as_tensor(z_init, dtype=torch.float64, device=Z.device)
            jitter = Z - Z.mean(0, keepdim=True)
            Z_init = Z_init[None] + 0.1 * jitter
            Z_init[0] = torch.as_tensor(z_init, dtype=torch.float64, device=Z.device)
        return dict(
            X=X_out,
            confidence=conf,
            loss=float(cand_losses[pick]),
            restart_losses=losses,
            Z_init=Z_init,
        )
