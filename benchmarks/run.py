"""Speed and memory of skfedmia's training paths, each against a plain baseline.

Run ``python benchmarks/run.py`` (``--help`` for options). Every case runs in a fresh
subprocess so that its peak memory is its own. Within a case the variants run back to back
in every repeat (in a rotating order); times are medians over ``--repeats`` runs and every
ratio is the median of the per-repeat ratios to the baseline, so slow drifts in machine
load hit both sides of a ratio alike.

Cases
-----
mlp_epoch
    One training epoch of the paper's MLP (600-128 tanh-100, Adam, batch 128, 3,333 rows):
    a plain torch loop over tensors with torch's default Adam (the baseline), the same loop
    with torch's fused Adam (what ``TorchMLPClassifier`` uses, so the gap to it is skorch's
    machinery alone), ``TorchMLPClassifier``, and skorch's default ``NeuralNetClassifier``
    (DataLoader, per-sample collation) for context.
ensemble_K
    K shadow-sized MLPs (1,000 rows each) trained together by ``fit_mlp_ensemble`` versus
    one by one with ``TorchMLPClassifier.fit``; time per model. Both sides use the fused
    optimizer; the "unfused" pair repeats the comparison with torch's default Adam.
reproduce_quick
    ``skfedmia reproduce --quick`` end to end.
cell
    One federated cell of the paper's protocol (50 classes, 3 nodes, 5 cycles, 20 local
    epochs, 10 shadow models, insider monitor after every step) in several variants timed
    in the same process: every speed-up off (shadow models one by one, skorch's DataLoader
    batching and per-batch mode switch, torch's default optimizer), without the lean paths
    (skorch's per-batch loop for the node steps and the attack model, autograd for the
    stacked shadows), the attack model in batches of 1,024 (not kept) and skfedmia as it
    is. ``--cell-variants`` picks some (``off lean large skfedmia``); ratios are to the
    first one timed.
cell_figures
    One small federated cell (``--figure-cycles`` cycles of ``--cell-epochs`` epochs, 50
    classes, 3 nodes, the insider monitor) with and without the lean paths, the same
    seed: the largest difference of every number the cell reports (per-step attack
    figures, the colluding insiders', node attribution, final accuracies).
attack_model
    The protocol's attack model (64 sigmoid units, 40 epochs) trained in batches of 128 at
    ``lr=0.005`` (what the protocol uses; ratios are to the same without the lean paths),
    512 at 0.01 and 1,024 at 0.01, inside
    the shadow attack on one node's model (50 classes, 3,333 rows, 20 epochs; 10 shadows of
    2,500 rows: 50,000 attack-model rows), for ``--attack-seeds`` seeds: the attack's fit
    time (shadows included) and its AUC and accuracy on 3,333 members and as many
    non-members.
cell_scaling
    How one federated cell's cost grows (``--scale-cycles`` cycles of ``--scale-epochs``
    local epochs, 50 classes, insider monitor): with the nodes (3 / 10 / 15, 10,000 rows),
    the federation's rows (2,500 / 5,000 / 10,000, 3 nodes) and the shadow models
    (5 / 10 / 20); each a ratio to the base cell (3 nodes, 10,000 rows, 10 shadows) timed
    in the same run.
grid_parallel
    A small grid (``--grid-seeds`` seeds x (a baseline and 3 / 10-node federations),
    ``--scale-cycles`` x ``--scale-epochs``, 4,000 federation rows, 5 shadows) computed
    one cell at a time and with ``--grid-jobs`` cells at once (default: all cores); the
    ratio is the parallel run's time over the serial one's, and the two runs' tables are
    checked to be identical.

Results go to a table on stdout and to JSON (``--json``, default
``docs/results/benchmarks/results-<device>.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = ROOT / "docs" / "results" / "benchmarks"  # where published results live


# ---------------------------------------------------------------------------- helpers
def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _data(n, d=600, n_classes=100, seed=0):
    import numpy as np

    rng = np.random.RandomState(seed)
    X = (rng.rand(n, d) < 0.07).astype(np.float32)
    y = rng.randint(0, n_classes, n)
    return X, y


def _time(fn, repeats, device, cpu=None):
    """Wall-clock seconds of ``repeats`` calls; their CPU seconds go to ``cpu`` if given."""
    times = []
    for _ in range(repeats):
        _sync(device)
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
    return times


def _paired(variants, repeats, device, per, unit, base_name, base_of=None):
    """Time every variant once per repeat, in a rotating order, and compare within repeats.

    Each repeat runs all variants back to back, so a variant's ratio to the baseline is
    taken from timings seconds apart; the reported ratio is the median of these paired
    ratios, which shifting machine load disturbs far less than a ratio of medians.
    ``per`` divides a run's time (epochs or models); ``unit`` names the resulting key;
    ``base_of`` maps a variant to another baseline than ``base_name``.
    """
    names = list(variants)
    samples = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name] += _time(variants[name], 1, device, cpu[name])
    scale = 1000.0 if unit.startswith("ms") else 1.0
    rows = {}
    for name in names:
        base = (base_of or {}).get(name, base_name)
        ratios = [t / b for t, b in zip(samples[name], samples[base])]
        cpu_ratios = [t / b for t, b in zip(cpu[name], cpu[base])]
        rows[name] = {
            unit: scale * statistics.median(samples[name]) / per,
            "ratio": statistics.median(ratios),
            "ratio_to": base,
            "ratio_range": [min(ratios), max(ratios)],
            "runs": [scale * t / per for t in samples[name]],
            # CPU seconds of this process: less disturbed than wall time by other jobs
            "cpu_" + unit: scale * statistics.median(cpu[name]) / per,
            "cpu_ratio": statistics.median(cpu_ratios),
            "cpu_runs": [scale * t / per for t in cpu[name]],
        }
    return rows


# ---------------------------------------------------------------------------- cases
def _plain_epochs(model, opt, forward, yt, epochs):
    """A plain torch training loop: shuffled batches of 128, ``forward(indices)`` gives the
    logits of those rows."""
    import torch

    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(yt)).to(yt.device)
        for start in range(0, len(yt), 128):
            idx = order[start : start + 128]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(forward(idx), yt[idx])
            loss.backward()
            opt.step()


def case_mlp_epoch(args):
    import numpy as np
    import torch
    from skorch import NeuralNetClassifier

    from skfedmia import TorchMLPClassifier
    from skfedmia.neural_net import MLPModule
    from skfedmia.utils import resolve_device

    device = resolve_device(args.device)
    X, y = _data(3333)
    epochs = args.epochs
    torch.manual_seed(0)

    # plain torch loops: tensors on the device, randperm batches, Adam as a user writes it
    # (torch's default implementation) and with torch's fused kernel, which
    # TorchMLPClassifier uses; the second isolates what skorch's machinery costs
    Xt = torch.as_tensor(X, device=device)
    yt = torch.as_tensor(y, device=device)

    def plain_loop(fused):
        model = MLPModule(600, 100, (128,), "tanh", 0.2).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, **({"fused": True} if fused else {}))

        return lambda: _plain_epochs(model, opt, lambda idx: model(Xt[idx]), yt, epochs)

    ours = TorchMLPClassifier(max_epochs=1, device=args.device, random_state=0)
    ours.partial_fit(X, y, epochs=1)

    skorch_net = NeuralNetClassifier(
        MLPModule,
        module__n_features=600,
        module__n_classes=100,
        module__dropout=0.2,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        batch_size=128,
        max_epochs=1,
        train_split=None,
        verbose=0,
        device=str(device),
        iterator_train__shuffle=True,
    )
    skorch_net.partial_fit(X, y.astype(np.int64), epochs=1)

    variants = {
        "plain torch loop": plain_loop(fused=False),
        "plain loop, fused Adam": plain_loop(fused=True),
        "TorchMLPClassifier": lambda: ours.partial_fit(X, y, epochs=epochs),
        "skorch default": lambda: skorch_net.partial_fit(X, y.astype(np.int64), epochs=epochs),
    }
    for run in variants.values():  # warm-up
        run()
    rows = _paired(variants, args.repeats, device, epochs, "ms_per_epoch", "plain torch loop")
    # what skorch's machinery costs: against the loop that steps the same fused optimizer
    ours_runs, fused_runs = (
        rows["TorchMLPClassifier"]["runs"],
        rows["plain loop, fused Adam"]["runs"],
    )
    rows["TorchMLPClassifier"]["ratio_to_same_optimizer_loop"] = statistics.median(
        [a / b for a, b in zip(ours_runs, fused_runs)]
    )
    return rows


def case_sparse_input(args):
    """The paper's MLP trained by a plain torch loop, its first layer dense as always or
    computed from the binary inputs' ones (an embedding-bag sum of weight columns: the same
    function up to float rounding). Measures what a sparse first layer would save on
    purchase-like rows (about 7% ones); skfedmia does not use it (see docs/benchmarks.md).
    """
    import torch

    from skfedmia.neural_net import MLPModule
    from skfedmia.utils import resolve_device

    device = resolve_device(args.device)
    X, y = _data(3333)
    Xt = torch.as_tensor(X, device=device)
    yt = torch.as_tensor(y, device=device)
    # the rows' ones as (column, row) pairs, sorted by row: a batch's bags are gathered
    # with index arithmetic, no Python loop over rows
    rows_of, cols = torch.nonzero(Xt, as_tuple=True)
    counts = torch.bincount(rows_of, minlength=len(Xt))
    starts = torch.cumsum(counts, 0) - counts
    epochs = args.epochs

    def loop(sparse):
        torch.manual_seed(0)
        model = MLPModule(600, 100, (128,), "tanh", 0.2).to(device)
        first, rest = model.layers[0], model.layers[1:]  # Linear, then the rest
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)

        def forward(idx):
            if not sparse:
                return model(Xt[idx])
            n = counts[idx]
            offsets = torch.cumsum(n, 0) - n
            within = torch.arange(int(n.sum()), device=device) - torch.repeat_interleave(offsets, n)
            flat = cols[torch.repeat_interleave(starts[idx], n) + within]
            h = (
                torch.nn.functional.embedding_bag(flat, first.weight.T, offsets, mode="sum")
                + first.bias
            )
            return rest(h)

        return lambda: _plain_epochs(model, opt, forward, yt, epochs), model, first, rest

    dense_run, model, first, rest = loop(False)
    # the sparse path computes the same function: check it on one batch before timing
    sparse_run, s_model, s_first, s_rest = loop(True)
    s_model.eval()
    with torch.no_grad():
        idx = torch.arange(128, device=device)
        n = counts[idx]
        offsets = torch.cumsum(n, 0) - n
        bag = torch.nn.functional.embedding_bag(
            torch.cat([cols[starts[i] : starts[i] + counts[i]] for i in idx.tolist()]),
            s_first.weight.T,
            offsets,
            mode="sum",
        )
        dense_h = Xt[idx] @ s_first.weight.T
        assert torch.allclose(bag, dense_h, atol=1e-5), "embedding-bag first layer differs"
    variants = {"dense first layer": dense_run, "embedding-bag first layer": sparse_run}
    for run in variants.values():  # warm-up
        run()
    return _paired(variants, args.repeats, device, epochs, "ms_per_epoch", "dense first layer")


def case_ensemble(args, K):
    import torch
    from sklearn.base import clone

    from skfedmia import TorchMLPClassifier
    from skfedmia.neural_net import fit_mlp_ensemble
    from skfedmia.utils import resolve_device

    device = resolve_device(args.device)
    n = 1000
    X, y = _data(n * K, seed=1)
    data = [(X[k * n : (k + 1) * n], y[k * n : (k + 1) * n]) for k in range(K)]
    template = TorchMLPClassifier(max_epochs=args.epochs, device=args.device)
    seeds = list(range(K))

    plain_template = clone(template).set_params(optimizer__fused=False)

    def together(tpl):
        return lambda: fit_mlp_ensemble(tpl, data, random_states=seeds)

    def one_by_one(tpl):
        def run():
            for k in range(K):
                clone(tpl).set_params(random_state=k).fit(*data[k])

        return run

    # the default variants use torch's fused optimizer kernel on both sides; the
    # "unfused" pair shows the stacking gain with torch's default optimizer
    variants = {
        "one by one": one_by_one(template),
        "together": together(template),
        "one by one, unfused Adam": one_by_one(plain_template),
        "together, unfused Adam": together(plain_template),
    }
    variants["together"]()  # warm-up
    out = _paired(
        variants,
        args.repeats,
        device,
        K,
        "s_per_model",
        "one by one",
        base_of={"together, unfused Adam": "one by one, unfused Adam"},
    )
    del torch
    return out


def case_reproduce_quick(args):
    from skfedmia.experiments._cli import main

    times = []
    for _ in range(args.reproduce_repeats):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            code = main(["reproduce", "--quick", "--quiet", "--out", out, "--device", args.device])
            times.append(time.perf_counter() - start)
            if code != 0:
                raise SystemExit(code)
    return {"skfedmia reproduce --quick": {"s": statistics.median(times), "runs": times}}


def _speedup_switch():
    """``plain_mode(on, lean=True)``: switch skfedmia's speed-ups off (``on``) or back.

    ``on`` turns off what "before" lacks: shadow models one by one, skorch's DataLoader
    batching, skorch's per-batch mode switch, torch's default (unfused) optimizer.
    ``lean=False`` turns off the lean paths: the attack model on the stacked path, the
    stacked models' backward pass by hand with a direct fused-Adam step, the node steps of
    the federation and of the monitor's shadow federation without skorch's per-batch loop.
    """
    import skorch

    from skfedmia.attacks.membership import _shadow_attack, _shadow_training
    from skfedmia.federated import _sequential
    from skfedmia.neural_net import TorchMLPClassifier, _ensemble

    patched = {
        "get_dataset": skorch.NeuralNetClassifier.get_dataset,
        "get_iterator": skorch.NeuralNetClassifier.get_iterator,
        "_set_training": skorch.NeuralNetClassifier._set_training,
        "initialize_optimizer": skorch.NeuralNetClassifier.initialize_optimizer,
    }
    fast = {name: TorchMLPClassifier.__dict__[name] for name in patched}
    fast_together = _shadow_training.can_fit_together
    lean_modules = (_shadow_attack, _sequential)
    derivatives = dict(_ensemble._DERIVATIVES)

    def plain_mode(on, lean=True):
        for name in patched:
            setattr(TorchMLPClassifier, name, patched[name] if on else fast[name])
        _shadow_training.can_fit_together = (lambda estimator: False) if on else fast_together
        for module in lean_modules:
            module.can_fit_together = fast_together if lean and not on else lambda e: False
        _ensemble._DERIVATIVES.clear()
        if lean:
            _ensemble._DERIVATIVES.update(derivatives)

    return plain_mode


def case_cell(args):
    from skfedmia.experiments import ReproductionConfig, _cells, iter_cells
    from skfedmia.experiments._cells import load_data, run_federated
    from skfedmia.utils import resolve_device

    config = ReproductionConfig(
        n_classes=(50,),
        n_nodes=(3,),
        local_epochs=(args.cell_epochs,),
        n_cycles=5,
        n_shadow_models=10,
        device=args.device,
    )
    spec = next(c for c in iter_cells(config) if c["kind"] == "federated")
    data = load_data(config, 50, 0)
    plain_mode = _speedup_switch()

    def variant(plain, lean=True):
        def run():
            plain_mode(plain, lean)
            try:
                run_federated(config, spec, data)
            finally:
                plain_mode(False)

        return run

    def large_batch_attack_model():
        former = dict(_cells.ATTACK_MODEL, batch_size=1024, lr=0.01)
        saved = dict(_cells.ATTACK_MODEL)
        _cells.ATTACK_MODEL.update(former)
        try:
            run_federated(config, spec, data)
        finally:
            _cells.ATTACK_MODEL.update(saved)

    before = "before (one by one, DataLoader, unfused)"
    lean_off = "without the lean paths (skorch's loop for node steps and attack model)"
    variants = {
        before: variant(True),
        lean_off: variant(False, lean=False),
        "attack model in batches of 1,024 (not kept)": large_batch_attack_model,
        "skfedmia": variant(False),
    }
    variants = {name: run for name, run in variants.items() if _selected(name, args.cell_variants)}
    base = next(iter(variants))  # every speed-up off unless left out
    rows = _paired(variants, args.cell_repeats, resolve_device(args.device), 1, "s", base)
    if base != lean_off and lean_off in rows and "skfedmia" in rows:
        # the lean paths' own gain, paired within each repeat as the other ratios
        for key in ("", "cpu_"):
            pairs = zip(rows["skfedmia"][key + "runs"], rows[lean_off][key + "runs"])
            rows["skfedmia"][key + "ratio_to_without_lean"] = statistics.median(
                t / b for t, b in pairs
            )
    return rows


def case_cell_figures(args):
    import numpy as np

    from skfedmia.experiments import ReproductionConfig, iter_cells
    from skfedmia.experiments._cells import load_data, run_federated

    config = ReproductionConfig(
        n_classes=(50,),
        n_nodes=(3,),
        local_epochs=(args.cell_epochs,),
        n_cycles=args.figure_cycles,
        n_shadow_models=10,
        device=args.device,
    )
    spec = next(c for c in iter_cells(config) if c["kind"] == "federated")
    data = load_data(config, 50, 0)
    plain_mode = _speedup_switch()
    results, rows = {}, {}
    for name, lean in (("without the lean paths", False), ("skfedmia", True)):
        plain_mode(False, lean)
        try:
            start, start_cpu = time.perf_counter(), time.process_time()
            results[name] = run_federated(config, spec, data)
            took, took_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        finally:
            plain_mode(False)
        rows[name] = {"s": took, "cpu_s": took_cpu}
    before, after = results["without the lean paths"], results["skfedmia"]

    def numbers(result):
        """Every number a cell reports, by name (steps, collusion, attribution, final)."""
        out = {}
        for kind in ("steps", "collusion", "attribution"):
            for i, record in enumerate(result[kind]):
                for key, value in record.items():
                    values = value.items() if isinstance(value, dict) else [(None, value)]
                    for sub, v in values:
                        if isinstance(v, float) and key not in ("weight",):
                            out[(kind, i, key, sub)] = v
        for key in ("final_test_accuracy", "final_train_accuracy"):
            out[("final", 0, key, None)] = result[key]
        return out

    a, b = numbers(before), numbers(after)
    diffs = {}
    for k in a:
        metric = f"{k[0]}:{k[2]}" + (f".{k[3]}" if k[3] else "")
        d = abs(a[k] - b[k]) if np.isfinite(a[k]) and np.isfinite(b[k]) else 0.0
        diffs[metric] = max(diffs.get(metric, 0.0), d)
    rows["skfedmia"]["max_abs_diff"] = diffs
    rows["skfedmia"]["n_numbers"] = len(a)
    rows["skfedmia"]["n_equal"] = sum(a[k] == b[k] for k in a)
    rows["skfedmia"]["step_roc_auc"] = [r["roc_auc"] for r in after["steps"]]
    rows["without the lean paths"]["step_roc_auc"] = [r["roc_auc"] for r in before["steps"]]
    return rows


def _selected(name, wanted):
    """Whether a cell variant is among the ``--cell-variants`` keywords (all when none)."""
    keywords = {
        "off": "before (one by one",
        "lean": "without the lean",
        "large": "attack model in batches of 1,024",
        "skfedmia": "skfedmia",
    }
    return not wanted or any(name.startswith(keywords[w]) for w in wanted)


def case_attack_model(args):
    import numpy as np

    from skfedmia.attacks.membership import MembershipInferenceAttack, _shadow_attack
    from skfedmia.experiments import ReproductionConfig
    from skfedmia.experiments._cells import ATTACK_MODEL, _split, load_data
    from skfedmia.metrics import attack_report
    from skfedmia.neural_net import TorchMLPClassifier, _ensemble

    skorch_loop = "batch 128, lr 0.005, before the lean paths"
    settings = {
        "batch 128, lr 0.005 (protocol)": dict(batch_size=128, lr=0.005),
        # the protocol's model trained through skorch's per-batch loop and the shadows'
        # backward pass through autograd, as before the lean paths
        skorch_loop: dict(batch_size=128, lr=0.005),
        "batch 512, lr 0.01": dict(batch_size=512, lr=0.01),
        "batch 1024, lr 0.01": dict(batch_size=1024, lr=0.01),
    }
    lean = _shadow_attack.can_fit_together
    derivatives = dict(_ensemble._DERIVATIVES)
    config = ReproductionConfig(n_classes=(50,), n_nodes=(3,), device=args.device)
    runs = {name: [] for name in settings}
    for seed in range(args.attack_seeds):
        split = _split(config, *load_data(config, 50, seed), seed)
        rng = np.random.RandomState(seed)
        node = rng.choice(len(split.y_target), 3333, replace=False)
        X, y = split.X_target[node], split.y_target[node]
        target = TorchMLPClassifier(max_epochs=20, device=args.device, random_state=seed)
        target.fit(X, y)
        n = min(len(y), len(split.y_test))
        out = rng.choice(len(split.y_test), n, replace=False)
        X_eval = np.concatenate([X[:n], split.X_test[out]])
        y_eval = np.concatenate([y[:n], split.y_test[out]])
        membership = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
        for r, name in enumerate(settings):
            name = list(settings)[(r + seed) % len(settings)]  # rotate the order
            model = TorchMLPClassifier(**{**ATTACK_MODEL, **settings[name]}, device=args.device)
            attack = MembershipInferenceAttack(
                target,
                shadow_estimator=TorchMLPClassifier(max_epochs=20, device=args.device),
                n_shadow_models=10,
                shadow_size=min(3333, len(split.y_shadow) // 2),
                disjoint=False,
                attack_estimator=model,
                features=args.attack_features,
                random_state=seed + 100,
            )
            if name == skorch_loop:
                _shadow_attack.can_fit_together = lambda e: False
                _ensemble._DERIVATIVES.clear()
            try:
                start, start_cpu = time.perf_counter(), time.process_time()
                attack.fit(split.X_shadow, split.y_shadow)
                took, took_cpu = time.perf_counter() - start, time.process_time() - start_cpu
            finally:
                _shadow_attack.can_fit_together = lean
                _ensemble._DERIVATIVES.update(derivatives)
            scores = attack.decision_function(X_eval, y_eval)
            report = attack_report(membership, scores, predictions=(scores >= 0).astype(int))
            report = report.to_dict()
            runs[name].append(
                {
                    "s": took,
                    "cpu_s": took_cpu,
                    "auc": report["roc_auc"],
                    "accuracy": report["accuracy"],
                }
            )
    base = skorch_loop
    rows = {}
    for name, rs in runs.items():
        rows[name] = {
            "s": statistics.median(r["s"] for r in rs),
            "ratio": statistics.median(r["s"] / b["s"] for r, b in zip(rs, runs[base])),
            "cpu_s": statistics.median(r["cpu_s"] for r in rs),
            "cpu_ratio": statistics.median(r["cpu_s"] / b["cpu_s"] for r, b in zip(rs, runs[base])),
            "auc": [r["auc"] for r in rs],
            "accuracy": [r["accuracy"] for r in rs],
            "auc_minus_before": [r["auc"] - b["auc"] for r, b in zip(rs, runs[base])],
            "runs": [r["s"] for r in rs],
        }
    return rows


def _scale_config(args, **kw):
    from skfedmia.experiments import ReproductionConfig

    params = dict(
        n_classes=(50,),
        n_nodes=(3,),
        local_epochs=(args.scale_epochs,),
        n_cycles=args.scale_cycles,
        n_shadow_models=10,
        device=args.device,
    )
    params.update(kw)
    return ReproductionConfig(**params)


def case_cell_scaling(args):
    from skfedmia.experiments import iter_cells
    from skfedmia.experiments._cells import load_data, run_federated
    from skfedmia.utils import resolve_device

    base = "3 nodes, 10,000 rows, 10 shadows"
    settings = {
        base: {},
        "10 nodes": {"n_nodes": (10,)},
        "15 nodes": {"n_nodes": (15,)},
        "2,500 rows": {"n_target": 2_500},
        "5,000 rows": {"n_target": 5_000},
        "5 shadows": {"n_shadow_models": 5},
        "20 shadows": {"n_shadow_models": 20},
    }

    def variant(kw):
        config = _scale_config(args, **kw)
        spec = next(c for c in iter_cells(config) if c["kind"] == "federated")
        data = load_data(config, 50, 0)
        return lambda: run_federated(config, spec, data)

    variants = {name: variant(kw) for name, kw in settings.items()}
    return _paired(variants, args.cell_repeats, resolve_device(args.device), 1, "s", base)


def case_grid_parallel(args):
    import filecmp

    from joblib import cpu_count

    from skfedmia.experiments import run_reproduction, write_report

    jobs = args.grid_jobs or cpu_count()
    config = dict(
        n_nodes=(3, 10),
        seeds=tuple(range(args.grid_seeds)),
        n_shadow_models=5,
        n_target=4_000,
        n_shadow=3_000,
        n_test=2_000,
        centralized_epochs=20,
    )
    tables = ["table1_centralized.csv", "table2_final_cycle.csv", "steps.csv"]
    times = {"serial": [], "parallel": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.cell_repeats):
            order = [("serial", 1), ("parallel", jobs)]
            for name, n_jobs in order if r % 2 == 0 else order[::-1]:
                out = Path(tmp) / f"{name}-{r}"
                start = time.perf_counter()
                records = run_reproduction(
                    _scale_config(args, n_jobs=n_jobs, threads=args.threads, **config),
                    out,
                    verbose=0,
                )
                times[name].append(time.perf_counter() - start)
                write_report(records, out)
        n_cells = len(records)
        same = all(
            filecmp.cmp(Path(tmp) / f"serial-{r}" / t, Path(tmp) / f"parallel-{r}" / t, False)
            for r in range(args.cell_repeats)
            for t in tables
        )
    ratios = [p / s for p, s in zip(times["parallel"], times["serial"])]
    rows = {}
    for name in ("serial", "parallel"):
        rows[f"{name} ({1 if name == 'serial' else jobs} at once, {n_cells} cells)"] = {
            "s": statistics.median(times[name]),
            "ratio": 1.0 if name == "serial" else statistics.median(ratios),
            "runs": times[name],
            "identical_tables": same,
        }
    return rows


def run_case(args):
    import torch

    torch.set_num_threads(args.threads)
    if args.case == "mlp_epoch":
        rows = case_mlp_epoch(args)
    elif args.case == "sparse_input":
        rows = case_sparse_input(args)
    elif args.case.startswith("ensemble_"):
        rows = case_ensemble(args, int(args.case.split("_")[1]))
    elif args.case == "reproduce_quick":
        rows = case_reproduce_quick(args)
    elif args.case == "cell":
        rows = case_cell(args)
    elif args.case == "attack_model":
        rows = case_attack_model(args)
    elif args.case == "cell_figures":
        rows = case_cell_figures(args)
    elif args.case == "cell_scaling":
        rows = case_cell_scaling(args)
    elif args.case == "grid_parallel":
        rows = case_grid_parallel(args)
    else:
        raise SystemExit(f"unknown case {args.case}")
    result = {"case": args.case, "rows": rows, "peak_rss_mb": _peak_rss_mb()}
    if torch.cuda.is_available() and args.device != "cpu":
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print("RESULT " + json.dumps(result))


# ---------------------------------------------------------------------------- driver
def _table(results, device_name):
    lines = [f"device: {device_name}", ""]
    header = (
        f"{'case':<18} {'variant':<28} {'time':>14} {'ratio':>8} {'CPU time':>14} "
        f"{'CPU ratio':>9} {'peak RSS MB':>12}"
    )
    lines += [header, "-" * len(header)]
    for res in results:
        for name, row in res["rows"].items():
            if "ms_per_epoch" in row:
                key, fmt = "ms_per_epoch", "{:.1f} ms/epoch"
                t, r = row[key], row["ratio"]
            elif "s_per_model" in row:
                t, r, key, fmt = row["s_per_model"], row["ratio"], "s_per_model", "{:.3f} s/model"
            else:
                t, r, key, fmt = row["s"], row.get("ratio", float("nan")), "s", "{:.1f} s"
            t = fmt.format(t)
            ratio = "" if r != r else f"{r:.2f}x"
            cpu = "" if "cpu_" + key not in row else fmt.format(row["cpu_" + key])
            cpu_ratio = "" if "cpu_ratio" not in row else f"{row['cpu_ratio']:.2f}x"
            if "auc" in row:
                t += f", AUC {statistics.mean(row['auc']):.4f}"
            mem = f"{res['peak_rss_mb']:.0f}"
            if "peak_cuda_mb" in res:
                mem += f" (+{res['peak_cuda_mb']:.0f} GPU)"
            lines.append(
                f"{res['case']:<18} {name:<28} {t:>14} {ratio:>8} {cpu:>14} {cpu_ratio:>9} "
                f"{mem:>12}"
            )
            if "ratio_to_without_lean" in row:
                lines.append(
                    f"{'':<18} {'  ratio to without the lean loops':<28} {'':>14} "
                    f"{row['ratio_to_without_lean']:>7.2f}x {'':>14} "
                    f"{row['cpu_ratio_to_without_lean']:>8.2f}x"
                )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per variant")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per timed run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument(
        "--cases",
        nargs="+",
        default=[
            "mlp_epoch",
            "ensemble_10",
            "ensemble_64",
            "reproduce_quick",
            "cell",
            "attack_model",
            "cell_scaling",
            "grid_parallel",
        ],
    )
    parser.add_argument("--reproduce-repeats", type=int, default=1)
    parser.add_argument("--cell-repeats", type=int, default=5)
    parser.add_argument("--cell-epochs", type=int, default=20)
    parser.add_argument(
        "--cell-variants",
        nargs="*",
        default=[],
        choices=["off", "lean", "large", "skfedmia"],
        help="cell: the variants to time (default: all); ratios are to the first of them",
    )
    parser.add_argument("--scale-epochs", type=int, default=5, help="cell_scaling, grid_parallel")
    parser.add_argument("--scale-cycles", type=int, default=2, help="cell_scaling, grid_parallel")
    parser.add_argument("--grid-seeds", type=int, default=2, help="grid_parallel")
    parser.add_argument("--attack-seeds", type=int, default=3, help="attack_model")
    parser.add_argument("--figure-cycles", type=int, default=2, help="cell_figures")
    parser.add_argument(
        "--attack-features",
        default="paper",
        choices=["paper", "full"],
        help="attack_model: the attack model's input",
    )
    parser.add_argument("--grid-jobs", type=int, default=None, help="grid_parallel (all cores)")
    parser.add_argument("--json", default=None, help="where to write the results")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        run_case(args)
        return 0

    import platform

    import torch

    device_name = args.device
    if args.device != "cpu" and torch.cuda.is_available():
        device_name = torch.cuda.get_device_name()
    else:
        device_name = f"cpu ({platform.processor() or platform.machine()}, "
        device_name += f"{args.threads} torch thread(s))"
    path = Path(args.json or RESULTS / f"results-{args.device}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "device": device_name,
        "torch": torch.__version__,
        "repeats": args.repeats,
        "epochs_per_run": args.epochs,
        "threads": args.threads,
        "argv": sys.argv[1:] if argv is None else list(argv),
    }
    results = []
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for case in args.cases:
        cmd = [
            sys.executable,
            __file__,
            "--case",
            case,
            "--device",
            args.device,
            "--repeats",
            str(args.repeats),
            "--epochs",
            str(args.epochs),
            "--threads",
            str(args.threads),
            "--reproduce-repeats",
            str(args.reproduce_repeats),
            "--cell-repeats",
            str(args.cell_repeats),
            "--cell-epochs",
            str(args.cell_epochs),
            *(["--cell-variants", *args.cell_variants] if args.cell_variants else []),
            "--scale-epochs",
            str(args.scale_epochs),
            "--scale-cycles",
            str(args.scale_cycles),
            "--grid-seeds",
            str(args.grid_seeds),
            "--attack-seeds",
            str(args.attack_seeds),
            "--figure-cycles",
            str(args.figure_cycles),
            "--attack-features",
            args.attack_features,
            *(["--grid-jobs", str(args.grid_jobs)] if args.grid_jobs else []),
        ]
        print(f"running {case} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            raise SystemExit(f"case {case} failed")
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
        results.append(json.loads(line[len("RESULT ") :]))
        # written after every case, so a long run that is stopped keeps what it measured
        path.write_text(json.dumps({"meta": meta, "results": results}, indent=1))

    print(_table(results, device_name))
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
