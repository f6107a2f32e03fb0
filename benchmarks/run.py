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
    epochs, 10 shadow models, insider monitor after every step), as skfedmia runs it and
    with its speed-ups switched off in the same process: shadow models one by one, skorch's
    DataLoader batching and per-batch mode switch, torch's default optimizer. The ratio
    extrapolates a full grid from "before" to "after".

Results go to a table on stdout and to JSON (``--json``, default
``benchmarks/results-<device>.json``).
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


def _time(fn, repeats, device):
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
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
    for r in range(repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name] += _time(variants[name], 1, device)
    scale = 1000.0 if unit.startswith("ms") else 1.0
    rows = {}
    for name in names:
        base = (base_of or {}).get(name, base_name)
        ratios = [t / b for t, b in zip(samples[name], samples[base])]
        rows[name] = {
            unit: scale * statistics.median(samples[name]) / per,
            "ratio": statistics.median(ratios),
            "ratio_to": base,
            "ratio_range": [min(ratios), max(ratios)],
            "runs": [scale * t / per for t in samples[name]],
        }
    return rows


# ---------------------------------------------------------------------------- cases
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

        def run():
            model.train()
            for _ in range(epochs):
                order = torch.randperm(len(Xt)).to(device)
                for start in range(0, len(Xt), 128):
                    idx = order[start : start + 128]
                    opt.zero_grad()
                    loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
                    loss.backward()
                    opt.step()

        return run

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


def case_cell(args):
    import skorch

    from skfedmia.attacks.membership import _shadow_training
    from skfedmia.experiments import ReproductionConfig, iter_cells
    from skfedmia.experiments._cells import load_data, run_federated
    from skfedmia.neural_net import TorchMLPClassifier
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
    # the speed-ups, switched off together for "before": shadow models one by one,
    # skorch's DataLoader batching, skorch's per-batch mode switch, torch's default
    # (unfused) optimizer
    patched = {
        "get_dataset": skorch.NeuralNetClassifier.get_dataset,
        "get_iterator": skorch.NeuralNetClassifier.get_iterator,
        "_set_training": skorch.NeuralNetClassifier._set_training,
        "initialize_optimizer": skorch.NeuralNetClassifier.initialize_optimizer,
    }
    fast = {name: TorchMLPClassifier.__dict__[name] for name in patched}
    fast_together = _shadow_training.can_fit_together

    def plain_mode(on):
        for name in patched:
            setattr(TorchMLPClassifier, name, patched[name] if on else fast[name])
        _shadow_training.can_fit_together = (lambda estimator: False) if on else fast_together

    def variant(plain):
        def run():
            plain_mode(plain)
            try:
                run_federated(config, spec, data)
            finally:
                plain_mode(False)

        return run

    before = "before (one by one, DataLoader, unfused)"
    variants = {before: variant(True), "skfedmia": variant(False)}
    return _paired(variants, args.cell_repeats, resolve_device(args.device), 1, "s", before)


def run_case(args):
    import torch

    torch.set_num_threads(args.threads)
    if args.case == "mlp_epoch":
        rows = case_mlp_epoch(args)
    elif args.case.startswith("ensemble_"):
        rows = case_ensemble(args, int(args.case.split("_")[1]))
    elif args.case == "reproduce_quick":
        rows = case_reproduce_quick(args)
    elif args.case == "cell":
        rows = case_cell(args)
    else:
        raise SystemExit(f"unknown case {args.case}")
    result = {"case": args.case, "rows": rows, "peak_rss_mb": _peak_rss_mb()}
    if torch.cuda.is_available() and args.device != "cpu":
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print("RESULT " + json.dumps(result))


# ---------------------------------------------------------------------------- driver
def _table(results, device_name):
    lines = [f"device: {device_name}", ""]
    header = f"{'case':<18} {'variant':<28} {'time':>14} {'ratio':>8} {'peak RSS MB':>12}"
    lines += [header, "-" * len(header)]
    for res in results:
        for name, row in res["rows"].items():
            if "ms_per_epoch" in row:
                t, r = f"{row['ms_per_epoch']:.1f} ms/epoch", row["ratio"]
            elif "s_per_model" in row:
                t, r = f"{row['s_per_model']:.3f} s/model", row["ratio"]
            else:
                t, r = f"{row['s']:.1f} s", row.get("ratio", float("nan"))
            ratio = "" if r != r else f"{r:.2f}x"
            mem = f"{res['peak_rss_mb']:.0f}"
            if "peak_cuda_mb" in res:
                mem += f" (+{res['peak_cuda_mb']:.0f} GPU)"
            lines.append(f"{res['case']:<18} {name:<28} {t:>14} {ratio:>8} {mem:>12}")
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
        default=["mlp_epoch", "ensemble_10", "ensemble_64", "reproduce_quick", "cell"],
    )
    parser.add_argument("--reproduce-repeats", type=int, default=1)
    parser.add_argument("--cell-repeats", type=int, default=5)
    parser.add_argument("--cell-epochs", type=int, default=20)
    parser.add_argument("--json", default=None, help="where to write the results")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        run_case(args)
        return 0

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
        ]
        print(f"running {case} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            raise SystemExit(f"case {case} failed")
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
        results.append(json.loads(line[len("RESULT ") :]))

    import platform

    import torch

    device_name = args.device
    if args.device != "cpu" and torch.cuda.is_available():
        device_name = torch.cuda.get_device_name()
    else:
        device_name = f"cpu ({platform.processor() or platform.machine()}, "
        device_name += f"{args.threads} torch thread(s))"
    print(_table(results, device_name))
    path = Path(args.json or HERE / f"results-{args.device}.json")
    meta = {
        "device": device_name,
        "torch": torch.__version__,
        "repeats": args.repeats,
        "epochs_per_run": args.epochs,
        "threads": args.threads,
    }
    path.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
