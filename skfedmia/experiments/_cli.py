"""``skfedmia`` on the command line.

Only the standard library is imported until the options have been checked, so ``--help``
and argument errors answer at once (torch, pandas and the estimators load only for the
work itself). Every option is checked before any work starts; a bad one ends with an
argparse-style message and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tarfile
import time
import zlib
from pathlib import Path

__all__ = ["main", "build_parser"]

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _at_least(low: int, what: str = "an integer"):
    def parse(text):
        value = _int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {what} >= {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _ints_at_least(low: int, high: int | None = None):
    def parse(text):
        parts = text.replace(",", " ").split()
        if not parts:
            raise argparse.ArgumentTypeError("expected one or more integers, got nothing")
        values = tuple(_int(p) for p in parts)
        for v in values:
            if v < low or (high is not None and v > high):
                limit = f">= {low}" if high is None else f"in [{low}, {high}]"
                raise argparse.ArgumentTypeError(f"expected integers {limit}, got {v}")
        return values

    parse.__name__ = f"integers >= {low}"
    return parse


def _n_jobs(text: str) -> int:
    value = _int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive integer or -1 (all cores), got 0")
    return value


def _address(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "needs the address of a Dask scheduler, such as tcp://host:8786"
        )
    return text


def _device(text: str) -> str:
    if not _DEVICE.match(text):
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps', got {text!r}"
        )
    return text


def _add_cell_options(parser):
    """--n-jobs, --threads and --scheduler: how a command spreads its cells."""
    parser.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=-1,
        help="cells computed at once; -1: all cores (default: %(default)s). "
        "Each cell's numbers are the same however many run at once",
    )
    parser.add_argument(
        "--threads",
        type=_at_least(1),
        default=1,
        help="torch threads per cell (small MLPs are fastest on 1; default: %(default)s); "
        "cells at once are capped so that n-jobs x threads fits the cores",
    )
    parser.add_argument(
        "--scheduler",
        type=_address,
        default=None,
        metavar="ADDRESS",
        help="compute the cells on this Dask cluster (e.g. tcp://10.0.0.5:8786; needs "
        "the 'dask' extra); --n-jobs then caps the cells at once",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skfedmia",
        description="Membership inference and gradient leakage in federated learning.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "reproduce",
        help="reproduce 'Information Leaks in Federated Learning' (tables, figures, report)",
        description=(
            "Run the paper's protocol: the centralized baseline (Table I), sequential "
            "federations attacked by an insider after every node step (figures 1-3), and "
            "the final-cycle outsider attack (Table II). Finished cells are kept in "
            "OUT/cells; re-running the same command skips them. Ctrl-C stops at once "
            "(exit status 130) and keeps only finished cells."
        ),
    )
    rep.add_argument(
        "--dataset",
        default="purchases-like",
        choices=["purchases-like", "location", "purchases"],
        help="built-in Purchases-like data, or a published file (default: %(default)s)",
    )
    rep.add_argument(
        "--data-path",
        default=None,
        help="file or folder of the published data set (default: the data home); "
        "not for purchases-like",
    )
    rep.add_argument(
        "--classes",
        type=_ints_at_least(2),
        default=None,
        help="class counts, each >= 2, e.g. '10 20 50 100'",
    )
    rep.add_argument(
        "--nodes", type=_ints_at_least(1), default=None, help="node counts, e.g. '3 10 15'"
    )
    rep.add_argument(
        "--epochs",
        type=_ints_at_least(1),
        default=None,
        help="local epochs per node step, e.g. '100 200'",
    )
    rep.add_argument(
        "--cycles", type=_at_least(1), default=None, help="federated cycles (paper: 5)"
    )
    rep.add_argument(
        "--shadow-models", type=_at_least(1), default=None, help="shadow models (paper: 10)"
    )
    rep.add_argument(
        "--seeds",
        type=_ints_at_least(0, 2**32 - 1),
        default=None,
        help="random seeds, e.g. '0 1 2'",
    )
    rep.add_argument("--n-target", type=_at_least(1), default=None, help="rows in the federation")
    rep.add_argument(
        "--n-shadow", type=_at_least(1), default=None, help="rows of the attacker's pool"
    )
    rep.add_argument(
        "--n-test", type=_at_least(1), default=None, help="held-out rows (non-members)"
    )
    rep.add_argument("--centralized-epochs", type=_at_least(1), default=None)
    rep.add_argument(
        "--device",
        type=_device,
        default="auto",
        help="'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps' (default: %(default)s)",
    )
    rep.add_argument(
        "--attack-features",
        choices=["paper", "full"],
        default=None,
        help="attack input: the paper's probability vector and label (default), or 'full' "
        "(plus the logit-scaled confidence, beyond the paper)",
    )
    _add_cell_options(rep)
    rep.add_argument("--out", default="results", help="output folder (default: %(default)s)")
    rep.add_argument(
        "--force",
        action="store_true",
        help="replace the report of another configuration in --out",
    )
    rep.add_argument(
        "--quick",
        action="store_true",
        help="a preset that finishes in a few minutes on a laptop CPU",
    )
    rep.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    rep.set_defaults(error=rep.error)
    _register_mitigate(sub)
    return parser


def _register_mitigate(sub):
    """``skfedmia mitigate``: the mitigation study (run by ``_mitigation.mitigate``)."""
    p = sub.add_parser(
        "mitigate",
        help="measure the paper's mitigations against insider and outsider attacks",
        description=(
            "Sweep the mitigations of the paper's section V (input noise, update noise, "
            "DP-SGD, random node order, more cycles with fewer epochs, peer-to-peer) at "
            "several strengths, attack every federation as an insider and an outsider, and "
            "audit the DP settings' epsilon. Finished cells are kept in OUT/cells; re-running "
            "the same command skips them."
        ),
    )
    p.add_argument("--dataset", default=None, choices=["purchases-like", "location", "purchases"])
    p.add_argument("--data-path", default=None, help="file or folder of the published data")
    p.add_argument("--classes", type=int, default=None, help="class count (default: 50)")
    p.add_argument("--nodes", default=None, help="node counts, e.g. '3 10'")
    p.add_argument("--seeds", default=None, help="random seeds, e.g. '0 1 2'")
    p.add_argument(
        "--mitigations",
        default=None,
        help="subset of none, input_noise, update_noise, dp_sgd, random_order, more_cycles, "
        "peer_to_peer",
    )
    p.add_argument("--delta", type=float, default=None, help="delta of every epsilon")
    p.add_argument(
        "--dpsgd-epsilon",
        default=None,
        help="DP-SGD strengths as target epsilons, e.g. '1 4 16' (default: noise multipliers)",
    )
    p.add_argument(
        "--device",
        type=_device,
        default="auto",
        help="'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps' (default: %(default)s)",
    )
    p.add_argument("--out", default="results/mitigation", help="output folder")
    p.add_argument("--quick", action="store_true", help="the few-minutes preset (Location)")
    _add_cell_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(error=p.error)
    return p


def _config(args):
    from ._config import ReproductionConfig

    given = {
        "dataset": args.dataset,
        "data_path": args.data_path,
        "n_classes": args.classes,
        "n_nodes": args.nodes,
        "local_epochs": args.epochs,
        "n_cycles": args.cycles,
        "n_shadow_models": args.shadow_models,
        "seeds": args.seeds,
        "n_target": args.n_target,
        "n_shadow": args.n_shadow,
        "n_test": args.n_test,
        "centralized_epochs": args.centralized_epochs,
        "device": args.device,
        "attack_features": args.attack_features,
        "n_jobs": None if args.scheduler else args.n_jobs,
        "threads": args.threads,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if args.dataset == "location" and "n_classes" not in given:
        given["n_classes"] = (30,)
    if args.quick:
        return ReproductionConfig.quick(**given)
    return ReproductionConfig(**given)


def _check_pools(config, error):
    """Pools large enough for every node, class and shadow model of the grid."""
    n_target, n_shadow, n_test = config.pools()
    nodes, classes = max(config.n_nodes), max(config.n_classes)
    if n_target < 2 * classes or n_target // nodes < 2:
        error(
            f"--n-target {n_target} is too small: the federation needs at least 2 rows per "
            f"class ({2 * classes} for {classes} classes) and 2 rows per node "
            f"({2 * nodes} for {nodes} nodes)"
        )
    if n_shadow < 2 * classes:
        error(
            f"--n-shadow {n_shadow} is too small: the attacker's pool needs at least 2 rows "
            f"per class ({2 * classes})"
        )
    if n_test < classes:
        error(f"--n-test {n_test} is too small: at least one row per class ({classes})")


def _check_data(config, error):
    """The published data set is there and readable, and holds enough rows."""
    if config.dataset == "purchases-like":
        if config.data_path is not None:
            error("--data-path is for the published data sets (location, purchases)")
        return
    from .. import datasets

    load = datasets.load_location if config.dataset == "location" else datasets.load_purchases
    try:
        _, y = load(path=config.data_path, return_X_y=True)
    except (OSError, ValueError, EOFError, tarfile.TarError, zlib.error) as exc:
        where = config.data_path or "the data home"
        error(f"cannot read the {config.dataset} data from {where}: {exc}")
    total = sum(config.pools())
    if total > len(y):
        error(
            f"the pools ask for {total} rows (--n-target + --n-shadow + --n-test) but the "
            f"{config.dataset} data set has {len(y)}"
        )


def _check_device(device, error):
    if not device.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        error(f"--device {device}: no CUDA device is available")
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        error(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s)")


def _check_out_folder(out, error):
    """``--out`` is a folder we can write (made if missing)."""
    from ._store import write_atomic

    out = Path(out)
    if out.exists() and not out.is_dir():
        error(f"--out {out} is a file, not a folder")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                error(f"--out {out}: {parent} is a file, not a folder")
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        write_atomic(probe, "")
        probe.unlink()
    except OSError as exc:
        error(f"--out {out} is not writable: {exc.strerror or exc}")


def _check_out(args, config, error):
    """``--out`` is a folder we can write, holding no other configuration's report."""
    from ._outputs import config_json

    out = Path(args.out)
    _check_out_folder(out, error)
    conf, report = out / "config.json", out / "report.md"
    if args.force:
        return
    if conf.exists():
        try:
            earlier = json.loads(conf.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            earlier = None
        now = json.loads(config_json(config))
        if earlier != now:
            changed = sorted(
                k for k in set(now) | set(earlier or {}) if (earlier or {}).get(k) != now.get(k)
            )
            error(
                f"--out {out} holds the report of another configuration (differs in: "
                f"{', '.join(changed)}); choose another --out, or add --force to replace it"
            )
    elif report.exists():
        error(
            f"--out {out} holds a report of an unknown configuration; choose another "
            "--out, or add --force to replace it"
        )


def _check_scheduler(address, error):
    """A client of the Dask scheduler at ``address`` (``--scheduler``), or a clear error."""
    try:
        from dask.distributed import Client
    except ImportError:
        error("--scheduler needs Dask: pip install 'skfedmia[dask]'")
    try:
        return Client(address, timeout="10s")
    except (OSError, ValueError, TimeoutError) as exc:
        error(f"--scheduler {address}: cannot connect ({exc})")


def _count_cells(out: Path) -> int:
    return len(list((out / "cells").glob("*.json")))


def reproduce(args, error) -> int:
    """Check every option, then run the reproduction; the exit status."""
    try:
        config = _config(args)
    except ValueError as exc:
        error(str(exc))
    _check_pools(config, error)
    _check_data(config, error)
    _check_device(config.device, error)
    _check_out(args, config, error)
    client = _check_scheduler(args.scheduler, error) if args.scheduler is not None else None

    out = Path(args.out)
    start = time.perf_counter()
    try:
        import torch
        from joblib import parallel_config

        from ._driver import run_reproduction
        from ._outputs import write_report

        torch.set_num_threads(config.threads)
        if client is not None:
            with client, parallel_config(backend="dask", n_jobs=args.n_jobs):
                records = run_reproduction(config, out, verbose=0 if args.quiet else 1)
        else:
            records = run_reproduction(config, out, verbose=0 if args.quiet else 1)
        paths = write_report(records, out, config=config)
    except KeyboardInterrupt:
        print(
            f"skfedmia reproduce: interrupted; {_count_cells(out)} finished cell(s) kept in "
            f"{out / 'cells'}, run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    took = time.perf_counter() - start
    print(f"done in {took:.0f} s; {len(records)} cells; report: {paths['report.md']}")
    for name in ("table1_centralized.csv", "table2_final_cycle.csv", "steps.csv"):
        print(f"  {paths[name]}")
    for name, path in paths.items():
        if name.endswith(".png"):
            print(f"  {path}")
    return 0


def main(argv=None) -> int:
    """Entry point of the ``skfedmia`` command and of ``python -m skfedmia``.

    Returns the exit status: 0 done, 2 a bad option (with argparse's message), 130
    interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "reproduce":
            return reproduce(args, args.error)
        if args.command == "mitigate":
            from ._mitigation import mitigate

            return mitigate(args, args.error)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # no unfinished cell is ever stored
        print("skfedmia: interrupted; finished cells are kept, nothing unfinished", file=sys.stderr)
        return 130
    return 2  # pragma: no cover - argparse requires a command
