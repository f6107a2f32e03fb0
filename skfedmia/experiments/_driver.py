"""The resumable driver: compute the cells of a configuration not yet stored.

Cells are independent, so they run through joblib: one after another, on local worker
processes, or on a Dask cluster (``joblib.parallel_config(backend="dask")``). Each cell
seeds everything it draws from its own spec and runs with a fixed number of torch
threads, so its numbers do not depend on how or where it ran. Only the calling process
writes cells, each as soon as it arrives, and none after an interrupt.

The progress bar counts node steps: a federation adds ``n_nodes * n_cycles``, a
centralized baseline one. A cell computed in this process reports each step through a
callback; cells on local worker processes (loky, multiprocessing) send theirs over a
``multiprocessing.connection`` to a listener thread of this process; cells on a Dask
cluster, whose workers may be on other machines, advance the bar by the whole cell when
it arrives. Reporting draws nothing and changes nothing in a cell.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path

from tqdm.auto import tqdm

from ._cells import iter_cells, load_data, run_cell
from ._config import ReproductionConfig
from ._store import CellStore, cell_key

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


def cell_steps(spec: dict) -> int:
    """Units of progress of a cell: its node steps, or one for a centralized baseline.

    Examples
    --------
    >>> from skfedmia.experiments._driver import cell_steps
    >>> cell_steps({"kind": "federated", "n_nodes": 10, "n_cycles": 5})
    50
    >>> cell_steps({"kind": "centralized"})
    1
    """
    if spec["kind"] == "centralized":
        return 1
    return int(spec["n_nodes"]) * int(spec["n_cycles"])


class _StepReporter:
    """Called after every node step of one cell; tells the driver's progress.

    In the driver's own process it calls ``local(key)``. Pickled to a worker process it
    keeps only ``channel`` (the address and key of the driver's listener, or ``None``
    where the worker cannot reach the driver) and sends ``key`` there. It never raises:
    progress is not worth a cell.
    """

    def __init__(self, key, local, channel=None):
        self.key = key
        self.local = local
        self.channel = channel
        self.pid = os.getpid()

    def __getstate__(self):
        return {"key": self.key, "local": None, "channel": self.channel, "pid": self.pid}

    def __call__(self):
        if self.local is not None and os.getpid() == self.pid:
            self.local(self.key)
        elif self.channel is not None:
            try:
                _connection(*self.channel).send(self.key)
            except Exception:  # noqa: BLE001 - a broken progress channel must not end a cell
                _CONNECTION.clear()
                self.channel = None


# a worker process's connection to the driver's listener: {(address, authkey): conn}
_CONNECTION: dict = {}


def _connection(address, authkey):
    """This process's connection to the listener at ``address`` (one at a time)."""
    from multiprocessing.connection import Client

    key = (address, authkey)
    if key not in _CONNECTION:
        for old in _CONNECTION.values():  # a listener of an earlier run
            old.close()
        _CONNECTION.clear()
        _CONNECTION[key] = Client(address, authkey=authkey)
    return _CONNECTION[key]


class _StepProgress:
    """The bar's counts per cell, safe to update from listener threads.

    ``units`` are the bar's units of each cell, ``reported`` how many of them the cell
    reports step by step (a federation all, a centralized baseline none).
    ``step(key)`` adds one node step of a cell; ``finish(key)`` adds what the cell has not
    reported yet, once it is stored, so the bar always ends at its total. With steps
    sent from worker processes, ``finish`` first waits (briefly) for the cell's steps,
    which were sent before its result but may still be on their way.
    """

    def __init__(self, bar, units, reported, *, wait_for_steps=0.0):
        self.bar = bar
        self.units = units
        self.reported = reported
        self.done = dict.fromkeys(units, 0)
        self.finished = set()
        self.wait_for_steps = wait_for_steps
        self._cond = threading.Condition()

    def step(self, key):
        with self._cond:
            if key in self.finished or self.done.get(key, 0) >= self.reported.get(key, 0):
                return
            self.done[key] += 1
            self.bar.update(1)
            self._cond.notify_all()

    def finish(self, key):
        with self._cond:
            if self.wait_for_steps:
                self._cond.wait_for(
                    lambda: self.done[key] >= self.reported[key], timeout=self.wait_for_steps
                )
            left = self.units[key] - self.done[key]
            self.done[key] = self.units[key]
            self.finished.add(key)
            if left:
                self.bar.update(left)


def _worker_processes(n_workers) -> bool:
    """Whether cells will run on local worker processes, which can reach a listener."""
    from joblib import effective_n_jobs
    from joblib._parallel_backends import LokyBackend, MultiprocessingBackend
    from joblib.parallel import get_active_backend

    if n_workers == 1:
        return False
    backend, _ = get_active_backend()
    if not isinstance(backend, LokyBackend | MultiprocessingBackend):
        return False  # in-process threads, or a Dask cluster (per-cell progress)
    return effective_n_jobs(n_workers) > 1


class _StepChannel:
    """A local listener whose threads pass the steps that worker processes send.

    ``multiprocessing.connection`` on a Unix socket (a named pipe on Windows) with a
    random key: no extra process, and nothing re-imports the caller's main module.
    """

    def __init__(self, progress):
        from multiprocessing.connection import Listener

        self.progress = progress
        self.authkey = os.urandom(32)
        self.listener = Listener(authkey=self.authkey)
        self.address = (self.listener.address, self.authkey)
        self._closed = False
        self._connections = []
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, name="skfedmia-progress", daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn = self.listener.accept()
            except Exception:  # noqa: BLE001 - closed, or a stranger without the key
                if self._closed:
                    return
                continue
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self._connections.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        while True:
            try:
                key = conn.recv()
            except Exception:  # noqa: BLE001 - the worker or the channel closed
                return
            self.progress.step(key)

    def close(self):
        from multiprocessing.connection import Client

        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        with contextlib.suppress(Exception):  # wake the thread blocked in accept()
            Client(self.listener.address, authkey=self.authkey).close()
        self.thread.join(timeout=5)
        self.listener.close()
        for conn in connections:
            conn.close()


def _compute(config: ReproductionConfig, spec: dict, on_step=None):
    """One cell in the current process (see :func:`_cell_process`): ``(spec, result, seconds)``.

    ``on_step`` is called after every node step (progress only).
    """
    with _cell_process(config.threads):
        data = _data(config, spec["n_classes"], spec["seed"])
        start = time.perf_counter()
        result = run_cell(config, spec, data, on_step=on_step)
        return spec, result, time.perf_counter() - start


@contextlib.contextmanager
def _cell_process(threads: int):
    """This process computes one cell: alone, nested joblib work sequential, ``threads``.

    Keeps a loky worker from being restarted after the cell, holds the per-process cell
    lock, runs joblib tasks inside the cell one at a time (as on a loky worker: on a
    threaded Dask worker they would otherwise spread to other threads, outside the lock)
    and sets torch's thread count for the cell, restoring it afterwards. Both the
    reproduction and the mitigation study compute their cells inside it.
    """
    import torch
    from joblib import parallel_config

    _keep_worker()
    with _ONE_CELL, parallel_config(backend="sequential"):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def _n_workers(config, n_cells: int):
    """Cells at once: ``n_jobs`` capped by the cells left and by cores / threads.

    ``config`` is any configuration with ``n_jobs`` and ``threads`` (the reproduction's or
    the mitigation study's).

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
        ``> 0`` shows a progress bar with an ETA that advances after every node step of
        a federation (a centralized baseline counts as one step). Cells on local worker
        processes send their steps over a ``multiprocessing.connection``; cells on a Dask
        cluster advance the bar by their steps when they arrive.
    on_cell : callable, default=None
        Called with ``(spec, record, reused)`` after each cell (tests use it to interrupt).

    Returns
    -------
    records : list of dict
        ``{"spec": ..., "result": ..., "seconds": ...}`` for every cell, in the order of
        :func:`iter_cells`.
    """
    from joblib import Parallel, delayed

    store = CellStore(Path(out) / "cells")
    cells = list(iter_cells(config))
    found = [store.get(spec) for spec in cells]
    todo = [spec for spec, rec in zip(cells, found) if rec is None]
    records = {store.path(spec): rec for spec, rec in zip(cells, found) if rec is not None}
    units = {cell_key(spec): cell_steps(spec) for spec in todo}
    bar = tqdm(
        total=sum(cell_steps(spec) for spec in cells),
        disable=not verbose,
        desc="reproduction",
        unit="step",
        initial=sum(cell_steps(spec) for spec, rec in zip(cells, found) if rec is not None),
    )
    channel = None
    try:
        with bar, _Interrupts() as interrupts:
            if on_cell is not None:
                for spec, rec in zip(cells, found):
                    if rec is not None:
                        on_cell(spec, rec, True)
            if todo:
                n_workers = _n_workers(config, len(todo))
                one_by_one = n_workers in (None, 1)
                reported = {
                    cell_key(spec): 0 if spec["kind"] == "centralized" else cell_steps(spec)
                    for spec in todo
                }
                progress = _StepProgress(bar, units, reported)
                if _worker_processes(n_workers):
                    channel = _StepChannel(progress)
                    progress.wait_for_steps = 5.0
                address = None if channel is None else channel.address
                if verbose and one_by_one:
                    bar.set_postfix_str(_describe(todo[0]))
                jobs = (
                    delayed(_compute)(
                        config, spec, _StepReporter(cell_key(spec), progress.step, address)
                    )
                    for spec in todo
                )
                results = Parallel(n_jobs=n_workers, return_as="generator_unordered")(jobs)
                for n, (spec, result, seconds) in enumerate(results, 1):
                    if interrupts.seen:
                        raise KeyboardInterrupt
                    record = store.save(spec, result, seconds=seconds)
                    records[store.path(spec)] = record
                    progress.finish(cell_key(spec))
                    if verbose and one_by_one and n < len(todo):
                        bar.set_postfix_str(_describe(todo[n]))
                    if on_cell is not None:
                        on_cell(spec, record, False)
    finally:
        if channel is not None:
            channel.close()
        _DATA_CACHE.clear()
    return [records[store.path(spec)] for spec in cells]


def _describe(spec):
    if spec["kind"] == "centralized":
        return f"centralized {spec['n_classes']} classes"
    return f"{spec['n_classes']} classes, {spec['n_nodes']} nodes, {spec['local_epochs']} epochs"
