"""The CSV files the package writes (excluded records, download ledger, duplicate clusters).

Reports are opened in spreadsheets, and a cell that begins with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is run there as a formula (CSV injection): a label or an id
from a source file must never become one. :func:`escape_cell` puts a single quote in front
of such a text cell, and of a text cell that already begins with a quote, so the escape
can always be undone: :func:`unescape_cell` drops one leading quote. A YouTube id such as
``-5Yp-vToI2E`` is written ``'-5Yp-vToI2E``; :func:`read_rows` gives it back unchanged.
Numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

#: First characters that make a spreadsheet read a cell as a formula (and the quote itself).
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def escape_cell(value: Any) -> Any:
    """``value`` safe for a spreadsheet: a text that begins with ``= + - @``, a tab, a CR
    or ``'`` gets a leading ``'``; other values are returned unchanged."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def unescape_cell(text: str) -> str:
    """The original text of a cell :func:`escape_cell` wrote (drops one leading ``'``)."""
    return text[1:] if text.startswith("'") else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document (``\\n`` line ends) with every cell escaped; ``None`` is written empty.

    A row with a carriage return in a cell is written fully quoted: with ``\\n`` line ends
    the csv module leaves such a cell bare, and readers would split the row there.
    """
    buf = io.StringIO()
    plain = csv.writer(buf, lineterminator="\n")
    quoted = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    plain.writerow(header)
    for row in rows:
        cells = ["" if v is None else escape_cell(v) for v in row]
        (quoted if any(isinstance(c, str) and "\r" in c for c in cells) else plain).writerow(cells)
    return buf.getvalue()


def read_rows(path: str | Path) -> Iterator[dict[str, str]]:
    """The rows of a CSV file the package wrote, cells unescaped."""
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield {k: unescape_cell(v) if isinstance(v, str) else v for k, v in row.items()}
