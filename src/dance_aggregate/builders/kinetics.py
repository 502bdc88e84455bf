"""Kinetics-600 (Carreira et al. 2018): the 20 dance classes, fetched from YouTube or a mirror.

(The Kinetics "dancing" grouping has 21: ``marching`` is not dance by the shared schema's
rule and lives in the ``kinetics600_motion`` config; see ``taxonomy/taxonomy.yaml``.)

Raw layout (``--data-dir kinetics600=PATH``)::

    PATH/
    ├── train.csv       (label,youtube_id,time_start,time_end,split)
    ├── validate.csv    (split "val"; also accepted: val.csv, kinetics-600_val.csv)
    └── test.csv        (test may have no label column: such rows are excluded and counted)
    or the JSON twins: train.json, validate.json, test.json
        ({"<youtube_id>": {"annotations": {"label": ..., "segment": [start, end]}, "subset": ...}})

    Local mirror (``--video-dir kinetics600=PATH``, optional):
    PATH/<split>/<youtube_id>_<start:06d>_<end:06d>.mp4   (any container: .mkv, .webm...)

Each row is one 10 s clip; rows of non-dance classes are excluded by rule and counted.
Clips not in the mirror are downloaded (see :mod:`dance_aggregate.fetch`). ``group`` is
the YouTube id. The ``kinetics600_motion`` config holds the non-dance body-motion classes
(the ``motion`` family) instead and is not part of the default build.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from dance_aggregate.builders.base import SourceOptions, layout_from_doc
from dance_aggregate.builders.youtube import YouTubeSourceBuilder
from dance_aggregate.errors import AnnotationError
from dance_aggregate.records import ClipRecord, Exclusion, Plan
from dance_aggregate.taxonomy import MOTION_FAMILY

_MODULE_DOC = __doc__
#: Source split names -> ours.
SPLIT_NAMES = {"train": "train", "training": "train", "val": "validation", "validate": "validation",
               "validation": "validation", "test": "test", "testing": "test"}
#: Annotation file stems per split, in the order they are looked for.
_FILE_STEMS = {
    "train": ("train", "kinetics-600_train", "kinetics600_train"),
    "validation": ("validate", "val", "kinetics-600_val", "kinetics-600_validate", "kinetics600_val"),
    "test": ("test", "kinetics-600_test", "kinetics600_test"),
}


@dataclass
class KineticsOptions(SourceOptions):
    """Options of the Kinetics configs (none yet; fetching options come from the CLI)."""


@dataclass
class _Row:
    label: str | None
    youtube_id: str
    start: float
    end: float
    split: str
    where: str


class Kinetics600Builder(YouTubeSourceBuilder):
    """Builds ``kinetics600`` (the dance classes) from the Kinetics-600 annotation files."""

    source = "kinetics600"
    config_name = "kinetics600"
    layout = layout_from_doc(_MODULE_DOC)
    Options = KineticsOptions
    #: Whether this config holds the motion family instead of dance.
    motion: ClassVar[bool] = False

    def annotation_files(self) -> dict[str, Path]:
        """The annotation file of each split present (CSV preferred over JSON)."""
        root = self.data_dir
        if not root.is_dir():
            raise self.layout_error(f"--data-dir {root} does not exist or is not a folder")
        found: dict[str, Path] = {}
        for split, stems in _FILE_STEMS.items():
            for ext in (".csv", ".json"):
                hit = next((root / f"{s}{ext}" for s in stems if (root / f"{s}{ext}").is_file()), None)
                if hit:
                    found[split] = hit
                    break
        if not found:
            raise self.layout_error(f"no train/validate/test .csv or .json in {root}")
        return found

    def plan(self) -> Plan:
        """One record per annotation row; non-dance (or, for motion, non-motion) rows excluded."""
        mirror = self.index_mirror(self.video_dir)
        records: list[ClipRecord] = []
        exclusions: list[Exclusion] = []
        seen: set[str] = set()
        for split, path in self.annotation_files().items():
            rows = _read_csv(path, split) if path.suffix == ".csv" else _read_json(path, split)
            for row in rows:
                stem = f"{row.youtube_id}_{int(row.start):06d}_{round(row.end):06d}"
                rid = f"{self.source}/{stem}"
                if not row.label:
                    exclusions.append(Exclusion(rid, "no label", f"{row.where}: no label (test split)", row.split, None))
                    continue
                mapping = self.taxonomy.map(self.source, row.label, include_motion=self.motion)
                if mapping is None or (mapping.family == MOTION_FAMILY) != self.motion:
                    reason = "dance class (in the kinetics600 config)" if mapping is not None else (
                        "not a motion class" if self.motion else "not a dance class")
                    exclusions.append(Exclusion(rid, reason, row.label, row.split, row.label))
                    continue
                if rid in seen:
                    exclusions.append(Exclusion(rid, "duplicate row", row.where, row.split, row.label))
                    continue
                seen.add(rid)
                if stem in mirror:
                    media = self.clip_media(row.youtube_id, row.start, row.end, mirror[stem], mirror_offset=row.start)
                elif row.youtube_id in mirror:
                    media = self.clip_media(row.youtube_id, row.start, row.end, mirror[row.youtube_id])
                else:
                    media = self.clip_media(row.youtube_id, row.start, row.end, None)
                records.append(
                    ClipRecord(
                        id=rid,
                        source=self.source,
                        source_id=stem,
                        split=row.split,
                        label=mapping.label,
                        source_label=row.label,
                        family=mapping.family,
                        group=row.youtube_id,
                        youtube_id=row.youtube_id,
                        start_time=row.start,
                        end_time=row.end,
                        media=media,
                    )
                )
        return Plan(records=records, exclusions=exclusions)


class Kinetics600MotionBuilder(Kinetics600Builder):
    """Builds ``kinetics600_motion``: the non-dance body-motion classes (backflips, cartwheels...)."""

    config_name = "kinetics600_motion"
    motion = True


def _split(value: str | None, default: str, where: str) -> str:
    if not value:
        return default
    try:
        return SPLIT_NAMES[value.strip().lower()]
    except KeyError:
        raise AnnotationError(f"{where}: unknown split {value!r}; expected one of {sorted(SPLIT_NAMES)}") from None


def _read_csv(path: Path, split: str) -> list[_Row]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        need = {"youtube_id", "time_start", "time_end"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise AnnotationError(
                f"{path}: header {reader.fieldnames} lacks {sorted(need - set(reader.fieldnames or []))}; "
                f"expected label,youtube_id,time_start,time_end,split (an official Kinetics CSV)"
            )
        out = []
        for i, r in enumerate(reader, start=2):
            where = f"{path.name}:{i}"
            try:
                start, end = float(r["time_start"]), float(r["time_end"])
            except (TypeError, ValueError):
                raise AnnotationError(f"{where}: cannot read time_start/time_end {r['time_start']!r}/{r['time_end']!r} as numbers") from None
            out.append(_Row((r.get("label") or "").strip() or None, r["youtube_id"].strip(), start, end,
                            _split(r.get("split"), split, where), where))
    return out


def _read_json(path: Path, split: str) -> list[_Row]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise AnnotationError(f"{path}: not valid JSON ({exc}); expected the Kinetics JSON keyed by id") from None
    out = []
    for vid, entry in data.items():
        where = f"{path.name}:{vid}"
        ann = entry.get("annotations") or {}
        seg = ann.get("segment") or entry.get("segment")
        if not seg or len(seg) != 2:
            raise AnnotationError(f"{where}: no annotations.segment [start, end]; expected the Kinetics JSON format")
        out.append(_Row(ann.get("label") or None, vid, float(seg[0]), float(seg[1]), _split(entry.get("subset"), split, where), where))
    return out
