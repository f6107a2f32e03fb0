"""``skfedmia`` on the command line."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser"]


def _ints(text):
    return tuple(int(v) for v in text.replace(",", " ").split())


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
            "OUT/cells; re-running the same command skips them."
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
        help="file or folder of the published data set (default: the data home)",
    )
    rep.add_argument(
        "--classes", type=_ints, default=None, help="class counts, e.g. '10 20 50 100'"
    )
    rep.add_argument("--nodes", type=_ints, default=None, help="node counts, e.g. '3 10 15'")
    rep.add_argument(
        "--epochs", type=_ints, default=None, help="local epochs per node step, e.g. '100 200'"
    )
    rep.add_argument("--cycles", type=int, default=None, help="federated cycles (paper: 5)")
    rep.add_argument("--shadow-models", type=int, default=None, help="shadow models (paper: 10)")
    rep.add_argument("--seeds", type=_ints, default=None, help="random seeds, e.g. '0 1 2'")
    rep.add_argument("--n-target", type=int, default=None, help="rows in the federation")
    rep.add_argument("--n-shadow", type=int, default=None, help="rows of the attacker's pool")
    rep.add_argument("--n-test", type=int, default=None, help="held-out rows (non-members)")
    rep.add_argument("--centralized-epochs", type=int, default=None)
    rep.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    rep.add_argument("--n-jobs", type=int, default=None, help="parallel shadow training")
    rep.add_argument("--out", default="results", help="output folder (default: %(default)s)")
    rep.add_argument(
        "--quick",
        action="store_true",
        help="a preset that finishes in a few minutes on a laptop CPU",
    )
    rep.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (small MLPs are fastest on 1; default: %(default)s)",
    )
    rep.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _register_mitigate(sub)
    return parser


def _register_mitigate(sub):
    from ._mitigation import add_mitigate_parser

    add_mitigate_parser(sub)


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
        "n_jobs": args.n_jobs,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if args.dataset == "location" and "n_classes" not in given:
        given["n_classes"] = (30,)
    if args.quick:
        return ReproductionConfig.quick(**given)
    return ReproductionConfig(**given)


def reproduce(args) -> int:
    import torch

    from ._driver import run_reproduction
    from ._outputs import write_report

    torch.set_num_threads(max(1, args.threads))
    try:
        config = _config(args)
    except ValueError as exc:
        print(f"skfedmia reproduce: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    start = time.perf_counter()
    records = run_reproduction(config, out, verbose=0 if args.quiet else 1)
    paths = write_report(records, out, config=config)
    took = time.perf_counter() - start
    print(f"done in {took:.0f} s; {len(records)} cells; report: {paths['report.md']}")
    for name in ("table1_centralized.csv", "table2_final_cycle.csv", "steps.csv"):
        print(f"  {paths[name]}")
    for name, path in paths.items():
        if name.endswith(".png"):
            print(f"  {path}")
    return 0


def main(argv=None) -> int:
    """Entry point of the ``skfedmia`` command and of ``python -m skfedmia``."""
    args = build_parser().parse_args(argv)
    if args.command == "reproduce":
        return reproduce(args)
    if args.command == "mitigate":
        from ._mitigation import mitigate

        return mitigate(args)
    return 2  # pragma: no cover - argparse requires a command
