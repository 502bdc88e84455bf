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


class RecordError(AnnotationError):
    """One input record (a CSV row, a JSON entry, a list line) cannot be read.

    Raised while parsing one record; the builder catches it, records that record as
    excluded with ``reason`` and the message, and goes on with the others.
    """

    def __init__(self, message: str, reason: str = "malformed record") -> None:
        super().__init__(message)
        #: Short normalised reason used in reports ("invalid id", "invalid time", ...).
        self.reason = reason


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


class DiskFullError(OutputError):
    """The disk (or quota) holding the output or work folder is full.

    It stops the whole build: every further write would fail the same way. Nothing already
    in the output folder is replaced by a partial copy.
    """


class TooManyFailures(DanceAggregateError):
    """Most records of a config failed for one unexpected reason (a bug, a broken codec, a
    blocked network): the config stops early instead of writing a near-empty dataset."""


class EmptyConfig(DanceAggregateError):
    """A config read records but none became a row (every one was excluded): a failed
    config, never a dataset of 0 rows; the message summarises the reasons, and
    ``accounting`` holds the counts."""

    def __init__(self, message: str, accounting: object = None) -> None:
        super().__init__(message)
        #: The config's accounting (records read = 0 rows + excluded, by reason).
        self.accounting = accounting


class ConfigError(DanceAggregateError, ValueError):
    """An unknown config name or an invalid option or request value.

    Also a :class:`ValueError` (an invalid value is what it reports), so code that checked
    an options dataclass with ``except ValueError`` still catches it.
    """
