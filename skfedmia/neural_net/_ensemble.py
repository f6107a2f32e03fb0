"""Train many small MLPs of one architecture together, as one batched model.

Shadow models and reference models are K copies of the same architecture, each trained on
its own rows with its own seed. Trained one after the other, each step of a small MLP is a
handful of tiny matrix products dominated by fixed per-call costs; stacked, the K models run
as batched matrix products (``torch.baddbmm``) and the costs are shared. The optimizer is one
elementwise optimizer over the stacked parameters, which is exactly K independent optimizers.

Every model draws its initial weights, batch orders and dropout masks from its own generator,
seeded as ``TorchMLPClassifier(random_state=...)`` seeds itself, so on the CPU the stacked
models equal models trained one by one up to float rounding. For tanh, sigmoid, relu and
identity hidden layers the backward pass is written out (the products autograd would run,
without its graph) and a fused Adam or AdamW steps through its kernel directly: for a
model as small as the attack's 64-unit MLP those two costs were most of a step.

:func:`train_epochs_lean` continues one net for a few epochs (a federation's node step)
with the operations of its ``partial_fit``, bit for bit, without skorch's per-batch loop.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.base import clone
from sklearn.preprocessing import LabelEncoder
from torch import nn

from ..utils._device import resolve_device
from ..utils._random import draw_seed
from ._classifier import TorchMLPClassifier, build_optimizer
from ._module import MLPModule, make_activation

__all__ = ["fit_mlp_ensemble", "can_fit_together", "train_epochs_lean"]

_ELEMENTWISE_OPTIMIZERS = (
    torch.optim.Adam,
    torch.optim.AdamW,
    torch.optim.SGD,
    torch.optim.RMSprop,
    torch.optim.Adagrad,
    torch.optim.Adamax,
)


def can_fit_together(estimator) -> bool:
    """Whether :func:`fit_mlp_ensemble` can train copies of ``estimator`` together.

    True for a :class:`TorchMLPClassifier` with an :class:`MLPModule`, a cross-entropy
    loss, an elementwise torch optimizer (Adam, AdamW, SGD, RMSprop, Adagrad, Adamax), no
    internal validation split and no callbacks of its own.

    Parameters
    ----------
    estimator : object
        The estimator whose copies are to be trained.
    """
    if type(estimator) is not TorchMLPClassifier:
        return False
    params = estimator.get_params(deep=False)
    module = params["module"]
    if not (isinstance(module, type) and issubclass(module, MLPModule)):
        return False
    if params["criterion"] is not nn.CrossEntropyLoss:
        return False
    optimizer = params["optimizer"]
    if not (isinstance(optimizer, type) and issubclass(optimizer, _ELEMENTWISE_OPTIMIZERS)):
        return False
    if params["train_split"] is not None or params["callbacks"]:
        return False
    # routed parameters we do not reproduce (criterion__, iterator_train__ other than
    # shuffle/batch_size, dataset__ ...) send the caller to the one-by-one path
    allowed_prefixes = ("module__", "optimizer__", "iterator_train__shuffle")
    for key in params:
        if "__" in key and not key.startswith(allowed_prefixes):
            if key.startswith("callbacks__"):
                continue
            return False
    return True


def _module_kwargs(estimator, n_features, n_classes):
    kwargs = {
        "n_features": n_features,
        "n_classes": n_classes,
        "hidden_layer_sizes": estimator.hidden_layer_sizes,
        "activation": estimator.activation,
        "dropout": estimator.dropout,
    }
    kwargs.update(estimator.get_params_for("module"))
    return kwargs


class _StackedMLP(nn.Module):
    """K MLPs with the same layout; weights of shape (K, in, out)."""

    def __init__(self, modules: list[MLPModule], activation: str, dropout: float):
        super().__init__()
        linears = [m.linear_layers for m in modules]
        self.weights = nn.ParameterList(
            [
                nn.Parameter(torch.stack([ls[i].weight.detach().T for ls in linears]).clone())
                for i in range(len(linears[0]))
            ]
        )
        self.biases = nn.ParameterList(
            [
                nn.Parameter(torch.stack([ls[i].bias.detach()[None, :] for ls in linears]).clone())
                for i in range(len(linears[0]))
            ]
        )
        self.act = make_activation(activation)
        self.activation = activation
        self.dropout = dropout

    @property
    def hidden_sizes(self) -> list[int]:
        return [W.shape[2] for W in self.weights[:-1]]

    def forward(self, X, masks=None):
        """Logits ``(K, B, n_classes)``; ``masks`` holds one scaled dropout mask per layer."""
        h = X
        last = len(self.weights) - 1
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, W)
            if i < last:
                h = self.act(h)
                if masks is not None:
                    h = h * masks[i]
        return h

    def unstack_into(self, k: int, module: MLPModule) -> None:
        with torch.no_grad():
            for lin, W, b in zip(module.linear_layers, self.weights, self.biases):
                lin.weight.copy_(W[k].T)
                lin.bias.copy_(b[k, 0])


def _draw_initial(estimator, seed, n_features, n_classes):
    """Build one model's module and generator exactly as ``TorchMLPClassifier.fit`` does."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = estimator.module(**_module_kwargs(estimator, n_features, n_classes))
        generator = torch.Generator()
        generator.set_state(torch.get_rng_state())
    return module, generator


def _epoch_masks(generators, batches, hidden, dropout, device):
    """Every dropout mask of one epoch, drawn in one call per model.

    A model trained alone draws, batch after batch, one Bernoulli mask per hidden layer from
    its generator; the generator's stream does not depend on how the draws are split, so one
    draw of all the epoch's mask entries, cut batch by batch and layer by layer, gives the
    very same masks. Returns ``masks[batch][layer]`` of shape ``(K, B, H)``, scaled by
    ``1 / (1 - dropout)``.
    """
    keep = 1.0 - dropout
    width = sum(hidden)
    n_rows = batches[-1][1]
    draws = torch.stack(
        [torch.empty(n_rows * width).bernoulli_(keep, generator=g) for g in generators]
    ).to(device)
    draws.div_(keep)
    masks = []
    for start, stop in batches:
        B = stop - start
        chunk = draws[:, start * width : stop * width]
        layer_masks, offset = [], 0
        for H in hidden:
            layer_masks.append(chunk[:, offset : offset + B * H].view(-1, B, H))
            offset += B * H
        masks.append(layer_masks)
    return masks


# the derivative of a hidden activation from its output h, for the hand-written backward
# pass; other activations go through autograd
_DERIVATIVES = {
    "tanh": lambda h: 1.0 - h * h,
    "sigmoid": lambda h: h * (1.0 - h),
    "relu": lambda h: (h > 0).to(h.dtype),
    "identity": None,
}


def _backward(layers, derivative, inputs, outputs, masks, logits, targets, grads, rows):
    """Gradients of the summed per-model mean cross-entropy, written into ``grads``.

    What autograd computes for this graph (the same products, so the same values up to
    float rounding), without building and walking the graph at every step, which costs a
    small model more than the products themselves. ``inputs[i]`` is layer ``i``'s input,
    ``outputs[i]`` hidden layer ``i``'s activation before dropout; ``layers`` the
    ``(weight, bias)`` pairs, ``rows`` ``arange(K * B)``.
    """
    K, B, _ = logits.shape
    g = torch.softmax(logits, dim=-1).view(K * B, -1)
    g[rows, targets] -= 1.0
    g = g.view(K, B, -1).div_(B)
    for i in range(len(layers) - 1, -1, -1):
        grad_w, grad_b = grads[2 * i], grads[2 * i + 1]
        torch.bmm(inputs[i].transpose(1, 2), g, out=grad_w)
        torch.sum(g, dim=1, keepdim=True, out=grad_b)
        if i == 0:
            break
        g = torch.bmm(g, layers[i][0].transpose(1, 2))
        if masks is not None:
            g.mul_(masks[i - 1])
        if derivative is not None:
            g.mul_(derivative(outputs[i - 1]))


def _forward_saving(layers, act, xb, masks):
    """Logits, every layer's input and every hidden activation (for :func:`_backward`)."""
    inputs, outputs = [], []
    h = xb
    last = len(layers) - 1
    for i, (W, b) in enumerate(layers):
        inputs.append(h)
        h = torch.baddbmm(b, h, W)
        if i < last:
            h = act(h)
            outputs.append(h)
            if masks is not None:
                h = h * masks[i]
    return h, inputs, outputs


def _fused_adam_step(optimizer):
    """One step of a fused Adam / AdamW straight through torch's kernel, or ``None``.

    ``optimizer.step()`` spends most of a small model's step in Python (profiling hooks,
    grouping the tensors, checks); for a fused Adam or AdamW on one parameter group, with
    its state created by a first regular step, this makes the very same kernel call on the
    very same tensors. Returns ``None`` where that does not hold.
    """
    kernel = {
        torch.optim.Adam: getattr(torch, "_fused_adam_", None),
        torch.optim.AdamW: getattr(torch, "_fused_adamw_", None),
    }.get(type(optimizer))
    if kernel is None or len(optimizer.param_groups) != 1:
        return None
    group = optimizer.param_groups[0]
    plain = not any(group.get(k) for k in ("amsgrad", "maximize", "capturable", "differentiable"))
    if not (group.get("fused") and plain and isinstance(group["lr"], float)):
        return None
    if type(optimizer) is torch.optim.Adam and group.get("decoupled_weight_decay"):
        kernel = getattr(torch, "_fused_adamw_", None)
    params = list(group["params"])
    state = [optimizer.state[p] for p in params]
    if kernel is None or not all({"step", "exp_avg", "exp_avg_sq"} <= set(st) for st in state):
        return None
    exp_avgs = [st["exp_avg"] for st in state]
    exp_avg_sqs = [st["exp_avg_sq"] for st in state]
    steps = [st["step"] for st in state]
    beta1, beta2 = group["betas"]
    settings = dict(
        amsgrad=False,
        lr=group["lr"],
        beta1=beta1,
        beta2=beta2,
        weight_decay=group["weight_decay"],
        eps=group["eps"],
        maximize=False,
        grad_scale=None,
        found_inf=None,
    )

    direct = [True]

    def step():
        if not direct[0]:
            optimizer.step()
            return
        grads = [p.grad for p in params]
        torch._foreach_add_(steps, 1)
        try:
            kernel(params, grads, exp_avgs, exp_avg_sqs, [], steps, **settings)
        except (TypeError, RuntimeError):
            # a torch whose private kernel takes other arguments: undo the step count
            # and let the optimizer step from now on
            torch._foreach_sub_(steps, 1)
            direct[0] = False
            optimizer.step()

    return step


def _fit_group(estimator, X, y, seeds, n_classes, device):
    """Train len(seeds) models on X[k], y[k] (all with the same number of rows)."""
    K, n, d = X.shape
    modules, generators = zip(*(_draw_initial(estimator, s, d, n_classes) for s in seeds))
    stacked = _StackedMLP(list(modules), modules[0].activation, modules[0].dropout).to(device)
    # fused where torch has a fused kernel, as TorchMLPClassifier does
    opt_args, opt_kwargs = estimator.get_params_for_optimizer(
        "optimizer", stacked.named_parameters()
    )
    optimizer = build_optimizer(estimator.optimizer, opt_args, opt_kwargs)
    # flat (K * n, d) storage: a batch is one index_select of rows k * n + idx[k]
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device).reshape(K * n, d)
    yt = torch.as_tensor(y, dtype=torch.int64, device=device).reshape(K * n)
    offsets = torch.arange(K, device=device)[:, None] * n
    batch_size = n if estimator.batch_size in (-1, None) else int(estimator.batch_size)
    shuffle = estimator.get_params_for("iterator_train").get("shuffle", True)
    batches = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    hidden = stacked.hidden_sizes
    dropout = stacked.dropout > 0
    # the hand-written backward pass writes into gradient buffers that live as long as
    # the training: every parameter has one, in the order weights, bias of each layer
    manual = stacked.activation in _DERIVATIVES
    if manual:
        params = [p for pair in zip(stacked.weights, stacked.biases) for p in pair]
        for p in params:
            p.grad = torch.zeros_like(p)
        grads = [p.grad for p in params]
        # views of the parameters that the optimizer updates in place
        layers = [(W.detach(), b.detach()) for W, b in zip(stacked.weights, stacked.biases)]
        derivative = _DERIVATIVES[stacked.activation]
        rows = {}
    fast_step = None
    stacked.train()
    for _ in range(int(estimator.max_epochs)):
        if shuffle:
            order = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(device)
        else:
            order = torch.arange(n, device=device).expand(K, n)
        order = order + offsets  # rows of model k live at k * n ... k * n + n - 1
        masks = (
            _epoch_masks(generators, batches, hidden, stacked.dropout, device) if dropout else None
        )
        for b, (start, stop) in enumerate(batches):
            B = stop - start
            idx = order[:, start:stop].reshape(-1)
            xb = Xt.index_select(0, idx).view(K, B, d)
            targets = yt.index_select(0, idx)
            batch_masks = None if masks is None else masks[b]
            if manual:
                if B not in rows:
                    rows[B] = torch.arange(K * B, device=device)
                with torch.no_grad():
                    logits, inputs, outputs = _forward_saving(layers, stacked.act, xb, batch_masks)
                    _backward(
                        layers,
                        derivative,
                        inputs,
                        outputs,
                        batch_masks,
                        logits,
                        targets,
                        grads,
                        rows[B],
                    )
                    if fast_step is not None:
                        fast_step()
                        continue
                optimizer.step()
                # the first step created the optimizer's state; later ones may skip its
                # Python machinery
                fast_step = _fused_adam_step(optimizer)
                continue
            logits = stacked(xb, batch_masks)
            loss = (
                nn.functional.cross_entropy(logits.reshape(K * B, -1), targets, reduction="sum") / B
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    stacked.eval()
    return stacked


def fit_mlp_ensemble(estimator, datasets, *, random_states, classes=None):
    """Fit one copy of ``estimator`` per data set, all trained together.

    Parameters
    ----------
    estimator : TorchMLPClassifier
        The template (unfitted or fitted; only its parameters are used). It must pass
        :func:`can_fit_together`.
    datasets : list of (X, y)
        One training set per model. Models whose sets have the same number of rows train
        as one batched model.
    random_states : list of int
        One seed per model; model ``k`` equals
        ``clone(estimator).set_params(random_state=random_states[k]).fit(*datasets[k])``
        up to float rounding on the CPU.
    classes : array-like, default=None
        Every class label; default: the union of the data sets' labels.

    Returns
    -------
    models : list of TorchMLPClassifier
        Fitted classifiers with ``module_``, ``classes_`` and ``n_features_in_`` set (their
        optimizer state is fresh, their skorch history empty).

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia import TorchMLPClassifier
    >>> from skfedmia.neural_net import fit_mlp_ensemble
    >>> rng = np.random.RandomState(0)
    >>> data = [(rng.rand(40, 5), rng.randint(0, 3, 40)) for _ in range(4)]
    >>> template = TorchMLPClassifier(max_epochs=3)
    >>> models = fit_mlp_ensemble(template, data, random_states=[0, 1, 2, 3])
    >>> models[2].predict_proba(data[2][0]).shape
    (40, 3)
    """
    if not can_fit_together(estimator):
        raise ValueError(
            "estimator cannot be trained as a stacked ensemble: it needs a TorchMLPClassifier "
            "with an MLPModule, cross-entropy loss, an elementwise optimizer, no train_split "
            "and no callbacks. Train such models one by one."
        )
    if len(datasets) != len(random_states):
        raise ValueError(
            f"random_states has {len(random_states)} seeds for {len(datasets)} data sets."
        )
    prepared = []
    for X, y in datasets:
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError("each data set must be (X of shape (n, d), y of shape (n,)).")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinity.")
        prepared.append((X, y))
    widths = {X.shape[1] for X, _ in prepared}
    if len(widths) != 1:
        raise ValueError(f"all data sets need the same number of features, got {sorted(widths)}.")
    encoder = LabelEncoder().fit(
        np.unique(np.concatenate([y for _, y in prepared])) if classes is None else classes
    )
    if len(encoder.classes_) < 2:
        raise ValueError("the data sets hold 1 class; classification needs at least 2.")
    device = resolve_device(estimator.device)
    seeds = [draw_seed(rs) for rs in random_states]
    n_classes = len(encoder.classes_)
    models = [None] * len(prepared)
    sizes = np.array([len(y) for _, y in prepared])
    for n in np.unique(sizes):
        members = np.flatnonzero(sizes == n)
        X = np.stack([prepared[k][0] for k in members])
        y = np.stack([encoder.transform(prepared[k][1]) for k in members])
        stacked = _fit_group(estimator, X, y, [seeds[k] for k in members], n_classes, device)
        for j, k in enumerate(members):
            model = clone(estimator).set_params(random_state=random_states[k])
            model.label_encoder_ = encoder
            model.n_features_in_ = X.shape[2]
            with torch.random.fork_rng(devices=[]):
                model.initialize()
            stacked.unstack_into(j, model.module_)
            models[k] = model
    return models


def train_epochs_lean(estimator, X, y, *, epochs, classes=None):
    """``estimator.partial_fit(X, y, classes=classes, epochs=epochs)`` without skorch's loop.

    A federation continues its model for a few epochs at every node step. skorch's loop
    wraps each mini-batch in callbacks, a closure and per-batch history records, which cost
    a fifth of a small MLP's step on the CPU. For a :class:`TorchMLPClassifier` that
    :func:`can_fit_together` this runs the very same operations in the same order: the same
    batches drawn from the estimator's own torch generator, its module, loss and optimizer
    (whatever state the caller left it in; a fused Adam or AdamW steps through the same
    kernel call without ``optimizer.step()``'s Python machinery), so the parameters, the
    optimizer state and the generator state come out bit for bit as ``partial_fit``
    leaves them. The history gets
    one record per epoch (``epoch``, ``train_loss``, ``train_batch_count``, ``dur``), no
    per-batch records. Any other estimator, a net that prints its progress (``verbose``)
    or stops quietly on Ctrl-C (``on_interrupt="stop"``) trains through ``partial_fit``; a
    net not yet initialised is initialised as a first ``partial_fit`` call does.

    Parameters
    ----------
    estimator : TorchMLPClassifier
        The net to train in place.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    epochs : int
        Passes over the rows.
    classes : array-like, default=None
        Every class label, used when this call initialises the net.

    Examples
    --------
    >>> import numpy as np
    >>> from skfedmia import TorchMLPClassifier
    >>> from skfedmia.neural_net._ensemble import train_epochs_lean
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.rand(40, 5), rng.randint(0, 3, 40)
    >>> net = TorchMLPClassifier(random_state=0)
    >>> train_epochs_lean(net, X, y, epochs=2)
    >>> train_epochs_lean(net, X, y, epochs=3)
    >>> len(net.history_)
    5
    """
    from ._data import TensorDataset

    lean = (
        can_fit_together(estimator)
        and estimator.on_interrupt == "raise"
        and not estimator.verbose  # skorch prints its epoch table then
    )
    if not lean:
        estimator.partial_fit(X, y, classes=classes, epochs=epochs)
        return
    if not getattr(estimator, "initialized_", False):
        # initialise as a first partial_fit does; the generator state it leaves is where
        # that call's training would start
        estimator.partial_fit(X, y, classes=classes, epochs=0)
    dataset = estimator.get_dataset(*estimator._validate_fit_input(X, y, first=False))
    if not isinstance(dataset, TensorDataset):  # a dataset of the caller's own
        estimator.partial_fit(X, y, classes=classes, epochs=epochs)
        return
    iterator = estimator.get_iterator(dataset, training=True)
    module, optimizer, history = estimator.module_, estimator.optimizer_, estimator.history_
    step = None
    with estimator._torch_rng(fresh=False):
        estimator._set_training(True)
        for _ in range(int(epochs)):
            start = time.time()
            history.new_epoch()
            history.record("epoch", len(history))
            total, count, n_batches = 0.0, 0, 0
            for xb, yb in iterator:
                optimizer.zero_grad()
                loss = estimator.get_loss(module(xb), yb, X=xb, training=True)
                loss.backward()
                if step is None:
                    # a first regular step creates the optimizer's state if it has none
                    optimizer.step()
                    step = _fused_adam_step(optimizer) or optimizer.step
                else:
                    step()
                total += loss.item() * len(xb)
                count += len(xb)
                n_batches += 1
            history.record("train_batch_count", n_batches)
            history.record("train_loss", total / max(count, 1))
            history.record("dur", time.time() - start)
