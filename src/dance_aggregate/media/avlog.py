"""FFmpeg's own warnings, logged with the record they belong to.

libav (FFmpeg inside PyAV) reports damaged input by logging, often without failing:
"Packet corrupt", "error while decoding MB", "File ended prematurely". A bare line like
that in a build of thousands of clips says nothing about which clip. While a record is
produced, :func:`record_context` holds its id in a context variable and captures libav's
messages (warning level and above); they are logged when the record is done (or when
:func:`relabel` moves a one-pass cut on to the next window) through this module's logger
as ``<record id>: <message> (libav <component>)``. At most :data:`MAX_LINES` lines per
record, so a badly damaged file cannot flood the log. They carry ``extra={"clip": id}``, the
tag of per-clip messages (``--quiet`` holds the warnings back).
"""

from __future__ import annotations

import logging
from collections import Counter
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


@contextmanager
def record_context(label: str) -> Iterator[None]:
    """Attribute libav's messages raised inside the block to ``label`` (a record id).

    Nested blocks are fine: messages go to the innermost one. The capture is per thread:
    a cut decodes, and reads each window's audio, in threads of their own, and each of
    them enters its own block with the windows it works for. libav's log level is raised
    to WARNING for the block (PyAV's default drops every message) and restored after.
    """
    token = _record.set(label)
    previous = av.logging.get_level()
    if previous is None or previous < av.logging.WARNING:
        av.logging.set_level(av.logging.WARNING)
    # PyAV holds back a repeated line until a different one comes, which may be in the
    # next record: repeats are counted here instead, per record.
    skip = av.logging.get_skip_repeated()
    av.logging.set_skip_repeated(False)
    try:
        with av.logging.Capture(local=True) as logs:
            cap_token = _captured.set(logs)
            try:
                yield
            finally:
                _emit(label, logs)
                _captured.reset(cap_token)
    finally:
        av.logging.set_skip_repeated(skip)
        if av.logging.get_level() != previous:
            av.logging.set_level(previous)
        _record.reset(token)


def relabel(label: str) -> None:
    """Log what was captured so far under the current label, then use ``label``.

    A one-pass cut calls this when its set of open windows changes, so each message
    names the clips that were being decoded when it was raised (in this thread).
    """
    logs = _captured.get()
    current = _record.get()
    if logs is not None and current is not None and current != label:
        _emit(current, logs)
    _record.set(label)


def _emit(label: str, logs: list[tuple[int, str, str]]) -> None:
    counts = Counter((level, name or "generic", message.strip()) for level, name, message in logs)
    del logs[:]
    for (level, name, message), n in list(counts.items())[:MAX_LINES]:
        py_level = logging.ERROR if level <= av.logging.FATAL else logging.WARNING
        again = f" ({n} times)" if n > 1 else ""
        logger.log(py_level, "%s: %s%s (libav %s)", label, message, again, name, extra={"clip": label})
    if len(counts) > MAX_LINES:
        logger.warning(
            "%s: %d more distinct libav messages not shown", label, len(counts) - MAX_LINES, extra={"clip": label}
        )
