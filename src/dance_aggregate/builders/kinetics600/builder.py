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

Each row is one 10 s clip; rows of non-dance classes are excluded by rule and counted, rows
whose label is not a class of the release (its package's ``crosswalk.yaml`` names the class
list; a typo, or another release's class) as ``unknown class``.
Clips not in the mirror are downloaded (see :mod:`dance_aggregate.fetch`). ``group`` is
the YouTube id. The ``kinetics600_motion`` config holds the non-dance body-motion classes
(the ``motion`` family) instead and is not part of the default build.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from dance_aggregate.builders.annotations import (
    DUPLICATE_KEY,
    MALFORMED_ENTRY,
    MALFORMED_LINE,
    UNKNOWN_SPLIT,
    check_youtube_id,
    display_id,
    iter_csv,
    parse_range,
    per_record,
    read_json,
    shown,
)
from dance_aggregate.builders.base import SourceOptions, layout_from_doc
from dance_aggregate.builders.youtube import YouTubeSourceBuilder
from dance_aggregate.errors import AnnotationError, RecordError
from dance_aggregate.records import ClipRecord, Exclusion, Plan
from dance_aggregate.taxonomy import MOTION_FAMILY, NOT_DANCE, UNKNOWN_CLASS

_MODULE_DOC = __doc__
#: Source split names -> ours.
SPLIT_NAMES = {"train": "train", "training": "train", "val": "validation", "validate": "validation",
               "validation": "validation", "test": "test", "testing": "test"}
#: Kinetics-600's annotation file stems per split, in the order they are looked for.
_FILE_STEMS = {
    "train": ("train", "kinetics-600_train", "kinetics600_train"),
    "validation": ("validate", "val", "kinetics-600_val", "kinetics-600_validate", "kinetics600_val"),
    "test": ("test", "kinetics-600_test", "kinetics600_test"),
}


@dataclass
class KineticsOptions(SourceOptions):
    """Options of the Kinetics configs (none yet; fetching options come from the CLI)."""


@dataclass
class _Raw:
    """One annotation record as read, before its values are checked."""

    where: str
    youtube_id: Any
    start: Any
    end: Any
    label: Any
    split: Any
    error: str | None = None
    reason: str = MALFORMED_LINE

    @property
    def rid(self) -> str:
        """The record's id in reports, before its values are known to be good."""
        return display_id(str(self.youtube_id)) if self.youtube_id is not None else self.where


class KineticsBuilder(YouTubeSourceBuilder):
    """Plans a Kinetics release from its annotation files (Kinetics-600 and later releases
    share the layouts; a subclass sets ``source``, ``config_name``, ``layout`` and
    ``file_stems``)."""

    Options = KineticsOptions
    #: Whether this config holds the motion family instead of dance.
    motion: ClassVar[bool] = False
    #: The release's annotation file stems per split (relative to ``--data-dir``, a subfolder
    #: allowed), in the order they are looked for; ``.csv`` is tried before ``.json``.
    file_stems: ClassVar[dict[str, tuple[str, ...]]] = {
        "train": ("train",), "validation": ("validate", "val"), "test": ("test",)}

    def annotation_files(self) -> dict[str, Path]:
        """The annotation file of each split present (CSV preferred over JSON)."""
        root = self.data_dir
        if not root.is_dir():
            raise self.layout_error(f"--data-dir {root} does not exist or is not a folder")
        found: dict[str, Path] = {}
        for split, stems in self.file_stems.items():
            for ext in (".csv", ".json"):
                hit = next((root / f"{s}{ext}" for s in stems if (root / f"{s}{ext}").is_file()), None)
                if hit:
                    found[split] = hit
                    break
        if not found:
            raise self.layout_error(f"no train/validate/test .csv or .json in {root}")
        return found

    def plan(self) -> Plan:
        """One record per annotation row; non-dance (or, for motion, non-motion) rows excluded,
        a malformed row excluded with its reason (the others are still read)."""
        mirror = self.index_mirror(self.video_dir)
        records: list[ClipRecord] = []
        exclusions: list[Exclusion] = []
        seen: set[str] = set()
        for split, path in self.annotation_files().items():
            raws = _read_csv(path) if path.suffix == ".csv" else _read_json(path)
            for raw in raws:
                out = per_record(partial(self._plan_row, raw, split, mirror, seen), f"{self.source}/{raw.rid}", raw.where, split)
                (records if isinstance(out, ClipRecord) else exclusions).append(out)
        return Plan(records=records, exclusions=exclusions)

    def _plan_row(self, raw: _Raw, file_split: str, mirror: dict[str, Path], seen: set[str]) -> ClipRecord | Exclusion:
        """The record of one annotation row, or its exclusion.

        Raises:
            RecordError: a malformed row, an invalid id or time, an unknown split.
        """
        if raw.error:
            raise RecordError(f"{raw.where}: {raw.error}", raw.reason)
        youtube_id = check_youtube_id(raw.youtube_id, raw.where)
        start, end = parse_range(raw.start, raw.end, raw.where, names=("time_start", "time_end"))
        split = _split(raw.split, file_split, raw.where)
        label = raw.label.strip() if isinstance(raw.label, str) else raw.label
        if label is not None and not isinstance(label, str):
            raise RecordError(f"{raw.where}: label {shown(label)} is not text; expected a class name", MALFORMED_ENTRY)
        stem = f"{youtube_id}_{int(start):06d}_{round(end):06d}"
        rid = f"{self.source}/{stem}"
        if not label:
            return Exclusion(rid, "no label", f"{raw.where}: no label (test split)", split, None)
        mapping = self.taxonomy.map(self.source, label, include_motion=self.motion)
        if mapping is None or (mapping.family == MOTION_FAMILY) != self.motion:
            if mapping is not None:
                reason = f"dance class (in the {self.source} config)"
            elif not self.taxonomy.is_class(self.source, label):
                reason = UNKNOWN_CLASS  # the class list of this release, from its package's crosswalk.yaml
            else:
                reason = "not a motion class" if self.motion else NOT_DANCE
            # A class named like a dance but not one carries the crosswalk's reason (ski ballet).
            why = self.taxonomy.crosswalk(self.source).exclusion(label)
            return Exclusion(rid, reason, f"{label}: {why}" if why else label, split, label)
        if rid in seen:
            return Exclusion(rid, "duplicate row", raw.where, split, label)
        if stem in mirror:
            media = self.clip_media(youtube_id, start, end, mirror[stem], mirror_offset=start)
        elif youtube_id in mirror:
            media = self.clip_media(youtube_id, start, end, mirror[youtube_id])
        else:
            media = self.clip_media(youtube_id, start, end, None)
        record = self.clip_record(stem, split, mapping, label, youtube_id, start, end, media)
        seen.add(record.id)  # the record's own id string (equal to rid): no second copy of a million ids
        return record


class Kinetics600Builder(KineticsBuilder):
    """Builds ``kinetics600`` (the dance classes) from the Kinetics-600 annotation files."""

    source = "kinetics600"
    config_name = "kinetics600"
    layout = layout_from_doc(_MODULE_DOC)
    file_stems = _FILE_STEMS


class Kinetics600MotionBuilder(Kinetics600Builder):
    """Builds ``kinetics600_motion``: the non-dance body-motion classes (backflips, cartwheels...)."""

    config_name = "kinetics600_motion"
    motion = True


def _split(value: Any, default: str, where: str) -> str:
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().lower() in SPLIT_NAMES:
        return SPLIT_NAMES[value.strip().lower()]
    raise RecordError(f"{where}: unknown split {shown(value)}; expected one of {sorted(SPLIT_NAMES)}", UNKNOWN_SPLIT)


_CSV_FORMAT = "label,youtube_id,time_start,time_end,split (an official Kinetics CSV)"
_JSON_FORMAT = 'the Kinetics JSON: {"<youtube_id>": {"annotations": {"label", "segment": [start, end]}, "subset"}}'


def _read_csv(path: Path) -> Iterator[_Raw]:
    """Every record line of an official Kinetics CSV (BOM, CRLF and stray spaces accepted),
    one at a time (a million-row list is never held: see ``iter_csv``).

    Raises:
        AnnotationError: the file is not UTF-8 or lacks youtube_id, time_start or time_end.
    """
    _, rows = iter_csv(path, ("youtube_id", "time_start", "time_end"), _CSV_FORMAT)
    for row in rows:
        yield _Raw(row.where, row.get("youtube_id"), row.get("time_start"), row.get("time_end"),
                   row.get("label") or None, row.get("split") or None, row.error)


def _read_json(path: Path) -> list[_Raw]:
    """Every entry of a Kinetics JSON twin; entries of the wrong shape become bad records.

    Raises:
        AnnotationError: the file is not JSON, or not an object keyed by id.
    """
    data = read_json(path, _JSON_FORMAT)
    if not isinstance(data, dict):
        raise AnnotationError(f"{path}: the top level is a {type(data).__name__}; expected {_JSON_FORMAT}")
    out = [_entry(f"{path.name}:{display_id(vid)}", vid, entry) for vid, entry in data.items()]
    for vid, _ in getattr(data, "duplicates", []):
        out.append(_Raw(f"{path.name}:{display_id(vid)}", vid, None, None, None, None,
                        f"key {shown(vid)} appears more than once; its first entry is used", DUPLICATE_KEY))
    return out


def _entry(where: str, vid: str, entry: Any) -> _Raw:
    if not isinstance(entry, dict):
        return _Raw(where, vid, None, None, None, None, f"entry is a {type(entry).__name__}; expected an object",
                    MALFORMED_ENTRY)
    ann = entry.get("annotations")
    ann = ann if ann is not None else {}
    if not isinstance(ann, dict):
        return _Raw(where, vid, None, None, None, None, f"annotations is a {type(ann).__name__}; expected an object",
                    MALFORMED_ENTRY)
    seg = ann.get("segment", entry.get("segment"))
    if not isinstance(seg, list) or len(seg) != 2:
        return _Raw(where, vid, None, None, None, None, f"segment {shown(seg)}; expected [start, end] in seconds",
                    MALFORMED_ENTRY)
    return _Raw(where, vid, seg[0], seg[1], ann.get("label") or None, entry.get("subset"))
