"""Runners execute the build's units of work (one Parquet part each).

The build hands a runner a list of picklable units and a picklable function; the runner
calls ``fn(unit)`` for each, in any order, and yields the results as they finish. A unit
is idempotent: a part already written is skipped, so a rerun resumes.

- :class:`LocalRunner` (default): processes on this machine (``--workers N``); with one
  worker it runs in-process. Worker processes send their log records back to this process
  (a queue), where the handlers the CLI set up print them above the progress bars and
  apply ``--quiet``; spawned workers would otherwise print straight onto the bars.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

logger = logging.getLogger(__name__)

U = TypeVar("U")
R = TypeVar("R")


class Runner(Protocol):
    """What the build needs from a runner."""

    workers: int

    def run(self, fn: Callable[[Any], Any], units: Sequence[Any]) -> Iterator[Any]:
        """Call ``fn(unit)`` for every unit; yield results as they complete."""
        ...


class LocalRunner:
    """Run units in worker processes on this machine.

    Args:
        workers: Number of processes; 1 runs in the calling process (easiest to debug).
    """

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers

    def run(self, fn: Callable[[U], R], units: Sequence[U]) -> Iterator[R]:
        if self.workers == 1 or len(units) <= 1:
            for unit in units:
                yield fn(unit)
            return
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        listener = logging.handlers.QueueListener(queue, _Reinject())
        listener.start()
        try:
            yield from self._run_pool(ctx, queue, fn, units)
        finally:
            listener.stop()

    def _run_pool(self, ctx: Any, queue: Any, fn: Callable[[U], R], units: Sequence[U]) -> Iterator[R]:
        level = logging.getLogger("dance_aggregate").getEffectiveLevel()
        workers = min(self.workers, len(units))
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_log_to_queue, initargs=(queue, level)) as pool:
            pending: set[Future[R]] = set()
            it = iter(units)
            # Keep at most 2 units per worker in flight, so memory stays bounded.
            for unit in it:
                pending.add(pool.submit(fn, unit))
                if len(pending) >= 2 * self.workers:
                    break
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
                    nxt = next(it, None)
                    if nxt is not None:
                        pending.add(pool.submit(fn, nxt))


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
