"""FFmpeg's own warnings, logged with the record they belong to.

libav (FFmpeg inside PyAV) reports damaged input by logging, often without failing:
"Packet corrupt", "error while decoding MB", "File ended prematurely". A bare line like
that in a build of thousands of clips says nothing about which clip. While a record is
produced, :func:`record_context` holds its id in a context variable and captures libav's
messages (warning level and above); they are logged when the record is done (or when
:func:`relabel` moves a one-pass cut on to the next window) through this module's logger
as ``<record id>: <message> (libav <component>)``. At most :data:`MAX_LINES` lines per
record, so a badly damaged file cannot flood the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import av
import av.logging

logger = logging.getLogger(__name__)

#: Most libav lines logged per record (the rest are counted).
MAX_LINES = 20

#: The id of the record being produced (or the ids of the windows of a one-pass cut).
_record: ContextVar[str | None] = ContextVar("dance_aggregate_media_record", default=None)
#: The list libav's messages for the current record are captured into.
_captured: ContextVar[list[tuple[int, str, str]] | None] = ContextVar("dance_aggregate_libav_capture", default=None)


def current_record() -> str | None:
    """The id of the record being produced in this context, if any."""
    return _record.get()


@contextmanager
def record_context(label: str) -> Iterator[None]:
    """Attribute libav's messages raised inside the block to ``label`` (a record id).

    Nested blocks are fine: messages go to the innermost one. libav's log level is raised
    to WARNING for the block (PyAV's default drops every message) and restored after.
    Messages of every thread of the process are captured (a cut decodes and reads its
    audio in threads of its own); a build runs one record at a time per process.
    """
    token = _record.set(label)
    previous = av.logging.get_level()
    if previous is None or previous < av.logging.WARNING:
        av.logging.set_level(av.logging.WARNING)
    try:
        # Not thread-local: a cut decodes in one thread and reads audio in others.
        with av.logging.Capture(local=False) as logs:
            cap_token = _captured.set(logs)
            try:
                yield
            finally:
                _emit(label, logs)
                _captured.reset(cap_token)
    finally:
        if av.logging.get_level() != previous:
            av.logging.set_level(previous)
        _record.reset(token)


def relabel(label: str) -> None:
    """Log what was captured so far under the current label, then use ``label``.

    A one-pass cut calls this when its set of open windows changes, so each message
    names the clips that were being decoded when it was raised.
    """
    logs = _captured.get()
    current = _record.get()
    if logs is not None and current is not None and current != label:
        _emit(current, logs)
    _record.set(label)


def _emit(label: str, logs: list[tuple[int, str, str]]) -> None:
    for level, name, message in logs[:MAX_LINES]:
        py_level = logging.ERROR if level <= av.logging.FATAL else logging.WARNING
        logger.log(py_level, "%s: %s (libav %s)", label, message.strip(), name or "generic")
    if len(logs) > MAX_LINES:
        logger.warning("%s: %d more libav messages not shown", label, len(logs) - MAX_LINES)
    del logs[:]
