"""The resumable driver: run the cells of a configuration not yet stored."""

from __future__ import annotations

import time

from tqdm.auto import tqdm

from ._cells import iter_cells, load_data, run_cell
from ._config import ReproductionConfig
from ._store import CellStore

__all__ = ["run_reproduction"]


def run_reproduction(config: ReproductionConfig, out, *, verbose: int = 1, on_cell=None):
    """Run every cell of ``config`` not yet stored under ``out``; return all cell records.

    Parameters
    ----------
    config : ReproductionConfig
    out : str or Path
        Output folder; finished cells go to ``out/cells/`` as they finish.
    verbose : int, default=1
        ``> 0`` shows a progress bar with an ETA.
    on_cell : callable, default=None
        Called with ``(spec, record, reused)`` after each cell (tests use it to interrupt).

    Returns
    -------
    records : list of dict
        ``{"spec": ..., "result": ...}`` for every cell of the configuration.
    """
    from pathlib import Path

    store = CellStore(Path(out) / "cells")
    cells = list(iter_cells(config))
    data_cache: dict = {}
    records = []
    todo = sum(not store.has(s) for s in cells)
    bar = tqdm(
        total=len(cells), disable=not verbose, desc="cells", unit="cell", initial=len(cells) - todo
    )
    with bar:
        for spec in cells:
            if store.has(spec):
                record = store.load(spec)
                records.append(record)
                if on_cell is not None:
                    on_cell(spec, record, True)
                continue
            key = (spec["n_classes"], spec["seed"])
            if key not in data_cache:
                data_cache.clear()
                data_cache[key] = load_data(config, *key)
            bar.set_postfix_str(_describe(spec))
            start = time.perf_counter()
            result = run_cell(config, spec, data_cache[key])
            result["seconds"] = time.perf_counter() - start
            record = store.save(spec, result)
            records.append(record)
            bar.update()
            if on_cell is not None:
                on_cell(spec, record, False)
    return records


def _describe(spec):
    if spec["kind"] == "centralized":
        return f"centralized {spec['n_classes']} classes"
    return f"{spec['n_classes']} classes, {spec['n_nodes']} nodes, {spec['local_epochs']} epochs"
