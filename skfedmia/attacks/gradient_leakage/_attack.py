"""Gradient inversion as points of the Bayesian framework of gradient leakage."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array
from torch.func import functional_call

from ...utils._random import draw_seed
from ._dropout import MaskedRelaxation, dropout_layers, masked_loss
from ._labels import recover_label_counts
from ._layout import ColumnLayout
from ._metrics import reconstruction_scores, tabular_scores
from ._model import attack_copy, make_loss, model_info, resolve_module
from ._objective import Objective, pruning_view
from ._observation import closed_form, gradient_observer, observe, replay_observer
from ._relaxation import Relaxation
from ._result import GradientReconstruction
from ._search import optimise, pool

__all__ = ["GradientInversionAttack", "LOSSES", "PRIORS"]

#: Gradient-matching losses accepted by :class:`GradientInversionAttack`.
LOSSES = ("cosine", "l2", "l1", "bayes")
#: Input priors accepted by :class:`GradientInversionAttack`.
PRIORS = ("auto", "bernoulli", "gaussian", "mixed", "none")
_UPDATE_MODES = ("auto", "gradient", "replay")
#: Softening of Adam's normalisation while searching, relative to the gradient's RMS.
_ADAM_SMOOTHING = 0.3


def _check_int(value, name, low):
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _check_real(value, name):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not (ok and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)


def _noisy(nm):
    """Whether the noise model ``nm`` (or ``None``) adds noise."""
    return nm is not None and nm.noise is not None and nm.scale > 0


def _with_masks(result):
    """A reconstruction's records with the dropout masks found with them, if any."""
    if result.dropout_masks_ is None:
        return result.X_
    return np.concatenate([result.X_, result.dropout_masks_], -1)


class GradientInversionAttack(BaseEstimator):
    """Reconstruct a node's records from the gradient or update it sends on.

    Following Balunovic et al. (2022), an attack is an approximation of the Bayes
    optimal adversary ``argmax_x log p(g | x) + log p(x)``: the choice of the
    gradient-matching ``loss`` encodes the assumed distribution of the observed gradient
    ``g`` around the true one, ``prior`` the distribution of the inputs ``x``. L2
    matching is Deep Leakage from Gradients (Zhu et al., 2019), cosine matching is
    Inverting Gradients (Geiping et al., 2020), and ``loss="bayes"`` uses the likelihood
    of the named ``defense`` (Gaussian noise: L2 over ``2 sigma^2``; Laplace noise: L1
    over ``b``; DP-SGD: per-record clipping and noise on the sum) plus the log-prior.

    Labels are recovered first from the last layer's bias gradient and held fixed. With
    one record the input is computed in closed form from the first layer
    (``dW[j] / db[j]``); this is exact without a defense and kept under a defense when
    it fits the observation better than the search. Otherwise dummy records are
    optimised with Adam and refined with L-BFGS, from ``n_restarts`` random starts; the
    better half of the restarts is pooled by matching records and averaging (a soft
    vote). Binary features are relaxed through a sigmoid (``x = sigmoid(z)``) and
    rounded at 0.5 at the end; for mixed-type tables (``layout``) every one-hot group
    is a softmax (on the simplex) and every continuous column a scaled sigmoid (in its
    range), snapped to one-hot at the end.

    Pruning (a defense with ``noise_model().pruned``) is modelled for every loss. Only
    the coordinates the defense zeroed although they were non-zero count as missing: a
    zero of magnitude (top-k) pruning says the true coordinate was at most the smallest
    kept magnitude (and is exact when fewer coordinates are non-zero than were kept), a
    zero of random pruning is a true zero with the probability estimated from the share
    of zeros beyond the pruned one.

    Parameters
    ----------
    loss : {"cosine", "l2", "l1", "bayes"}, default="cosine"
        Gradient-matching loss; ``"bayes"`` is the negative log-likelihood of ``defense``
        (cosine when the defense adds no noise).
    prior : {"auto", "bernoulli", "gaussian", "mixed", "none"}, default="auto"
        Input prior: binary features (sigmoid relaxation; Bernoulli marginals fitted by
        :meth:`fit`, else 0.5), continuous features (Gaussian with fitted means and
        standard deviations, else standard normal), a mixed-type table described by
        ``layout`` (category frequencies per group and a Gaussian per continuous
        column, fitted by :meth:`fit`) or unconstrained continuous features without a
        prior term. ``"auto"`` is ``"mixed"`` with a ``layout``, ``"gaussian"`` when
        :meth:`fit` saw non-binary data and ``"bernoulli"`` otherwise.
    layout : ColumnLayout or None, default=None
        Column layout of a mixed-type table (one-hot groups and continuous columns),
        e.g. ``ColumnLayout.from_encoder(column_transformer)``.
    defense : defense object or None, default=None
        The defense assumed to protect the observed gradient (any object of
        :mod:`skfedmia.defenses`, i.e. with ``noise_model()``).
    prior_weight : float or "auto", default="auto"
        Weight of the negative log-prior (summed over all entries). ``"auto"`` is 1 for
        ``loss="bayes"`` with a noisy ``defense`` (the exact posterior) and 0 otherwise.
    n_restarts : int, default=4
        Random starts optimised together.
    max_iter : int, default=500
        Adam iterations.
    refine_iter : int, default=5000
        L-BFGS iterations after Adam (0 to skip); it stops earlier once the objective
        stops changing. Most of the accuracy on batches of mixed-type records comes from
        this stage (on the ANES table at batch 32: 0.52 of features right after 200
        iterations, 0.85 after 2,000, 0.99 after 5,000).
    learning_rate : float, default=0.1
        Adam learning rate (cosine-annealed to 1% of it).
    update_mode : {"auto", "gradient", "replay"}, default="auto"
        For multi-step updates: treat the update as one gradient
        (``update / (-lr * n_steps)``), replay the node's local steps on the dummy data,
        or do both (replay starting from the one-gradient solution) and keep the better
        fit under the replay objective, so the result never fits worse than the shortcut.
    compare_plain : bool, default=True
        When ``defense`` changes what is matched (noise, per-record clipping, or pruning
        that removed non-zero coordinates), also run the attack that ignores it (cosine
        matching, no prior term) and keep the defense-aware reconstruction only when it
        fits the observation at least as well, both under the defense's likelihood
        (prior left out) and in the direction of the simulated, defended gradient;
        otherwise return the plain one. The exact posterior can pull records to the
        prior's most likely values when the observation says little, where the plain
        fit still recovers some of them. Under pruning without noise the defense-aware
        search also starts from the plain reconstruction (when both read the same
        labels): the exact likelihood is flat over every value a pruned coordinate may
        have had, where plain matching still points the search towards the records.
        ``result.defense_check_`` records the choice.
    random_state : int, RandomState instance or None, default=None
        Seeds the restarts; fixed seeds repeat results exactly.
    verbose : int, default=0
        Print the objective while optimising.

    Attributes
    ----------
    n_features_in_ : int
        Width of the public data seen by :meth:`fit`.
    feature_means_ : ndarray of shape (n_features,)
        Feature means (Bernoulli marginals for binary data, category frequencies for
        one-hot groups) of the public data.
    feature_stds_ : ndarray of shape (n_features,)
        Feature standard deviations of the public data.
    X_reference_ : ndarray
        The public data, kept for the baselines of :meth:`score`.
    layout_ : ColumnLayout or None
        ``layout`` with the continuous ranges of the public data where none were given.

    See Also
    --------
    skfedmia.defenses : Defenses that this attack can model.
    ColumnLayout : Declares the columns of a mixed-type table.

    References
    ----------
    M. Balunovic, D. I. Dimitrov, R. Staab, M. Vechev. "Bayesian Framework for Gradient
    Leakage". ICLR 2022.

    M. Vero, M. Balunovic, D. I. Dimitrov, M. Vechev. "TabLeak: Tabular Data Leakage in
    Federated Learning". ICML 2023.

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
    >>> gia = GradientInversionAttack(n_restarts=2, max_iter=200, refine_iter=200,
    ...                               random_state=0)
    >>> result = gia.reconstruct(model, gradient, batch_size=2)
    >>> sorted(result.y_.tolist())
    [0, 2]
    >>> gia.report(result, X, y)["f1"] > 0.9
    True
    """

    _parameter_constraints: dict = {
        "loss": [StrOptions(set(LOSSES))],
        "prior": [StrOptions(set(PRIORS))],
        "layout": [ColumnLayout, None],
        "defense": [HasMethods(["noise_model"]), None],
        "prior_weight": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"})],
        "n_restarts": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "refine_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "update_mode": [StrOptions(set(_UPDATE_MODES))],
        "compare_plain": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        loss="cosine",
        prior="auto",
        layout=None,
        defense=None,
        prior_weight="auto",
        n_restarts=4,
        max_iter=500,
        refine_iter=5000,
        learning_rate=0.1,
        update_mode="auto",
        compare_plain=True,
        random_state=None,
        verbose=0,
    ):
        self.loss = loss
        self.prior = prior
        self.layout = layout
        self.defense = defense
        self.prior_weight = prior_weight
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.refine_iter = refine_iter
        self.learning_rate = learning_rate
        self.update_mode = update_mode
        self.compare_plain = compare_plain
        self.random_state = random_state
        self.verbose = verbose

    # -- validation ----------------------------------------------------------------------
    def _check_params(self):
        self._validate_params()
        if self.prior == "mixed" and self.layout is None:
            raise ValueError("prior='mixed' needs a layout (a ColumnLayout of the columns).")
        if self.layout is not None and self.prior not in ("auto", "mixed"):
            raise ValueError(
                f"a layout describes a mixed-type table: use prior='auto' or 'mixed', "
                f"not prior={self.prior!r}."
            )
        if isinstance(self.prior_weight, numbers.Real) and not np.isfinite(self.prior_weight):
            raise ValueError(f"prior_weight must be finite, got {self.prior_weight!r}.")

    def _resolved_prior(self):
        if self.prior != "auto":
            return self.prior
        if self.layout is not None:
            return "mixed"
        if hasattr(self, "X_reference_") and not np.isin(self.X_reference_, (0.0, 1.0)).all():
            return "gaussian"
        return "bernoulli"

    def fit(self, X, y=None):
        """Fit the input prior (feature marginals) on public data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Public records from the node's distribution (encoded as the model sees
            them; one-hot groups as declared by ``layout``).
        y : ignored

        Returns
        -------
        self : GradientInversionAttack
        """
        self._check_params()
        X = check_array(X, dtype=np.float64)
        if self.prior == "bernoulli" and not np.isin(X, (0.0, 1.0)).all():
            raise ValueError("X must be binary (0/1) for prior='bernoulli'.")
        self.layout_ = None
        if self.layout is not None:
            self.layout_ = self.layout.with_bounds(self.layout.check(X))
        self.n_features_in_ = X.shape[1]
        self.feature_means_ = X.mean(0)
        self.feature_stds_ = X.std(0)
        self.X_reference_ = X
        return self

    def score(self, result, X, y=None):
        """The headline figure of :meth:`report`, one number as in scikit-learn.

        Feature accuracy after matching (``"accuracy"``) for mixed-type records (with a
        ``layout``), else the F1 score of the 1-bits (``"f1"``).

        Parameters
        ----------
        result : GradientReconstruction
        X : array-like of shape (n_samples, n_features)
            The node's true records.
        y : array-like of shape (n_samples,), default=None
            Their labels (class indices).

        Returns
        -------
        score : float
        """
        scores = self.report(result, X, y)
        return float(scores["accuracy" if self.layout is not None else "f1"])

    def report(self, result, X, y=None):
        """Every figure of a reconstruction against the true records, baselines beside.

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
            :func:`~skfedmia.attacks.gradient_leakage.tabular_scores` for mixed-type
            records (with a ``layout``), else
            :func:`~skfedmia.attacks.gradient_leakage.reconstruction_scores`.
        """
        if not isinstance(result, GradientReconstruction):
            raise TypeError(
                f"result must be a GradientReconstruction, got {type(result).__name__}."
            )
        ref = getattr(self, "X_reference_", None)
        y = None if y is None else np.asarray(y)
        if self.layout is not None:
            layout = getattr(self, "layout_", None) or self.layout
            return tabular_scores(
                result.X_,
                X,
                layout,
                y_rec=result.y_,
                y_true=y,
                X_reference=ref,
                confidence=result.feature_confidence_,
                random_state=self.random_state,
            )
        return reconstruction_scores(result.X_, X, result.y_, y, X_reference=ref)

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
        local_dropout=None,
        labels=None,
    ):
        """Reconstruct the records behind one gradient or one multi-step update.

        Parameters
        ----------
        model : torch.nn.Module, skorch net, or a wrapper of one
            The model at the state the node received (a skorch net works too, as does
            the :class:`~skfedmia.federated.NodeModel` a federation's hook receives). It
            is not modified. Cross-entropy with mean reduction is assumed, as in
            torch/skorch. A single gradient is matched in eval mode; for an
            ``update`` see ``local_dropout``.
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
            Local minibatch size behind ``update`` (``None``: full batch). The replay
            takes consecutive blocks of records, the same in every epoch: exact up to
            record order for one minibatch per epoch, an approximation of shuffled
            minibatches otherwise.
        local_optimizer : {"sgd", "adam"}, default="sgd"
            Local optimizer the replay simulates (with fresh state).
        local_dropout : float or None, default=None
            Dropout rate the node trained with, for ``update``. With a rate > 0 and a
            model built as ``nn.Sequential`` layers (``Linear``, activations,
            ``Dropout``, as :class:`~skfedmia.neural_net.MLPModule`), every record's
            dropout masks (one per local epoch) are searched for with the record;
            ``0`` replays in eval mode (dropout replaced by its expectation). ``None``
            takes the rates of the model's ``Dropout`` layers.
        labels : array-like of shape (batch_size,), default=None
            Known labels (class indices); recovered from the gradient when ``None``.

        Returns
        -------
        result : GradientReconstruction
        """
        self._check_params()
        module = resolve_module(model)
        info = model_info(module)
        if hasattr(self, "n_features_in_") and self.n_features_in_ != info["n_features"]:
            raise ValueError(
                f"model takes {info['n_features']} features but the attack was fitted on "
                f"{self.n_features_in_}."
            )
        if self.layout is not None and self.layout.n_features != info["n_features"]:
            raise ValueError(
                f"layout declares {self.layout.n_features} columns but the model takes "
                f"{info['n_features']} features."
            )
        batch_size = _check_int(batch_size, "batch_size", 1)
        if (gradient is None) == (update is None):
            raise ValueError("Pass exactly one of gradient and update.")
        if update is not None:
            lr = _check_real(lr, "lr")
            local_epochs = _check_int(local_epochs, "local_epochs", 1)
            if local_batch_size is not None:
                local_batch_size = _check_int(local_batch_size, "local_batch_size", 1)
            if local_optimizer not in ("sgd", "adam"):
                raise ValueError(
                    f"local_optimizer must be 'sgd' or 'adam', got {local_optimizer!r}."
                )
            if local_dropout is not None and not (
                isinstance(local_dropout, numbers.Real)
                and not isinstance(local_dropout, bool)
                and 0 <= local_dropout < 1
            ):
                raise ValueError(
                    f"local_dropout must be None or a number in [0, 1), got {local_dropout!r}."
                )
        seed = draw_seed(self.random_state)
        args = (model, module, info, gradient, update, batch_size, lr, local_epochs)
        args += (local_batch_size, local_optimizer, labels)
        args += (self._masks(module, update, local_dropout, local_epochs),)
        nm = self.defense.noise_model() if self.defense is not None else None
        if not (self.compare_plain and self._defense_changes_objective(nm, *args[1:8])):
            return self._solve(*args, nm=nm, seed=seed)[0]
        # the modelled reconstruction is kept only when it explains the observation at
        # least as well as the plain one (see compare_plain); under pruning alone the
        # modelled search also starts from the plain fit, found first
        plain = self._plain_attack()
        warm = plain._solve(*args, nm=None, seed=seed)[0] if self._pruning_only(nm) else None
        result, ctx = self._solve(*args, nm=nm, seed=seed, warm=warm)
        if ctx is None:
            return result
        other = warm if warm is not None else plain._solve(*args, nm=None, seed=seed)[0]
        fit_modelled = self._fit_under_defense(ctx, result)
        fit_plain = self._fit_under_defense(ctx, other)
        keep = all(m <= p for m, p in zip(fit_modelled, fit_plain))
        chosen = result if keep else other
        chosen.defense_check_ = {
            "kept": "modelled" if keep else "plain",
            "modelled": dict(zip(("likelihood", "direction"), fit_modelled)),
            "plain": dict(zip(("likelihood", "direction"), fit_plain)),
        }
        return chosen

    @staticmethod
    def _masks(module, update, local_dropout, local_epochs):
        """``(widths, rates, local_epochs)`` of the dropout masks to search for, or None."""
        if update is None or local_dropout == 0:
            return None
        layers = dropout_layers(module)
        if layers is None:
            return None
        widths, rates = layers
        if local_dropout is not None:
            rates = [float(local_dropout)] * len(widths)
        if max(rates) <= 0:
            return None
        return widths, rates, local_epochs

    def _plain_attack(self):
        """The same attack ignoring the defense: cosine matching, no prior term."""
        plain = clone(self).set_params(loss="cosine", defense=None, prior_weight=0.0)
        for name in ("n_features_in_", "feature_means_", "feature_stds_", "X_reference_"):
            if hasattr(self, name):
                setattr(plain, name, getattr(self, name))
        if hasattr(self, "layout_"):
            plain.layout_ = self.layout_
        return plain

    @staticmethod
    def _pruning_only(nm):
        """Whether the defense only prunes: no noise and no per-record clipping.

        Then the observation is exact on the kept coordinates and says of every pruned
        one only how large it may have been, so the likelihood is flat over that band and
        gives the search nothing to follow there. Plain matching is the same fit with the
        band collapsed to zero, and its reconstruction is where the modelled search also
        starts (a continuation). Under noise the posterior is searched from random starts
        only, so that the fit check compares two independent searches: started from the
        plain fit, the posterior fits better almost always, also where its records are
        worse.
        """
        return bool(nm.pruned) and not _noisy(nm) and not nm.per_example_clip

    @staticmethod
    def _defense_changes_objective(nm, module, info, gradient, update, batch_size, lr, epochs):
        """Whether the defense changes what is matched: noise, per-record clipping, or
        pruning that removed non-zero coordinates."""
        if nm is None:
            return False
        if _noisy(nm) or nm.per_example_clip:
            return True
        if not nm.pruned:
            return False
        obs = observe(
            attack_copy(module),
            info,
            gradient=gradient,
            update=update,
            batch_size=batch_size,
            lr=lr,
            local_epochs=epochs,
            local_batch_size=None,
            optimizer="sgd",
        ).obs
        view = pruning_view(obs, nm)
        return view is not None and not (view[1] == "magnitude" and view[2] == 0.0)

    def _fit_under_defense(self, ctx, result):
        """(negative log-likelihood without prior, cosine mismatch) of a reconstruction,
        with the dropout masks found with its records."""
        info, observation, nm = ctx["info"], ctx["observation"], ctx["nm"]
        X, y = _with_masks(result), result.y_
        y_t = torch.as_tensor(np.asarray(y), dtype=torch.long, device=info["device"])
        if observation.replay is not None:
            observe_fn = replay_observer(ctx["loss_fn"], observation, info["names"], y_t)
        else:
            per_example = nm.clip_norm if nm.per_example_clip else None
            observe_fn = gradient_observer(
                ctx["loss_fn"], observation, info["names"], y_t, per_example_clip=per_example
            )
        X_t = torch.as_tensor(X, dtype=torch.float64, device=info["device"])[None]
        if hasattr(ctx["relaxation"], "pad"):
            X_t = ctx["relaxation"].pad(X_t)
        batch_size = X_t.shape[1]
        with torch.no_grad():
            fits = []
            for loss in ("bayes", "cosine"):
                objective = Objective(loss, observation.obs, nm, ctx["relaxation"], 0.0, batch_size)
                fits.append(float(objective(X_t, observe_fn)[0]))
        return tuple(fits)

    def _solve(
        self,
        model,
        module,
        info,
        gradient,
        update,
        batch_size,
        lr,
        local_epochs,
        local_batch_size,
        local_optimizer,
        labels,
        masks,
        *,
        nm,
        seed,
        warm=None,
    ):
        """One reconstruction under the noise model ``nm``; returns it and its context
        (``None`` when the closed form was exact). ``warm``: an earlier reconstruction
        to start from as well."""
        work = attack_copy(module)
        buffers = {n: b.detach() for n, b in work.named_buffers()}
        loss_fn = make_loss(work, buffers)
        gen = torch.Generator().manual_seed(int(seed))
        relaxation = self._relaxation(info)
        label_relaxation = relaxation
        if masks is not None:
            widths, rates, epochs = masks
            relaxation = MaskedRelaxation(relaxation, widths, rates, epochs)
        observation = observe(
            work,
            info,
            gradient=gradient,
            update=update,
            batch_size=batch_size,
            lr=lr,
            local_epochs=local_epochs,
            local_batch_size=local_batch_size,
            optimizer=local_optimizer,
        )
        y, counts = self._labels(
            labels, batch_size, info, observation, work, buffers, label_relaxation, nm, gen
        )
        if masks is not None:
            loss_fn = masked_loss(work, info["n_features"], masks[0], masks[1])
        y_t = torch.as_tensor(y, dtype=torch.long, device=info["device"])
        objective = Objective(
            self.loss, observation.obs, nm, relaxation, self._weight(nm), batch_size
        )
        ctx = dict(
            info=info,
            observation=observation,
            nm=nm,
            objective=objective,
            relaxation=relaxation,
            loss_fn=loss_fn,
        )
        per_example = nm.clip_norm if nm is not None and nm.per_example_clip else None
        observers = {
            "gradient": gradient_observer(
                loss_fn, observation, info["names"], y_t, per_example_clip=per_example
            )
        }
        if observation.replay is not None:
            observers["replay"] = replay_observer(loss_fn, observation, info["names"], y_t)
            if observation.replay["optimizer"] == "adam":
                # the search sees Adam's normalisation softened (its first steps are
                # -lr * sign(g), flat in the records); candidates are compared exactly
                observers["replay_search"] = replay_observer(
                    loss_fn, observation, info["names"], y_t, smoothing=_ADAM_SMOOTHING
                )

        extra = []
        if gradient is not None and batch_size == 1:
            x = self._closed_form(observation, info, relaxation)
            if x is not None:
                if self._closed_form_exact(observation.obs, nm):
                    ones = np.ones_like(x)
                    field = np.ones((1, self.layout.n_fields)) if self.layout else None
                    result = GradientReconstruction(
                        x, y, ones, 0.0, "analytic", counts, np.zeros(1), {}, field
                    )
                    return result, None
                extra.append(x)
        analytic = bool(extra)
        if warm is not None and np.array_equal(warm.y_, y):
            # a start for the search and a candidate of the pooling (same labels only,
            # so that its records line up with ``y``), with its dropout masks
            extra.append(_with_masks(warm))
        span = self._record_span(observation, info, batch_size)
        result = self._search(
            observers,
            objective,
            relaxation,
            y,
            counts,
            batch_size,
            info,
            gen,
            extra,
            span,
            analytic=analytic,
        )
        return result, ctx

    @staticmethod
    def _record_span(observation, info, batch_size):
        """Orthonormal basis of the span of the records, from the first layer's gradient."""
        if info["first_weight"] is None:
            return None
        h, d = info["shapes"][info["names"].index(info["first_weight"])]
        if batch_size >= min(h, d):
            return None
        o = observation.offsets[info["first_weight"]]
        dW = observation.label_grad[o : o + h * d].reshape(h, d)
        _, _, Vh = torch.linalg.svd(dW, full_matrices=False)
        return Vh[:batch_size].T

    # -- steps of reconstruct --------------------------------------------------------------
    def _relaxation(self, info):
        kind = self._resolved_prior()
        stats = None
        if hasattr(self, "feature_means_"):
            stats = {"means": self.feature_means_, "stds": self.feature_stds_}
        layout = None
        if kind == "mixed":
            layout = getattr(self, "layout_", None) or self.layout
            if layout.bounds is None and layout.continuous:
                raise ValueError(
                    "the continuous columns of layout have no bounds: give bounds to "
                    "ColumnLayout or call fit(X_public) first."
                )
        return Relaxation(kind, info["n_features"], info["device"], stats=stats, layout=layout)

    def _labels(self, labels, batch_size, info, observation, work, buffers, relaxation, nm, gen):
        n_classes = info["n_classes"]
        if labels is not None:
            y = np.asarray(labels).ravel()
            if not np.issubdtype(y.dtype, np.number) or y.shape[0] != batch_size:
                raise ValueError(
                    f"labels must hold {batch_size} class indices in [0, {n_classes})."
                )
            y = y.astype(np.int64)
            if y.min() < 0 or y.max() >= n_classes:
                raise ValueError(
                    f"labels must hold {batch_size} class indices in [0, {n_classes})."
                )
            y = np.sort(y)
            return y, np.bincount(y, minlength=n_classes)
        if info["last_bias"] is None:
            raise ValueError("model needs a bias in its last Linear layer to recover labels.")
        o = observation.offsets[info["last_bias"]]
        bias_grad = observation.label_grad[o : o + n_classes]
        with torch.no_grad():
            dummy = relaxation.sample(512, gen)
            logits = functional_call(work, (observation.params, buffers), (dummy,))
            mean_proba = torch.softmax(logits, 1).mean(0).cpu().numpy()
        scaled = nm is not None and nm.clip_norm is not None
        counts = recover_label_counts(bias_grad, batch_size, mean_proba, unknown_scale=scaled)
        return np.repeat(np.arange(n_classes), counts), counts

    def _closed_form(self, observation, info, relaxation):
        if info["first_bias"] is None or info["first_weight"] is None:
            return None
        x = closed_form(observation.obs, observation.offsets, info)
        if x is None:
            return None
        return relaxation.finalize(x.cpu().numpy()[None, :])

    @staticmethod
    def _closed_form_exact(obs, nm):
        if nm is None:
            return True
        if nm.noise is not None:
            return False
        view = pruning_view(obs, nm)
        # magnitude pruning that removed nothing non-zero leaves the gradient exact
        return view is None or (view[1] == "magnitude" and view[2] == 0.0)

    def _weight(self, nm):
        if isinstance(self.prior_weight, str):
            # the posterior only has a finite prior weight when the gradient is noisy
            return 1.0 if self.loss == "bayes" and _noisy(nm) else 0.0
        return float(self.prior_weight)

    def _search(
        self,
        observers,
        objective,
        relaxation,
        y,
        counts,
        batch_size,
        info,
        gen,
        extra,
        span=None,
        analytic=False,
    ):
        """Search from random starts (and the ``extra`` records; the first is the closed
        form when ``analytic``)."""
        if "replay" not in observers or self.update_mode == "gradient":
            modes = ["gradient"]
        elif self.update_mode == "replay":
            modes = ["replay"]
        else:
            modes = ["gradient", "replay"]
        init = relaxation.init(self.n_restarts, batch_size, gen)
        if span is not None and relaxation.kind == "mixed":
            # start from prior records projected onto the span of the records, which the
            # first layer's weight gradient (sum_i delta_i x_i^T) reveals
            X0 = relaxation.sample(self.n_restarts * batch_size, gen)
            X0 = (X0 @ span) @ span.T
            X0 = X0.reshape(self.n_restarts, batch_size, -1)
            init = relaxation.to_latent(X0, eps=0.05)
        n_analytic = int(analytic)
        if hasattr(relaxation, "pad"):
            extra = [relaxation.pad(x) for x in extra]
        for i, x in enumerate(extra[: self.n_restarts]):
            init[i] = relaxation.to_latent(x[0:batch_size])
        candidates = {}
        for mode in modes:
            observe_fn = observers.get(f"{mode}_search", observers[mode])

            def losses_of(Z, observe_fn=observe_fn):
                return objective(relaxation.transform(Z), observe_fn)

            Z = optimise(
                init,
                losses_of,
                max_iter=self.max_iter,
                refine_iter=self.refine_iter,
                learning_rate=self.learning_rate,
                verbose=self.verbose,
                tag=mode,
            )
            candidates[mode] = pool(
                Z, relaxation, lambda X, f=observe_fn: objective(X, f), y, extra=extra
            )
            if "replay_search" not in observers:
                # SGD: the one-gradient view is a good start for the replay; under Adam
                # (the update a sign pattern, not a gradient) the replay starts afresh
                init = candidates[mode]["Z_init"]
        mode_losses = {}
        if "replay" in observers:
            for mode, cand in candidates.items():
                X_c = torch.as_tensor(cand["X"], dtype=torch.float64, device=info["device"])
                mode_losses[mode] = float(objective(X_c[None], observers["replay"])[0])
            best = min(modes, key=lambda m: (mode_losses[m], m != "gradient"))
        else:
            best = modes[0]
        cand = candidates[best]
        method = "analytic" if cand["pick"] < n_analytic else best
        X_out, masks = cand["X"], None
        if hasattr(relaxation, "strip"):
            X_out, masks = relaxation.strip(cand["X"]), cand["X"][..., relaxation.n_features :]
        return GradientReconstruction(
            X_out,
            y,
            cand["confidence"],
            float(mode_losses.get(best, cand["loss"])),
            method,
            counts,
            cand["restart_losses"],
            mode_losses,
            cand["field_confidence"],
            masks,
        )
