"""Reading annotation files as people wrote them: lenient about form, strict about values.

The sources' annotation files were written by many hands over a decade and copied through
spreadsheets and scripts. Every builder reads them through this module:

- **Text** is UTF-8, with or without a byte-order mark, with LF, CRLF or CR line ends.
  Another encoding is a clear :class:`~dance_aggregate.errors.AnnotationError` for the file
  (with the byte offset and the fix), never a silent guess.
- **CSV** (:func:`read_csv`): headers and cells are stripped of stray whitespace; a file
  without the columns a source needs is an error for the file; each physical line is one
  record (none of these formats quotes line breaks), so a malformed line (a stray quote,
  too few or too many fields) costs only itself. Lines whose cells are all empty are not
  records.
- **JSON** (:func:`read_json`): objects are :class:`JsonObject`, which remembers keys that
  appear twice (plain ``json`` keeps the last one silently).
- **Values** (:func:`parse_time`, :func:`parse_range`, :func:`check_youtube_id`): times must
  be finite, non-negative numbers, ranges must not be reversed, YouTube ids must be YouTube
  ids. A bad value raises :class:`~dance_aggregate.errors.RecordError` with its reason.
- **One record at a time** (:func:`per_record`): a record's ``RecordError`` becomes an
  :class:`~dance_aggregate.records.Exclusion` with its reason and message, and any other
  exception an ``unexpected error`` exclusion (one log line; the traceback at debug level,
  ``-vv``), so one bad record never stops more than itself.

Messages name the file, the line or key, the value seen and what was expected.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from dance_aggregate.errors import AnnotationError, DanceAggregateError, RecordError
from dance_aggregate.ids import is_youtube_id
from dance_aggregate.records import Exclusion

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Reason of a record whose id cannot be what the source says it is.
INVALID_ID = "invalid id"
#: Reason of a time that is not a finite number.
INVALID_TIME = "invalid time"
#: Reason of a negative time.
NEGATIVE_TIME = "negative time"
#: Reason of a range that ends before it starts.
REVERSED_RANGE = "reversed range"
#: Reason of a range that ends where it starts.
EMPTY_RANGE = "empty range"
#: Reason of a line that cannot be read in the file's format.
MALFORMED_LINE = "malformed line"
#: Reason of a JSON entry of the wrong shape.
MALFORMED_ENTRY = "malformed entry"
#: Reason of a split value the source does not have.
UNKNOWN_SPLIT = "unknown split"
#: Reason of a JSON key given twice in one object.
DUPLICATE_KEY = "duplicate key"
#: Reason of a record whose parsing raised something unforeseen (a bug).
UNEXPECTED = "unexpected error"


# -- showing values ----------------------------------------------------------------------------
def shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for messages."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}...({len(text)} chars)"


def display_id(raw: str, limit: int = 100) -> str:
    """An identifier from a source file as it may appear in a report: control and other
    unprintable characters escaped, cut to about ``limit`` characters. Never a file name."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in raw) or "<empty>"
    return text if len(text) <= limit else f"{text[: limit - 20]}...({len(raw)} chars)"


# -- text, lines, CSV, JSON --------------------------------------------------------------------
def read_text(path: Path) -> str:
    """The text of an annotation file (UTF-8, a byte-order mark dropped).

    Raises:
        AnnotationError: the file cannot be read or is not UTF-8.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnnotationError(
            f"{path}: not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 4]!r}); the sources publish "
            f"their files in UTF-8. Re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8) or fetch the original"
        ) from None


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` (LF, CRLF or CR ends), without their ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def read_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, stripped text)`` of every non-blank line of a text file.

    Raises:
        AnnotationError: the file cannot be read or is not UTF-8.
    """
    return [(i, line.strip()) for i, line in enumerate(split_lines(read_text(path)), start=1) if line.strip()]


@dataclass
class CsvRow:
    """One record line of a CSV file.

    Attributes:
        where: ``<file name>:<line>``, for messages.
        values: Column -> stripped cell (empty when the line is malformed).
        error: Why the line cannot be read, or ``None``.
    """

    where: str
    values: dict[str, str]
    error: str | None = None

    def get(self, column: str) -> str:
        """The cell of ``column`` ("" when the file has no such column)."""
        return self.values.get(column, "")


def read_csv(
    path: Path, required: Sequence[str], expected: str, delimiter: str = ",", *, quoted_newlines: bool = False
) -> tuple[list[str], list[CsvRow]]:
    """The header and record lines of a CSV file with a header line.

    Args:
        path: The file.
        required: Columns the file must have.
        expected: What the file should look like, for the error message.
        delimiter: The field separator.
        quoted_newlines: Read the file as a whole, so that a quoted cell may hold a line
            break (a lookup table such as YouTube-8M's ``vocabulary.csv``, not a list of
            records); a line that is not CSV is then an error for the file.

    Returns:
        The stripped header names and one :class:`CsvRow` per non-blank line after it.

    Raises:
        AnnotationError: the file is not UTF-8, is empty or lacks a required column (or,
            with ``quoted_newlines``, is not CSV).
    """
    lines = split_lines(read_text(path))
    if quoted_newlines:
        table = _whole_csv(path, lines, delimiter)
    else:
        table = [(i + 1, _cells(line, delimiter), line) for i, line in enumerate(lines)]
    table = [(n, cells, line) for n, cells, line in table if cells is None or any(cells)]  # blank lines are not records
    header = _check_header(path, table[0][1] if table else None, required, expected)
    rows = []
    for n, cells, line in table[1:]:
        where = f"{path.name}:{n}"
        if cells is None:
            rows.append(CsvRow(where, {}, f"cannot read line {shown(line)} as CSV (an unbalanced quote?)"))
        elif len(cells) != len(header):
            rows.append(CsvRow(where, {}, f"{len(cells)} fields, the header has {len(header)}: {shown(line)}"))
        else:
            rows.append(CsvRow(where, dict(zip(header, cells, strict=True))))
    return header, rows


def _check_header(path: Path, header: list[str] | None, required: Sequence[str], expected: str) -> list[str]:
    """``header`` when it holds every ``required`` column.

    Raises:
        AnnotationError: no header line, or a required column missing (naming them).
    """
    if not header:
        raise AnnotationError(f"{path}: no header line; expected {expected}")
    missing = [c for c in required if c not in header]
    if missing:
        raise AnnotationError(f"{path}: header {header} lacks {missing}; expected {expected}")
    return header


def iter_csv(path: Path, required: Sequence[str], expected: str, delimiter: str = ",") -> tuple[list[str], Iterator[CsvRow]]:
    """:func:`read_csv` one line at a time: the header now, the rows as they are read, so a
    list of a million rows never exists (the same rows and errors; a file that is not UTF-8
    fails when the bad byte is reached, naming the line after which it came).

    Raises:
        AnnotationError: the file cannot be read, is not UTF-8, is empty or lacks a required
            column (for a bad byte after the header: when the rows reach it).
    """
    f = open(path, encoding="utf-8-sig", newline=None)  # noqa: SIM115 - the row generator closes it
    try:
        n, header = 0, None
        for line in f:
            n += 1
            cells = _cells(line.rstrip("\n"), delimiter)
            if cells is None or any(cells):
                header = cells
                break
        header = _check_header(path, header, required, expected)
    except UnicodeDecodeError as exc:
        f.close()
        raise AnnotationError(f"{path}: not UTF-8 text ({exc.reason}); re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    except OSError as exc:
        f.close()
        raise AnnotationError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except BaseException:
        f.close()
        raise
    names = header

    def rows(start: int) -> Iterator[CsvRow]:
        with f:
            i = start
            try:
                for i, raw in enumerate(f, start=start + 1):
                    line = raw.rstrip("\n")
                    cells = _cells(line, delimiter)
                    if cells is not None and not any(cells):
                        continue
                    where = f"{path.name}:{i}"
                    if cells is None:
                        yield CsvRow(where, {}, f"cannot read line {shown(line)} as CSV (an unbalanced quote?)")
                    elif len(cells) != len(names):
                        yield CsvRow(where, {}, f"{len(cells)} fields, the header has {len(names)}: {shown(line)}")
                    else:
                        yield CsvRow(where, dict(zip(names, cells, strict=True)))
            except UnicodeDecodeError as exc:
                raise AnnotationError(
                    f"{path}: not UTF-8 text after line {i} ({exc.reason}); re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
                ) from None

    return header, rows(n)


def _whole_csv(path: Path, lines: list[str], delimiter: str) -> list[tuple[int, list[str] | None, str]]:
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        return [(reader.line_num, [c.strip() for c in cells], "") for cells in reader]
    except csv.Error as exc:
        raise AnnotationError(f"{path}:{reader.line_num}: not CSV ({exc})") from None


def _cells(line: str, delimiter: str) -> list[str] | None:
    """The stripped cells of one CSV line, or ``None`` when it is not valid CSV."""
    try:
        return [c.strip() for c in next(csv.reader([line], delimiter=delimiter, strict=True), [])]
    except csv.Error:
        return None


class JsonObject(dict):
    """A JSON object that remembers the keys it had more than once.

    The first value of a repeated key is kept (it is the one a reader of the file sees
    first); :attr:`duplicates` lists every later ``(key, value)``.
    """

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.duplicates: list[tuple[str, Any]] = []
        for key, value in pairs:
            if key in self:
                self.duplicates.append((key, value))
            else:
                self[key] = value


def read_json(path: Path, expected: str) -> Any:
    """Parse a JSON file; its objects are :class:`JsonObject`.

    Raises:
        AnnotationError: the file is not UTF-8 or not valid JSON.
    """
    text = read_text(path)
    try:
        return json.loads(text, object_pairs_hook=JsonObject)
    except (ValueError, RecursionError) as exc:
        raise AnnotationError(f"{path}: not valid JSON ({str(exc)[:200]}); expected {expected}") from None


# -- values ------------------------------------------------------------------------------------
def parse_time(value: Any, name: str, where: str) -> float:
    """A time in seconds: a finite, non-negative number (JSON number or numeric text).

    Raises:
        RecordError: ``invalid time`` or ``negative time``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RecordError(f"{where}: {name} {shown(value)} is not a number; expected seconds such as 12.5", INVALID_TIME)
    try:
        t = float(value)
    except (ValueError, OverflowError):
        raise RecordError(f"{where}: {name} {shown(value)} is not a number; expected seconds such as 12.5", INVALID_TIME) from None
    if not math.isfinite(t):
        raise RecordError(f"{where}: {name} is {shown(value)}; expected a finite number of seconds", INVALID_TIME)
    if t < 0:
        raise RecordError(f"{where}: {name} {shown(value)} is negative; expected seconds >= 0", NEGATIVE_TIME)
    return t


def parse_range(
    start: Any, end: Any, where: str, *, names: tuple[str, str] = ("start", "end"), allow_empty: bool = False
) -> tuple[float, float]:
    """``(start, end)`` as valid times with ``start <= end`` (``start < end`` unless ``allow_empty``).

    Args:
        start: The start as read (number or text).
        end: The end as read.
        where: ``<file>:<line or key>``, for messages.
        names: What the file calls the two values, for messages.
        allow_empty: Accept ``start == end``.

    Raises:
        RecordError: ``invalid time``, ``negative time``, ``reversed range`` or ``empty range``.
    """
    s, e = parse_time(start, names[0], where), parse_time(end, names[1], where)
    if e < s:
        raise RecordError(f"{where}: range [{s:g}, {e:g}] ends before it starts; expected start < end", REVERSED_RANGE)
    if e == s and not allow_empty:
        raise RecordError(f"{where}: range [{s:g}, {e:g}] is empty; expected start < end", EMPTY_RANGE)
    return s, e


def check_youtube_id(value: Any, where: str) -> str:
    """``value`` when it can be a YouTube id (11 characters of ``A-Za-z0-9_-``).

    Raises:
        RecordError: ``invalid id`` (before anything is downloaded or named after it).
    """
    if not is_youtube_id(value):
        raise RecordError(
            f"{where}: youtube id {shown(value)} is not a YouTube id; expected 11 characters of A-Za-z0-9_-",
            INVALID_ID,
        )
    return value


# -- one record at a time ----------------------------------------------------------------------
def per_record(
    parse: Callable[[], T], rid: str, where: str, split: str | None = None, source_label: str | None = None
) -> T | Exclusion:
    """Run one record's ``parse``; turn its failure into an exclusion of that record only.

    Args:
        parse: Parses the record (returns whatever the builder plans from it).
        rid: The record id for the report (``<source>/<display id>``).
        where: ``<file>:<line or key>``, for messages.
        split: The record's split, when known.
        source_label: The record's label, when known.

    Returns:
        What ``parse`` returned, or the :class:`Exclusion` of the record.

    Raises:
        DanceAggregateError: other than ``RecordError``, raised on purpose about the whole
            file (it stops the config with its message).
    """
    try:
        return parse()
    except RecordError as exc:
        return Exclusion(rid, exc.reason, str(exc), split, source_label)
    except DanceAggregateError:
        raise  # raised on purpose about the whole file or config
    except Exception as exc:  # noqa: BLE001 - one broken record never stops the others
        logger.warning("%s: unexpected error, record excluded: %s: %s", where, type(exc).__name__, exc)
        logger.debug("%s: traceback:\n%s", where, traceback.format_exc())
        return Exclusion(rid, UNEXPECTED, f"{where}: {type(exc).__name__}: {str(exc)[:300]}", split, source_label)
