"""UCF101 (Soomro et al. 2012): the ``SalsaSpin`` class, re-encoded, with its audio.

Raw layout (``--data-dir ucf101=PATH``)::

    PATH/
    ├── UCF-101/
    │   ├── SalsaSpin/
    │   │   ├── v_SalsaSpin_g01_c01.avi      (Xvid + MP3 in AVI, 320x240, 25 fps)
    │   │   └── ...
    │   └── <Class>/v_<Class>_gNN_cNN.avi
    └── ucfTrainTestlist/
        ├── classInd.txt                     ("77 SalsaSpin", CRLF)
        ├── trainlist01.txt ... trainlist03.txt   ("SalsaSpin/v_SalsaSpin_g05_c01.avi 77")
        └── testlist01.txt ... testlist03.txt     ("SalsaSpin/v_SalsaSpin_g01_c01.avi")

The official folds split by group (``gNN``), so a group never straddles train and test.
Every line of the chosen fold's lists is a record read; non-dance classes are excluded by
rule and counted, a class that is not one of the 101 of ``classInd.txt`` (compared without
case) as ``unknown class``. UCF101 has no validation split. A line that is not
``<Class>/v_<Class>_gNN_cNN.avi`` (the class compared without case, as the release spells
``HandstandPushups/v_HandStandPushups_...``) is excluded as a malformed line, as is a
clip listed twice; file names are only ever taken from lines of that form, so a list can
never point outside ``UCF-101/<Class>/``. A clip's ``source_id`` is its path in the lists
without ``.avi`` (``SalsaSpin/v_SalsaSpin_g01_c01``), its id ``ucf101/<source_id>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from dance_aggregate.bounds import bounded
from dance_aggregate.builders.annotations import MALFORMED_LINE, display_id, per_record, read_lines, shown
from dance_aggregate.builders.base import SourceBuilder, SourceOptions, layout_from_doc
from dance_aggregate.errors import RecordError
from dance_aggregate.records import ClipRecord, Exclusion, LocalCut, Plan
from dance_aggregate.taxonomy import NOT_DANCE, UNKNOWN_CLASS

_MODULE_DOC = __doc__
#: A split list entry: ``<Class>/v_<Class>_gNN_cNN.avi``.
_ENTRY_RE = re.compile(
    r"(?P<dir>[A-Za-z]+)/(?P<stem>v_(?P<cls>[A-Za-z]+)_g(?P<group>\d+)_c(?P<clip>\d+))\.(?i:avi)"
)
_EXPECTED = "'<Class>/v_<Class>_gNN_cNN.avi' (an official ucfTrainTestlist line)"


@dataclass
class UCF101Options(SourceOptions):
    """Options of the ``ucf101`` config.

    Attributes:
        fold: Which official train/test fold to use (1, 2 or 3).
    """

    fold: int = bounded(1, choices=(1, 2, 3))


class UCF101Builder(SourceBuilder):
    """Builds the ``ucf101`` config from the official UCF101 release."""

    source = "ucf101"
    config_name = "ucf101"
    layout = layout_from_doc(_MODULE_DOC)
    Options = UCF101Options

    def _find_dirs(self) -> tuple[Path, Path]:
        root = self.data_dir
        if not root.exists():
            raise self.layout_error(f"--data-dir {root} does not exist")
        if not root.is_dir():
            raise self.layout_error(f"--data-dir {root} is a file, not a folder")
        lists = next((p for p in (root / "ucfTrainTestlist", root.parent / "ucfTrainTestlist") if p.is_dir()), None)
        if lists is None:
            raise self.layout_error(f"no ucfTrainTestlist/ folder in {root}")
        videos = root / "UCF-101" if (root / "UCF-101").is_dir() else root
        return videos, lists

    def plan(self) -> Plan:
        """Read the fold's split lists; one record per dance clip listed, a malformed line
        excluded with its reason (the other lines are still read)."""
        videos, lists = self._find_dirs()
        fold = self.options.fold
        records: list[ClipRecord] = []
        exclusions: list[Exclusion] = []
        class_dirs = {p.name.lower(): p for p in videos.iterdir() if p.is_dir()} if videos.is_dir() else {}
        seen: set[str] = set()
        for split, list_name in (("train", f"trainlist0{fold}.txt"), ("test", f"testlist0{fold}.txt")):
            list_path = lists / list_name
            if not list_path.is_file():
                raise self.layout_error(f"missing split list {list_path}")
            for line_no, text in read_lines(list_path):
                where = f"{list_name}:{line_no}"
                parse = partial(self._plan_line, text, where, split, videos, class_dirs, seen)
                out = per_record(parse, f"ucf101/{display_id(text.split()[0])}", where, split)
                (records if isinstance(out, ClipRecord) else exclusions).append(out)
        return Plan(records=records, exclusions=exclusions)

    def _plan_line(
        self, text: str, where: str, split: str, videos: Path, class_dirs: dict[str, Path], seen: set[str]
    ) -> ClipRecord | Exclusion:
        """The record of one split-list line, or its exclusion.

        Raises:
            RecordError: the line is not an official list entry.
        """
        rel = text.split()[0]
        m = _ENTRY_RE.fullmatch(rel)
        if not m or m["dir"].lower() != m["cls"].lower():
            raise RecordError(f"{where}: cannot read {shown(rel)}; expected {_EXPECTED}", MALFORMED_LINE)
        cls_name, stem = m["dir"], m["stem"]
        file_name = rel.split("/", 1)[1]
        # The clip's path in the split lists without ``.avi``: its length is twice the class
        # name's plus a constant, so the ids of two classes never differ by one character (the
        # Hub viewer's statistics fail a split whose text lengths take two adjacent values, as
        # ``v_SalsaSpin_...`` and ``v_IceDancing_...`` alone would).
        source_id = f"{cls_name}/{stem}"
        rid = f"ucf101/{source_id}"
        mapping = self.taxonomy.map("ucf101", cls_name)
        if mapping is None:
            reason = NOT_DANCE if self.taxonomy.is_class("ucf101", cls_name) else UNKNOWN_CLASS
            return Exclusion(rid, reason, cls_name, split, cls_name)
        if stem in seen:
            return Exclusion(rid, "duplicate line", f"{where}: {stem} is listed more than once", split, cls_name)
        seen.add(stem)
        class_dir = class_dirs.get(cls_name.lower())
        path = (class_dir / file_name) if class_dir else None
        if path is None or not path.is_file():
            return Exclusion(rid, "missing video", f"{videos / cls_name / file_name} not found", split, cls_name)
        return ClipRecord(
            id=rid,
            source="ucf101",
            source_id=source_id,
            split=split,
            label=mapping.label,
            source_label=cls_name,
            family=mapping.family,
            group=f"{m['cls']}_g{m['group']}",
            media=LocalCut(str(path)),
        )
