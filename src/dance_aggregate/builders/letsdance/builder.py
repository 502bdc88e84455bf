"""Let's Dance (Castro et al. 2018): JPEG frame sequences encoded into clips.

Raw layout (``--data-dir letsdance=PATH``; PATH is the folder, or the release zip itself)::

    PATH/  (or PATH/rgb/)               or  PATH = letsdance.zip (read in place, never extracted)
    ├── ballet/                             └── [rgb/]ballet/... (a top-level folder is detected)
    │   ├── 0DvqbnEtyNY_073_0001.jpg    (<youtube_id>_<start>_<relFrame>.jpg, 1280x720, 30 fps)
    │   ├── 0DvqbnEtyNY_073_0002.jpg
    │   └── ...
    └── <class>/...                     (ballet, break, cha, flamenco, foxtrot, jive, latin,
                                         pasodoble, quickstep, rumba, samba, square, swing,
                                         tango, tap, waltz)

A clip is the frames sharing ``<youtube_id>_<start>``, ordered by ``relFrame`` (numbered
from 1). YouTube ids are 11 characters and may hold ``_`` and ``-``, so names are split
from the right. Missing frames inside a clip are logged and filled by repeating the
previous frame (the clip keeps its 30 fps timing); a clip missing more than
``max_missing`` of its frames is excluded with that reason. A clip whose frame numbers (or
split-list length) span more than :data:`MAX_CLIP_FRAMES` (an hour) is excluded as
``invalid frame number`` before its gaps are counted. Clips have no audio.

``<start>`` is not a frame number: in every listing we know (the split lists below and
their authors' notes on broken clips) its last two digits are below 60 and values such as
``1314`` appear, i.e. it is the clip's start in the YouTube video as ``MMSS`` (13:14).
``start_time`` is read that way (``start_unit=frames`` or ``seconds`` read it otherwise);
``end_time`` = ``start_time`` + frames / 30.

Splits (none are official): by default every YouTube id is hashed into train / validation /
test (80 / 10 / 10), so all clips of a video share a split. ``splits=PATH`` takes split
lists instead: a folder with ``train.csv``, ``val.csv`` (or ``validation.csv``) and
``test.csv`` in the tab-separated ``class<TAB><youtube_id>_<start><TAB><n_frames>`` format of
the published Let's Dance lists (``<youtube_id>_<start>`` is exactly the frame names' clip
key), or one CSV of ``<youtube_id>_<start>,<split>`` lines. A listed clip without frames and
a frame clip missing from the lists are both excluded and counted. A video whose clips the
lists put in several splits (20 videos in the published lists) is moved whole to the most
held-out of them (test, then validation), so no video straddles splits.

A clip whose YouTube id is not 11 characters of ``A-Za-z0-9_-`` is excluded as ``invalid
id``; a clip in a folder that is not one of the 16 classes (compared without case) as
``unknown class``. Image names in a class folder that are not ``<youtube_id>_<start>_<frame>.jpg`` are
excluded and counted (one report line per class folder); a split-list line that cannot be
read is excluded with its file and line (:mod:`.splits`).

No ``pose`` column: the release's skeleton JSON could not be pinned down (no sample of it
is public), so it is not read.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar

from dance_aggregate.bounds import bounded
from dance_aggregate.builders.annotations import check_youtube_id, display_id, per_record
from dance_aggregate.builders.base import SourceBuilder, SourceOptions, layout_from_doc
from dance_aggregate.builders.letsdance.splits import (
    ListedClip,
    hash_split,
    index_lists,
    read_split_lists,
)
from dance_aggregate.builders.letsdance.tree import IMAGE_EXTS, FrameSource
from dance_aggregate.records import ClipRecord, Exclusion, FrameRun, Plan
from dance_aggregate.taxonomy import NOT_DANCE, UNKNOWN_CLASS

logger = logging.getLogger(__name__)

_MODULE_DOC = __doc__
#: Frame rate of the released frames.
FPS = 30
_FRAME_RE = re.compile(r"^(?P<yt>.+)_(?P<start>\d+)_(?P<rel>\d+)$")
#: Short sides a clip may be stored at (``--max-short-side`` has the same bounds).
MIN_SHORT_SIDE, MAX_SHORT_SIDE = 16, 8192
#: Most frames one clip may span (1 hour at 30 fps; the release's clips last seconds). A
#: frame number or split-list length beyond it is excluded as ``invalid frame number``
#: before the clip's frames are counted, so one hostile name never lists billions of gaps.
MAX_CLIP_FRAMES = 3600 * FPS
#: Reason of such a clip.
INVALID_FRAME_NUMBER = "invalid frame number"
__all__ = ["FrameSource", "LetsDanceBuilder", "LetsDanceOptions", "ListedClip", "hash_split", "read_split_lists"]


@dataclass
class LetsDanceOptions(SourceOptions):
    """Options of the ``letsdance`` config.

    Attributes:
        max_short_side: Downscale frames so the shorter side is at most this; 0 keeps
            1280x720. Unset: the encode options' value (``--max-short-side``), which
            defaults to 360 for this source (720p frames -> 640x360).
        max_missing: Exclude a clip when more than this fraction of its frames is missing.
        splits: Split lists (folder or CSV, see the module doc); empty: hash split.
        start_unit: How to read ``<start>`` of the names: ``mmss`` (default), ``frames``
            (frame number at 30 fps) or ``seconds``.
        train_percent: Hash split: percent of videos in train.
        validation_percent: Hash split: percent of videos in validation (the rest is test).
    """

    max_short_side: int | None = bounded(
        None, min=MIN_SHORT_SIDE, max=MAX_SHORT_SIDE, unit="pixels", special={0: "keep 1280x720"},
        none="--max-short-side, 360 by default",
    )
    max_missing: float = bounded(0.1, min=0.0, max=1.0, unit="a fraction of the clip's frames")
    splits: str = bounded("", path=True)
    start_unit: str = bounded("mmss", choices=("mmss", "frames", "seconds"))
    train_percent: int = bounded(80, min=0, max=100, unit="percent")
    validation_percent: int = bounded(10, min=0, max=100, unit="percent")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.train_percent + self.validation_percent > 100:
            raise ValueError(
                f"train_percent + validation_percent must be at most 100 (the rest is test), got "
                f"{self.train_percent} + {self.validation_percent}. Fix: lower one, e.g. "
                f"-o letsdance.train_percent={100 - self.validation_percent}"
            )


def parse_frame_name(name: str) -> tuple[str, str, int] | None:
    """``<youtube_id>_<start>_<relFrame>.jpg`` -> (youtube_id, start token, relFrame), or ``None``.

    Parsed from the right, since YouTube ids may contain ``_``.
    """
    stem, ext = os.path.splitext(os.path.basename(name))
    if ext.lower() not in IMAGE_EXTS:
        return None
    m = _FRAME_RE.match(stem)
    if not m:
        return None
    return m["yt"], m["start"], int(m["rel"])


def start_seconds(token: str, unit: str = "mmss") -> float:
    """The clip start in seconds from the ``<start>`` token of the names.

    Raises:
        ValueError: for an ``mmss`` token whose seconds are 60 or more.
    """
    value = int(token)
    if unit == "mmss":
        if value % 100 >= 60:
            raise ValueError(f"start {token!r} is not MMSS (seconds {value % 100} >= 60)")
        return float(value // 100 * 60 + value % 100)
    if unit == "frames":
        return value / FPS
    return float(value)


class LetsDanceBuilder(SourceBuilder):
    """Builds the ``letsdance`` config from the frames (folder or zip)."""

    source = "letsdance"
    config_name = "letsdance"
    layout = layout_from_doc(_MODULE_DOC)
    Options = LetsDanceOptions
    #: 720p frames are stored at 640x360 unless told otherwise.
    default_max_short_side: ClassVar[int | None] = 360

    def _frames(self) -> FrameSource:
        root = self.data_dir
        if not root.exists():
            raise self.layout_error(f"--data-dir {root} does not exist")
        if root.is_file() and not zipfile.is_zipfile(root):
            raise self.layout_error(f"--data-dir {root} is a file but not a zip archive")
        return FrameSource(root)

    def plan(self) -> Plan:
        """Group frames into clips, assign splits, exclude what cannot be built (each clip,
        list line and stray image name on its own)."""
        source = self._frames()
        clips, exclusions = _group_frames(source)
        if not clips and not exclusions:
            raise self.layout_error(f"no <class>/<youtube_id>_<start>_<frame>.jpg frames in {source.path}")
        listed: dict[str, ListedClip] = {}
        moved: dict[str, str] = {}
        if self.options.splits:
            listed, moved, bad_lines = index_lists(read_split_lists(Path(self.options.splits).expanduser()))
            exclusions.extend(bad_lines)
        records: list[ClipRecord] = []
        for key in sorted(set(clips) | set(listed)):
            parse = partial(self._plan_clip, key, clips.get(key, {}), listed.get(key), moved, source.path)
            out = per_record(parse, f"letsdance/{display_id(key)}", key)
            (records if isinstance(out, ClipRecord) else exclusions).append(out)
        gappy = [r for r in records if isinstance(r.media, FrameRun) and r.media.missing]
        if gappy:
            logger.info(
                "letsdance: %d clip%s missing frames (%d frames in all), filled by holding the previous frame",
                len(gappy),
                " has" if len(gappy) == 1 else "s have",
                sum(len(r.media.missing) for r in gappy if isinstance(r.media, FrameRun)),
            )
        return Plan(records=records, exclusions=exclusions)

    def _plan_clip(
        self, key: str, by_class: dict[str, dict[int, str]], lc: ListedClip | None, moved: dict[str, str], where: Path
    ) -> ClipRecord | Exclusion:
        """The record of one clip (its frames and its split-list line), or its exclusion.

        Raises:
            RecordError: the clip's YouTube id is not one.
        """
        opts = self.options
        yt, start = key.rsplit("_", 1)
        rid = f"letsdance/{display_id(key)}"
        check_youtube_id(yt, f"{lc.where if lc else where}: clip {display_id(key)}")
        cls = next(iter(by_class)) if len(by_class) == 1 else (lc.source_label if lc else None)
        if opts.splits:
            if lc is None:
                return Exclusion(rid, "not in split lists", f"{key} has frames but is in no split list", None, cls)
            split = moved.get(yt, str(lc.split))
        else:
            split = hash_split(yt, opts.train_percent, opts.validation_percent)
        if not by_class:
            return Exclusion(rid, "missing frames", f"{key} is listed but has no frames in {where}", split, cls)
        if len(by_class) > 1:
            return Exclusion(rid, "clip in several classes", f"{key} has frames under {sorted(by_class)}", split, cls)
        frames = by_class[str(cls)]
        mapping = self.taxonomy.map("letsdance", str(cls))
        if mapping is None:
            reason = NOT_DANCE if self.taxonomy.is_class("letsdance", str(cls)) else UNKNOWN_CLASS
            return Exclusion(rid, reason, str(cls), split, cls)
        span = _span(frames, lc.n_frames if lc else None)
        if span is None:
            return Exclusion(
                rid, INVALID_FRAME_NUMBER,
                f"{display_id(key)}: frames numbered up to {max(frames)}"
                + (f", {lc.n_frames} frames listed in {lc.where}" if lc and lc.n_frames else "")
                + f"; a clip spans at most {MAX_CLIP_FRAMES} frames (1 hour at {FPS} fps)",
                split, cls,
            )
        first, expected, missing = span
        if len(missing) > opts.max_missing * expected:
            return Exclusion(
                rid,
                "too many missing frames",
                f"{len(missing)} of {expected} frames missing (first: {missing[:5]}); limit max_missing={opts.max_missing}",
                split,
                cls,
            )
        try:
            t0: float | None = start_seconds(start, opts.start_unit)
        except ValueError as exc:
            logger.warning(
                "letsdance: %s: %s; start_time left empty (see option start_unit)", key, exc, extra={"clip": key}
            )
            t0 = None
        return ClipRecord(
            id=rid,
            source="letsdance",
            source_id=key,
            split=split,
            label=mapping.label,
            source_label=str(cls),
            family=mapping.family,
            group=yt,
            youtube_id=yt,
            start_time=t0,
            end_time=None if t0 is None else round(t0 + expected / FPS, 6),
            media=FrameRun(
                container=str(where),
                frames=tuple((i, frames[i]) for i in sorted(frames)),
                first=first,
                expected=expected,
                missing=tuple(missing),
                fps=FPS,
                max_missing=opts.max_missing,
                max_short_side=opts.max_short_side,
            ),
        )


def _span(frames: dict[int, str], listed_frames: int | None) -> tuple[int, int, list[int]] | None:
    """``(first, expected, missing)`` relFrames of a clip: frames are numbered from 1 in the
    release (a tree numbered from 0 is read as is) up to the last frame present or listed;
    ``None`` when that spans more than :data:`MAX_CLIP_FRAMES` (checked before any gap is listed)."""
    first = 0 if 0 in frames else 1
    last = max(max(frames), (listed_frames or 0) - 1 + first)
    if last - first + 1 > MAX_CLIP_FRAMES:
        return None
    return first, last - first + 1, [i for i in range(first, last + 1) if i not in frames]


def _group_frames(source: FrameSource) -> tuple[dict[str, dict[str, dict[int, str]]], list[Exclusion]]:
    """``(clips, stray)``: frames by clip key, class and relFrame, and one exclusion per class
    folder counting its images whose names are not ``<youtube_id>_<start>_<frame>.jpg``."""
    clips: dict[str, dict[str, dict[int, str]]] = defaultdict(lambda: defaultdict(dict))
    stray: dict[str, list[str]] = defaultdict(list)
    for cls, member in source.list_frames():
        parsed = parse_frame_name(member)
        if parsed is None:
            stray[cls].append(os.path.basename(member))
            continue
        yt, start, rel = parsed
        clips[f"{yt}_{start}"][cls][rel] = member
    out = []
    for cls, names in sorted(stray.items()):
        logger.warning("%s: %d images in %s/ not named <youtube_id>_<start>_<frame>.jpg", source.path, len(names), cls)
        detail = f"{len(names)} images in {display_id(cls)}/ not named <youtube_id>_<start>_<frame>.jpg, e.g. " + ", ".join(
            display_id(n, 60) for n in names[:3]
        )
        out.append(Exclusion(f"letsdance/{display_id(cls)}/", "unreadable frame name", detail, None, cls, count=len(names)))
    return clips, out
