"""Run an iterator in a thread of its own, a few items ahead of its consumer.

A cut decodes the source video in one thread while it encodes in another, as FFmpeg's
command line does: PyAV releases the GIL inside the decoder and the encoder, so on two
cores the decode is almost free. Items are handed over in order through a bounded queue,
so what the consumer sees is exactly what the iterator yields; an exception raised by the
iterator is raised in the consumer at the same point.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_END = object()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Prefetch(Generic[T]):
    """Iterate ``source`` in a background thread, at most ``depth`` batches ahead.

    Items cross in batches of ``batch``: every hand-over wakes the other thread, and on a
    busy machine each wake-up waits for the scheduler, so fewer hand-overs keep the two
    threads running (measured: per-item hand-overs made a cut slower than no thread).
    Use as a context manager (or call :meth:`close`): leaving stops the thread and waits
    for it, so the caller may touch what the iterator used (seek the container) after.

    Args:
        source: The iterator (a generator: it runs entirely in the thread).
        batch: Items per hand-over.
        depth: Batches ready ahead at most (bounds memory: frames are large).
    """

    def __init__(self, source: Iterator[T], batch: int = 4, depth: int = 3) -> None:
        self._source = source
        self._batch = batch
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dance_aggregate-decode", daemon=True)
        self._thread.start()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield from item  # type: ignore[misc]

    def close(self) -> None:
        """Stop the thread (its iterator is closed in it) and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)  # unblock a thread waiting to put
            except queue.Empty:
                pass
        self._thread.join()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        batch: list[T] = []
        try:
            for item in self._source:
                batch.append(item)
                if len(batch) >= self._batch:
                    if not self._put(batch):
                        return
                    batch = []
            if self._put(batch):
                self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer's thread
            if self._put(batch):
                self._put(_Raised(exc))
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()
