"""The resumable driver: compute the cells of a configuration not yet stored.

Cells are independent, so they run through joblib: one after another, on local worker
processes, or on a Dask cluster (``joblib.parallel_config(backend="dask")``). Each cell
seeds everything it draws from its own spec and runs with a fixed number of torch
threads, so its numbers do not depend on how or where it ran. Only the calling process
writes cells, each as soon as it arrives, and none after an interrupt.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from ._cells import iter_cells, load_data, run_cell
from ._config import ReproductionConfig
from ._store import CellStore

__all__ = ["run_reproduction"]

# the rows of the last (configuration, class count, seed) used in this process
_DATA_CACHE: dict = {}
# one cell at a time per process: seeding goes through torch's process-wide generator,
# so cells sharing a process (a threaded Dask worker) must take turns to stay exact
_ONE_CELL = threading.Lock()


def _data(config: ReproductionConfig, n_classes: int, seed: int):
    key = (config.dataset, config.data_path, config.pools(), n_classes, seed)
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = load_data(config, n_classes, seed)
    return _DATA_CACHE[key]


def _keep_worker():
    """Stop loky from restarting a worker process after a cell.

    loky restarts a worker whose memory grew by 300 MB since its first task, taking it for
    a leak; a cell's training leaves that much in allocator caches, and every restart
    costs a fresh import of torch. Cells hold nothing between them (only the last data
    set), so a higher bound is safe. Only worker processes read it.
    """
    try:
        from joblib.externals.loky import process_executor
    except ImportError:  # pragma: no cover - joblib without its vendored loky
        return
    limit = getattr(process_executor, "_MAX_MEMORY_LEAK_SIZE", None)
    if isinstance(limit, int):
        process_executor._MAX_MEMORY_LEAK_SIZE = max(limit, 16 * 2**30)


def _compute(config: ReproductionConfig, spec: dict):
    """One cell in the current process: ``(spec, result, seconds)``.

    Inside a cell joblib runs one task at a time, as on a loky worker: on a threaded Dask
    worker, nested tasks would otherwise spread to other threads, outside the lock.
    """
    import torch
    from joblib import parallel_config

    _keep_worker()
    with _ONE_CELL, parallel_config(backend="sequential"):
        threads = torch.get_num_threads()
        torch.set_num_threads(config.threads)
        try:
            data = _data(config, spec["n_classes"], spec["seed"])
            start = time.perf_counter()
            result = run_cell(config, spec, data)
            return spec, result, time.perf_counter() - start
        finally:
            torch.set_num_threads(threads)


def _n_workers(config: ReproductionConfig, n_cells: int):
    """Cells at once: ``n_jobs`` capped by the cells left and by cores / threads.

    ``None`` is left to joblib: one at a time, or what an enclosing
    ``joblib.parallel_config`` asks for (a Dask cluster sizes itself).
    """
    from joblib import cpu_count

    if config.n_jobs is None:
        return None
    cores = cpu_count()
    n_jobs = config.n_jobs if config.n_jobs > 0 else max(1, cores + 1 + config.n_jobs)
    return max(1, min(n_jobs, n_cells, cores // config.threads))


class _Interrupts:
    """Note Ctrl-C while cells run (and still raise ``KeyboardInterrupt``).

    An estimator that catches ``KeyboardInterrupt`` and returns early would otherwise
    hand back an unfinished cell; the driver checks :attr:`seen` before writing any.
    """

    def __init__(self):
        self.seen = False
        self._previous = None

    def _handle(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def __enter__(self):
        try:
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: signals go elsewhere
            self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def run_reproduction(config: ReproductionConfig, out, *, verbose: int = 1, on_cell=None):
    """Run every cell of ``config`` not yet stored under ``out``; return all cell records.

    Cells run ``config.n_jobs`` at a time; each is stored under ``out/cells/`` as soon as
    it finishes. A stored cell is verified before it is reused (see
    :class:`CellStore`). On ``KeyboardInterrupt`` the cells finished so far stay stored,
    none computed or arriving after the interrupt is written, and the interrupt is
    raised again.

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
        ``{"spec": ..., "result": ..., "seconds": ...}`` for every cell, in the order of
        :func:`iter_cells`.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    store = CellStore(Path(out) / "cells")
    cells = list(iter_cells(config))
    found = [store.get(spec) for spec in cells]
    todo = [spec for spec, rec in zip(cells, found) if rec is None]
    records = {store.path(spec): rec for spec, rec in zip(cells, found) if rec is not None}
    bar = tqdm(
        total=len(cells),
        disable=not verbose,
        desc="cells",
        unit="cell",
        initial=len(cells) - len(todo),
    )
    try:
        with bar, _Interrupts() as interrupts:
            if on_cell is not None:
                for spec, rec in zip(cells, found):
                    if rec is not None:
                        on_cell(spec, rec, True)
            if todo:
                n_workers = _n_workers(config, len(todo))
                one_by_one = n_workers in (None, 1)
                if verbose and one_by_one:
                    bar.set_postfix_str(_describe(todo[0]))
                jobs = (delayed(_compute)(config, spec) for spec in todo)
                results = Parallel(n_jobs=n_workers, return_as="generator_unordered")(jobs)
                for n, (spec, result, seconds) in enumerate(results, 1):
                    if interrupts.seen:
                        raise KeyboardInterrupt
                    record = store.save(spec, result, seconds=seconds)
                    records[store.path(spec)] = record
                    bar.update()
                    if verbose and one_by_one and n < len(todo):
                        bar.set_postfix_str(_describe(todo[n]))
                    if on_cell is not None:
                        on_cell(spec, record, False)
    finally:
        _DATA_CACHE.clear()
    return [records[store.path(spec)] for spec in cells]


def _describe(spec):
    if spec["kind"] == "centralized":
        return f"centralized {spec['n_classes']} classes"
    return f"{spec['n_classes']} classes, {spec['n_nodes']} nodes, {spec['local_epochs']} epochs"
