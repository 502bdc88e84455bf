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
rule and counted. UCF101 has no validation split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dance_aggregate.builders.base import SourceBuilder, SourceOptions, layout_from_doc
from dance_aggregate.errors import AnnotationError
from dance_aggregate.records import ClipRecord, Exclusion, Plan

_MODULE_DOC = __doc__
_CLIP_RE = re.compile(r"^v_(?P<cls>[A-Za-z]+)_g(?P<group>\d+)_c(?P<clip>\d+)$")


@dataclass
class UCF101Options(SourceOptions):
    """Options of the ``ucf101`` config.

    Attributes:
        fold: Which official train/test fold to use (1, 2 or 3).
    """

    fold: int = 1

    def __post_init__(self) -> None:
        if self.fold not in (1, 2, 3):
            raise ValueError(f"fold must be 1, 2 or 3, got {self.fold!r}")


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
        """Read the fold's split lists; one record per dance clip listed."""
        videos, lists = self._find_dirs()
        fold = self.options.fold
        records: list[ClipRecord] = []
        exclusions: list[Exclusion] = []
        class_dirs = {p.name.lower(): p for p in videos.iterdir() if p.is_dir()} if videos.is_dir() else {}
        for split, list_name in (("train", f"trainlist0{fold}.txt"), ("test", f"testlist0{fold}.txt")):
            list_path = lists / list_name
            if not list_path.is_file():
                raise self.layout_error(f"missing split list {list_path}")
            for line_no, rel in _read_list(list_path):
                cls_name, _, file_name = rel.partition("/")
                stem = Path(file_name).stem
                m = _CLIP_RE.match(stem)
                if not file_name or not m:
                    raise AnnotationError(
                        f"{list_path}:{line_no}: cannot read {rel!r}; expected "
                        f"'<Class>/v_<Class>_gNN_cNN.avi'. Is this an official ucfTrainTestlist file?"
                    )
                rid = f"ucf101/{stem}"
                mapping = self.taxonomy.map("ucf101", cls_name)
                if mapping is None:
                    exclusions.append(Exclusion(rid, "not a dance class", cls_name, split, cls_name))
                    continue
                class_dir = class_dirs.get(cls_name.lower())
                path = (class_dir / file_name) if class_dir else None
                if path is None or not path.is_file():
                    exclusions.append(
                        Exclusion(rid, "missing video", f"{videos / cls_name / file_name} not found", split, cls_name)
                    )
                    continue
                records.append(
                    ClipRecord(
                        id=rid,
                        source="ucf101",
                        source_id=stem,
                        split=split,
                        label=mapping.label,
                        source_label=cls_name,
                        family=mapping.family,
                        group=f"{m['cls']}_g{m['group']}",
                        media={"path": str(path)},
                    )
                )
        return Plan(records=records, exclusions=exclusions)


def _read_list(path: Path) -> list[tuple[int, str]]:
    """Non-empty lines of a split list (CRLF or LF), without the trailing class index."""
    out = []
    with path.open(encoding="utf-8", newline="") as f:
        for i, line in enumerate(f, start=1):
            text = line.strip()
            if text:
                out.append((i, text.split()[0]))
    return out
