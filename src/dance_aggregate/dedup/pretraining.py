"""Pretraining overlap: which rows' YouTube videos are in the sets a model was pretrained on.

Most video models people fine-tune were pretrained on Kinetics-400/600/700. A test clip whose
YouTube video was in the pretraining set inflates the scores measured on it. A build given
``--pretraining-ids NAME=FILE`` (``BuildRequest.pretraining_ids``) fills, for every row, the
``pretraining_overlap`` column with the names of the sets that contain its ``youtube_id``
(``[]`` for none; null when the row has no YouTube id or no set was given), and with
``--pretraining-to-train`` the ``all`` config moves such rows (with every clip joined to them
by the split rule) out of validation and test into train, counted in ``reports/all.json``.

An id file is any of:

- a Kinetics-style CSV (a header with a ``youtube_id`` column: the official
  ``kinetics-400_train.csv``, ``kinetics-700-2020_val.csv``, ...);
- a Kinetics-style JSON: an object keyed by YouTube id (the official ``*.json`` twins), or a
  list of ids, or a list of objects with a ``youtube_id``;
- a plain list: one YouTube id per line (blank lines and ``#`` comments ignored).

Every id must look like a YouTube id (11 characters of ``A-Z a-z 0-9 _ -``); a malformed
file is refused with its name, the line (or JSON entry) and what was expected.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dance_aggregate.errors import AnnotationError, ConfigError
from dance_aggregate.ids import YOUTUBE_ID

logger = logging.getLogger(__name__)

#: A set's name (it is written into the rows and the card).
SET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
_FORMATS = (
    "expected a Kinetics-style CSV with a youtube_id column, a Kinetics-style JSON keyed by YouTube id "
    "(or a list of ids), or one YouTube id per line"
)


@dataclass(frozen=True)
class PretrainingSet:
    """A named set of YouTube ids (e.g. the Kinetics-400 training videos).

    Attributes:
        name: The name written into ``pretraining_overlap`` (``kinetics400_train``).
        path: The file it was read from.
        ids: The YouTube ids.
    """

    name: str
    path: str
    ids: frozenset[str]

    def describe(self) -> dict[str, Any]:
        """What the reports record about the set: name, file name and size."""
        return {"name": self.name, "file": Path(self.path).name, "ids": len(self.ids)}


def check_set_name(name: str) -> str:
    """``name`` when it is a valid set name.

    Raises:
        ConfigError: for an empty or odd name.
    """
    if not SET_NAME.fullmatch(name):
        raise ConfigError(
            f"pretraining set name {name!r}: use letters, digits, _ . + - (at most 64), e.g. "
            f"--pretraining-ids kinetics400_train=kinetics-400_train.csv"
        )
    return name


def load_pretraining_sets(files: Mapping[str, str | Path]) -> list[PretrainingSet]:
    """Read every ``name -> file`` into a :class:`PretrainingSet` (in the order given).

    Raises:
        ConfigError: for a bad name or a file that does not exist.
        AnnotationError: for a file that cannot be read as ids (names the file and line).
    """
    out = []
    for name, file in files.items():
        path = check_id_file(name, file)
        ids = read_id_file(path)
        logger.info("pretraining set %s: %d YouTube ids from %s", name, len(ids), path)
        out.append(PretrainingSet(name, str(path), ids))
    return out


def check_id_file(name: str, file: str | Path) -> Path:
    """The path of ``--pretraining-ids NAME=FILE`` after checking the name and that the file is
    a readable file; :class:`ConfigError` naming the option and the fix otherwise."""
    check_set_name(name)
    path = Path(file).expanduser()
    if path.is_dir():
        raise ConfigError(f"--pretraining-ids {name}={file}: a folder; give the id file itself (a CSV, JSON or list of ids)")
    if not path.is_file():
        raise ConfigError(f"--pretraining-ids {name}={file}: no such file")
    return path


def read_id_file(path: str | Path) -> frozenset[str]:
    """The YouTube ids of one id file (CSV, JSON or a plain list; see the module docstring).

    Raises:
        AnnotationError: when the file is not one of those forms, holds an id that is not a
            YouTube id (the message names the file and the line), or holds no id.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{path}: cannot read it as UTF-8 text ({exc}); {_FORMATS}") from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        ids = _json_ids(path, text)
    elif "youtube_id" in (text.splitlines() or [""])[0]:
        ids = _csv_ids(path, text)
    else:
        ids = _plain_ids(path, text)
    if not ids:
        raise AnnotationError(f"{path}: no YouTube ids in it; {_FORMATS}")
    return frozenset(ids)


def _check(path: Path, where: str, value: Any) -> str:
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not YOUTUBE_ID.fullmatch(text):
        raise AnnotationError(
            f"{path}:{where}: {value!r} is not a YouTube id (11 characters of A-Z a-z 0-9 _ -); {_FORMATS}"
        )
    return text


def _csv_ids(path: Path, text: str) -> list[str]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    if "youtube_id" not in fields:
        raise AnnotationError(f"{path}:1: header {reader.fieldnames} has no youtube_id column; {_FORMATS}")
    reader.fieldnames = fields
    out = []
    try:
        for line, row in enumerate(reader, start=2):
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            out.append(_check(path, str(line), row.get("youtube_id")))
    except csv.Error as exc:
        raise AnnotationError(f"{path}:{reader.line_num}: not valid CSV ({exc}); {_FORMATS}") from None
    return out


def _json_ids(path: Path, text: str) -> list[str]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep to be an id file
        raise AnnotationError(f"{path}:{getattr(exc, 'lineno', '?')}: not valid JSON ({exc}); {_FORMATS}") from None
    if isinstance(data, dict):
        return [_check(path, f"key {k!r}", k) for k in data]
    if isinstance(data, list):
        out = []
        for i, item in enumerate(data):
            value = item.get("youtube_id") if isinstance(item, dict) else item
            out.append(_check(path, f"entry {i}", value))
        return out
    raise AnnotationError(f"{path}: a JSON {type(data).__name__}; {_FORMATS}")


def _plain_ids(path: Path, text: str) -> list[str]:
    out = []
    for line, raw in enumerate(text.splitlines(), start=1):
        value = raw.split("#", 1)[0].strip()
        if value:
            out.append(_check(path, str(line), value))
    return out


def overlap_column(youtube_ids: Sequence[str | None], sets: Sequence[PretrainingSet]) -> list[list[str] | None]:
    """The ``pretraining_overlap`` value of each row: the names of the sets holding its
    YouTube id, ``[]`` for none, ``None`` when the id is unknown or no set was given."""
    if not sets:
        return [None] * len(youtube_ids)
    return [None if not y else [s.name for s in sets if y in s.ids] for y in youtube_ids]
