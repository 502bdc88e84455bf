"""Exception hierarchy.

Every error the library raises on purpose is a :class:`DanceAggregateError`. Messages say
what failed, the value seen, what was expected and how to fix it; the CLI turns them into
clean one-screen errors (no traceback).
"""

from __future__ import annotations


class DanceAggregateError(Exception):
    """Base class of all errors raised on purpose by dance_aggregate."""


class DataDirError(DanceAggregateError):
    """A ``--data-dir`` is missing or does not have the layout a source builder expects."""


class AnnotationError(DanceAggregateError):
    """An annotation file (split list, CSV, JSON) cannot be parsed."""


class MediaError(DanceAggregateError):
    """A media file cannot be read, cut or encoded.

    Raised for one clip; the build catches it, records the clip as excluded with the
    reason, and goes on.
    """

    def __init__(self, message: str, reason: str = "unreadable media") -> None:
        super().__init__(message)
        #: Short normalised reason used in reports ("unreadable media", "no video stream", ...).
        self.reason = reason


class TaxonomyError(DanceAggregateError):
    """The label schema file is inconsistent, or a label is not in it."""


class OutputError(DanceAggregateError):
    """The output folder is not a dance_aggregate folder, or is inconsistent."""


class ConfigError(DanceAggregateError):
    """An unknown config name or an invalid option value."""
