"""Let's Dance splits (none are official): split lists read line by line, or a hash of the id.

Two list formats are read (see :mod:`dance_aggregate.builders.letsdance`): a folder of the
published lists ``train.csv`` / ``val.csv`` / ``test.csv``, tab-separated
``class<TAB><youtube_id>_<start><TAB><n_frames>``, or one CSV of ``<youtube_id>_<start>,<split>``
lines (a first line that is not one is a header). Every non-blank line is a record: a line
that cannot be read is kept as a :class:`ListedClip` with its ``error``, which the builder
excludes with its reason, so one bad line never stops the others.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from dance_aggregate.builders.annotations import (
    MALFORMED_LINE,
    UNKNOWN_SPLIT,
    read_lines,
    shown,
)
from dance_aggregate.errors import AnnotationError
from dance_aggregate.records import Exclusion

logger = logging.getLogger(__name__)

_SPLIT_FILES = {"train": ("train",), "validation": ("val", "validation", "valid"), "test": ("test",)}
_SPLIT_NAMES = {"train": "train", "val": "validation", "valid": "validation", "validation": "validation", "test": "test"}
#: Most held-out first: where a video listed in several splits goes.
HELD_OUT_ORDER = ("test", "validation", "train")
#: A clip key: ``<youtube_id>_<start>`` (the id is checked by the builder).
KEY_RE = re.compile(r"(?P<yt>.+)_(?P<start>\d+)")
_LIST_FORMAT = "'class<TAB><youtube_id>_<start><TAB><n_frames>' (a published Let's Dance list)"
_CSV_FORMAT = "'<youtube_id>_<start>,<split>'"


def hash_split(youtube_id: str, train_percent: int = 80, validation_percent: int = 10) -> str:
    """Deterministic split of a video from its id (stable across runs and machines)."""
    bucket = int.from_bytes(hashlib.sha1(youtube_id.encode()).digest()[:8], "big") % 100
    if bucket < train_percent:
        return "train"
    if bucket < train_percent + validation_percent:
        return "validation"
    return "test"


@dataclass
class ListedClip:
    """One line of a split list.

    Attributes:
        key: ``<youtube_id>_<start>`` (for a bad line: ``<file>:<line>``).
        split: Our split name (for a bad line: the list's split, if known).
        source_label: The class the list gives, when it gives one.
        n_frames: The frame count the list gives, when it gives one.
        where: ``<file>:<line>``.
        error: Why the line cannot be read, or ``None``.
        reason: The exclusion reason of a bad line.
    """

    key: str
    split: str | None
    source_label: str | None = None
    n_frames: int | None = None
    where: str = ""
    error: str | None = None
    reason: str = MALFORMED_LINE


def read_split_lists(path: Path) -> list[ListedClip]:
    """Every line of the split lists: a folder of Let's Dance lists or one ``key,split`` CSV.

    Raises:
        AnnotationError: for a missing path, a folder without lists, or a file that is not
            UTF-8 (a bad line is a :class:`ListedClip` with ``error``, not an exception).
    """
    if path.is_dir():
        files = [
            (split, path / f"{stem}{ext}")
            for split, stems in _SPLIT_FILES.items()
            for stem in stems
            for ext in (".csv", ".txt", ".tsv")
            if (path / f"{stem}{ext}").is_file()
        ]
        if not files:
            raise AnnotationError(
                f"{path}: no train.csv / val.csv / test.csv split lists in this folder; "
                f"expected the Let's Dance lists (class<TAB><youtube_id>_<start><TAB><n_frames>)"
            )
        return [clip for split, f in files for clip in _read_letsdance_list(f, split)]
    if not path.is_file():
        raise AnnotationError(f"letsdance splits={path}: no such file or folder")
    out: list[ListedClip] = []
    for line_no, text in read_lines(path):
        if text.startswith("#"):
            continue
        fields = [x.strip() for x in text.split(",")]
        where = f"{path.name}:{line_no}"
        split = _SPLIT_NAMES.get(fields[1].lower()) if len(fields) >= 2 else None
        if split is None and line_no == 1 and not out:
            continue  # a header
        if len(fields) < 2 or not KEY_RE.fullmatch(fields[0]):
            out.append(ListedClip(where, None, where=where, error=f"cannot read {shown(text)}; expected {_CSV_FORMAT}"))
        elif split is None:
            out.append(ListedClip(where, None, where=where, reason=UNKNOWN_SPLIT,
                                  error=f"unknown split {shown(fields[1])}; expected one of {sorted(_SPLIT_NAMES)}"))
        else:
            out.append(ListedClip(fields[0], split, where=where))
    return out


def _read_letsdance_list(path: Path, split: str) -> list[ListedClip]:
    out = []
    for line_no, text in read_lines(path):
        fields = [x.strip() for x in text.split("\t")]
        where = f"{path.name}:{line_no}"
        n = fields[2] if len(fields) > 2 else ""
        if len(fields) not in (2, 3) or not KEY_RE.fullmatch(fields[1]) or not (n == "" or n.isdigit()):
            out.append(ListedClip(where, split, where=where, error=f"cannot read {shown(text)}; expected {_LIST_FORMAT}"))
            continue
        out.append(ListedClip(fields[1], split, fields[0] or None, int(n) if n else None, where=where))
    return out


def index_lists(clips: list[ListedClip]) -> tuple[dict[str, ListedClip], dict[str, str], list[Exclusion]]:
    """``(listed, moved, bad)``: the good lines by clip key (the first listing of a key wins),
    the videos the lists put in several splits with the most held-out of them, and the
    exclusions of the lines that cannot be read."""
    listed: dict[str, ListedClip] = {}
    bad: list[Exclusion] = []
    for lc in clips:
        if lc.error:
            bad.append(Exclusion(f"letsdance/{lc.where}", lc.reason, f"{lc.where}: {lc.error}", lc.split, lc.source_label))
            continue
        if lc.key in listed and listed[lc.key].split != lc.split:
            logger.warning("letsdance: %s listed in %s and %s", lc.key, listed[lc.key].split, lc.split)
        listed.setdefault(lc.key, lc)
    video_splits: dict[str, set[str]] = defaultdict(set)
    for lc in listed.values():
        video_splits[lc.key.rsplit("_", 1)[0]].add(str(lc.split))
    moved = {yt: next(s for s in HELD_OUT_ORDER if s in ss) for yt, ss in video_splits.items() if len(ss) > 1}
    if moved:
        logger.warning(
            "letsdance: the split lists put %d videos in several splits; each moved whole to its most "
            "held-out split (e.g. %s)",
            len(moved),
            ", ".join(sorted(moved)[:3]),
        )
    return listed, moved, bad
