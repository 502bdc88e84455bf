"""Runners execute the build's units of work (one Parquet part each).

The build hands a runner a list of picklable units and a picklable function; the runner
calls ``fn(unit)`` for each, in any order, and yields the results as they finish. A unit
is idempotent: a part already written is skipped, so a rerun resumes.

- :class:`LocalRunner` (default): processes on this machine (``--workers N``); with one
  worker it runs in-process. Worker processes send their log records back to this process
  (a queue), where the handlers the CLI set up print them above the progress bars and
  apply ``--quiet``; workers would otherwise print straight onto the bars.

Worker processes are forked from a *forkserver* that imported the unit code once (where the
platform has one: Linux, macOS), so a worker starts in milliseconds and shares the imported
modules' memory, instead of importing ``datasets``, PyArrow and PyAV again (1.3-1.8 s of CPU
and about 140 MB per spawned worker, measured in ``docs/scaling.md``). Workers die with the
build: a killed build (``kill -9``, an OOM kill) leaves no worker encoding on. Ctrl-C is the
build process's to handle: workers ignore SIGINT (a terminal sends it to every process of the
job, and each would print a traceback), and the build process stops them when it is
interrupted (their unfinished parts were never swapped in; a rerun redoes them). After each
unit a worker hands the memory the unit freed back to the system (:func:`release_memory`),
so an idle or decoding worker does not sit on the high-water mark of its last part.
"""

from __future__ import annotations

import ctypes
import logging
import logging.handlers
import multiprocessing
import os
import platform
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing.context import BaseContext
from typing import Any, Protocol, TypeVar

logger = logging.getLogger(__name__)

U = TypeVar("U")
R = TypeVar("R")

#: Modules the forkserver imports once, so that workers forked from it start with them.
WORKER_PRELOAD: tuple[str, ...] = ("dance_aggregate.pipeline.units",)
#: Seconds between two checks of a worker's watchdog where there is no pidfd (macOS).
WATCHDOG_INTERVAL = 1.0


class Runner(Protocol):
    """What the build needs from a runner."""

    workers: int

    def run(self, fn: Callable[[Any], Any], units: Sequence[Any]) -> Iterator[Any]:
        """Call ``fn(unit)`` for every unit; yield results as they complete."""
        ...


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_when_ended(pid: int) -> None:
    """Block until process ``pid`` ends, then end this process at once."""
    try:
        fd = os.pidfd_open(pid)  # Linux 5.3+: readable when the process ends
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    else:
        while _alive(pid):
            time.sleep(WATCHDOG_INTERVAL)
    os._exit(1)


def die_with_driver(driver: int) -> None:
    """End this worker as soon as the build process ``driver`` ends.

    A worker whose build was killed (``kill -9``, the OOM killer) would otherwise keep taking
    the units already queued to it and writing parts. Its parent is the forkserver, which
    only exits when every worker has (each holds its "alive" pipe), so a parent-death signal
    would never fire: a daemon thread waits on the build process itself instead (a pidfd on
    Linux, no polling; elsewhere a check every :data:`WATCHDOG_INTERVAL` seconds).
    """
    threading.Thread(target=_exit_when_ended, args=(driver,), name="dance_aggregate-watchdog", daemon=True).start()


def init_worker(driver: int, environ: dict[str, str], queue: Any = None, level: int = logging.WARNING) -> None:
    """Worker initializer: the build's environment as it is now (a forkserver's children
    inherit the environment of the moment the forkserver started, not the build's current
    one, as spawned processes would), :func:`die_with_driver`, and the package's log
    records sent to the build process through ``queue`` (at the build's ``level``)."""
    os.environ.clear()
    os.environ.update(environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build process's to handle
    die_with_driver(driver)
    if queue is not None:
        _log_to_queue(queue, level)


def release_memory() -> None:
    """Return the memory freed by the last unit to the system: PyArrow's pool keeps freed
    buffers, and glibc keeps freed heap pages, so a worker otherwise stays at the peak of
    its biggest part (measured: 367 MB PSS after an 8-clip 720p part, 163 MB after this,
    against 150 MB once the code is imported). Takes a few milliseconds."""
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()
    if platform.libc_ver()[0] == "glibc":
        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):
            pass


class ReleasingMemory:
    """``fn(unit)``, then :func:`release_memory` (picklable when ``fn`` is)."""

    def __init__(self, fn: Callable[[U], R]) -> None:
        self.fn = fn

    def __call__(self, unit: U) -> R:
        try:
            return self.fn(unit)
        finally:
            release_memory()


def worker_context(preload: Sequence[str] = WORKER_PRELOAD) -> BaseContext:
    """The multiprocessing context of the workers: a forkserver that imported ``preload``
    where the platform has one, ``spawn`` elsewhere (Windows)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(preload))
        _start_forkserver_deaf_to_ctrl_c(ctx)
        return ctx
    return multiprocessing.get_context("spawn")


def _start_forkserver_deaf_to_ctrl_c(ctx: BaseContext) -> None:
    """Start the forkserver (if it is not running) with SIGINT ignored, and wait until it has
    imported :data:`WORKER_PRELOAD`.

    It inherits the ignored SIGINT through ``exec``, so a Ctrl-C while it imports (a second
    or two) prints no traceback, and the workers it forks ignore SIGINT too. Waiting for the
    imports (one process that does nothing) means no worker is asked for while the
    forkserver is still importing: one asked for then, and orphaned by a Ctrl-C, would be
    forked after the build process is gone and fail loudly. Only the main thread can change
    signal handlers; elsewhere the forkserver starts as usual.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    from multiprocessing import forkserver

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)
    ready = ctx.Process(target=_nothing, name="dance_aggregate-forkserver-ready", daemon=True)  # type: ignore[attr-defined]
    ready.start()
    ready.join()


def _nothing() -> None:
    """The target of the process that shows the forkserver is ready."""


class LocalRunner:
    """Run units in worker processes on this machine.

    Args:
        workers: Number of processes; 1 runs in the calling process (easiest to debug).
        context: Multiprocessing context of the workers (default: :func:`worker_context`).
    """

    def __init__(self, workers: int = 1, context: BaseContext | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.context = context

    def run(self, fn: Callable[[U], R], units: Sequence[U]) -> Iterator[R]:
        fn = ReleasingMemory(fn)
        if self.workers == 1 or len(units) <= 1:
            for unit in units:
                yield fn(unit)
            return
        ctx = self.context or worker_context()
        queue = ctx.Queue()
        listener = logging.handlers.QueueListener(queue, _Reinject())
        listener.start()
        try:
            yield from self._run_pool(ctx, queue, fn, units)
        finally:
            listener.stop()

    def _run_pool(self, ctx: BaseContext, queue: Any, fn: Callable[[U], R], units: Sequence[U]) -> Iterator[R]:
        level = logging.getLogger("dance_aggregate").getEffectiveLevel()
        with ProcessPoolExecutor(
            max_workers=min(self.workers, len(units)),
            mp_context=ctx,
            initializer=init_worker,
            initargs=(os.getpid(), dict(os.environ), queue, level),
        ) as pool:
            pending: set[Future[R]] = set()
            it = iter(units)
            # Keep at most 2 units per worker in flight, so memory stays bounded.
            for unit in it:
                pending.add(pool.submit(fn, unit))
                if len(pending) >= 2 * self.workers:
                    break
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield fut.result()
                        nxt = next(it, None)
                        if nxt is not None:
                            pending.add(pool.submit(fn, nxt))
            except KeyboardInterrupt:
                stop_workers(pool)  # else leaving the pool waits for every unit in flight
                raise


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel the units not started and end the pool's workers now (SIGTERM): what they were
    writing is a temporary a rerun removes, never a finished part."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


def _log_to_queue(queue: Any, level: int) -> None:
    """Worker start-up: send the package's log records to the parent (at its level)."""
    root = logging.getLogger("dance_aggregate")
    root.handlers[:] = [logging.handlers.QueueHandler(queue)]
    root.setLevel(level)
    root.propagate = False


class _Reinject(logging.Handler):
    """Parent side: a worker's record goes through this process's loggers and handlers."""

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does the work
        pass
