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
``max_missing`` of its frames is excluded with that reason. Clips have no audio.

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

No ``pose`` column: the release's skeleton JSON could not be pinned down (no sample of it
is public), so it is not read.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import logging
import os
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dance_aggregate.builders.base import SourceBuilder, SourceOptions, clip_row, layout_from_doc
from dance_aggregate.errors import AnnotationError, MediaError
from dance_aggregate.media.clip import EncodeOptions, encode_frames
from dance_aggregate.records import ClipRecord, Exclusion, Plan

logger = logging.getLogger(__name__)

_MODULE_DOC = __doc__
#: Frame rate of the released frames.
FPS = 30
_FRAME_RE = re.compile(r"^(?P<yt>.+)_(?P<start>\d+)_(?P<rel>\d+)$")
_YT_RE = re.compile(r"^[A-Za-z0-9_-]{11}$")
_SPLIT_FILES = {"train": ("train",), "validation": ("val", "validation", "valid"), "test": ("test",)}
_SPLIT_NAMES = {
    "train": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
}
#: Most held-out first: where a video listed in several splits goes.
_HELD_OUT_ORDER = ("test", "validation", "train")
_IMAGE_EXTS = (".jpg", ".jpeg")


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

    max_short_side: int | None = None
    max_missing: float = 0.1
    splits: str = ""
    start_unit: str = "mmss"
    train_percent: int = 80
    validation_percent: int = 10

    def __post_init__(self) -> None:
        if self.max_short_side is not None and self.max_short_side < 0:
            raise ValueError(f"max_short_side must be >= 0, got {self.max_short_side}")
        if not 0.0 <= self.max_missing <= 1.0:
            raise ValueError(f"max_missing must be a fraction in [0, 1], got {self.max_missing}")
        if self.start_unit not in ("mmss", "frames", "seconds"):
            raise ValueError(f"start_unit must be mmss, frames or seconds, got {self.start_unit!r}")
        if not (
            0 <= self.train_percent
            and 0 <= self.validation_percent
            and self.train_percent + self.validation_percent <= 100
        ):
            raise ValueError(
                f"train_percent + validation_percent must be within 0..100, got {self.train_percent} + {self.validation_percent}"
            )


def parse_frame_name(name: str) -> tuple[str, str, int] | None:
    """``<youtube_id>_<start>_<relFrame>.jpg`` -> (youtube_id, start token, relFrame), or ``None``.

    Parsed from the right, since YouTube ids may contain ``_``.
    """
    stem, ext = os.path.splitext(os.path.basename(name))
    if ext.lower() not in _IMAGE_EXTS:
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
    """One line of a split list."""

    key: str
    split: str
    source_label: str | None = None
    n_frames: int | None = None


def read_split_lists(path: Path) -> list[ListedClip]:
    """Read split lists: a folder of Let's Dance lists or one ``key,split`` CSV.

    Raises:
        AnnotationError: for a missing path or an unreadable line.
    """
    out: list[ListedClip] = []
    if path.is_dir():
        found = False
        for split, stems in _SPLIT_FILES.items():
            for stem in stems:
                for ext in (".csv", ".txt", ".tsv"):
                    f = path / f"{stem}{ext}"
                    if f.is_file():
                        found = True
                        out.extend(_read_letsdance_list(f, split))
        if not found:
            raise AnnotationError(
                f"{path}: no train.csv / val.csv / test.csv split lists in this folder; "
                f"expected the Let's Dance lists (class<TAB><youtube_id>_<start><TAB><n_frames>)"
            )
        return out
    if not path.is_file():
        raise AnnotationError(f"letsdance splits={path}: no such file or folder")
    with path.open(encoding="utf-8", newline="") as fh:
        for line_no, fields in enumerate(csv.reader(fh), start=1):
            fields = [x.strip() for x in fields]
            if not fields or not fields[0] or fields[0].startswith("#"):
                continue
            if len(fields) < 2 or fields[1].lower() not in _SPLIT_NAMES:
                if line_no == 1:
                    continue  # a header
                raise AnnotationError(f"{path}:{line_no}: expected '<youtube_id>_<start>,<split>', got {fields!r}")
            out.append(ListedClip(fields[0], _SPLIT_NAMES[fields[1].lower()]))
    return out


def _read_letsdance_list(path: Path, split: str) -> list[ListedClip]:
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        for line_no, line in enumerate(fh, start=1):
            fields = line.rstrip("\r\n").split("\t")
            if not line.strip():
                continue
            if len(fields) < 2 or "_" not in fields[1]:
                raise AnnotationError(
                    f"{path}:{line_no}: cannot read {line.rstrip()!r}; expected "
                    f"'class<TAB><youtube_id>_<start><TAB><n_frames>'"
                )
            n = int(fields[2]) if len(fields) > 2 and fields[2].strip().isdigit() else None
            out.append(ListedClip(fields[1].strip(), split, fields[0].strip(), n))
    return out


class FrameSource:
    """The frames of a Let's Dance tree, from a folder or straight from the zip.

    Args:
        path: The folder holding the class folders, or the zip file.
    """

    def __init__(self, path: Path) -> None:
        self.is_zip = path.is_file()
        if not self.is_zip and (path / "rgb").is_dir():
            path = path / "rgb"  # the extracted release: rgb/ next to flow/, skeleton/ ...
        self.path = path
        self._zip: zipfile.ZipFile | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "is_zip": self.is_zip, "_zip": None}

    def list_frames(self) -> Iterator[tuple[str, str]]:
        """Yield (class folder name, member) for every frame image."""
        if self.is_zip:
            with zipfile.ZipFile(self.path) as zf:
                names = [i.filename for i in zf.infolist() if not i.is_dir()]
            frames = [n for n in names if n.lower().endswith(_IMAGE_EXTS) and n.count("/") >= 1]
            prefixes = Counter(n.rsplit("/", 2)[0] if n.count("/") >= 2 else "" for n in frames)
            if not prefixes:
                return
            # One tree of class folders: the one under rgb/ if there are several (flow, ...).
            root = next((p for p in prefixes if p.rstrip("/").endswith("rgb")), prefixes.most_common(1)[0][0])
            others = [p for p in prefixes if p != root]
            if others:
                logger.warning(
                    "%s: frames outside %r ignored (under %s)", self.path, root or "/", ", ".join(others[:5])
                )
            for n in frames:
                parts = n.rsplit("/", 2)
                prefix = parts[0] if len(parts) == 3 else ""
                if prefix == root:
                    yield parts[-2], n
            return
        with os.scandir(self.path) as top:
            class_dirs = sorted(e.path for e in top if e.is_dir())
        for d in class_dirs:
            cls = os.path.basename(d)
            with os.scandir(d) as it:
                for e in it:
                    if e.is_file() and e.name.lower().endswith(_IMAGE_EXTS):
                        yield cls, f"{cls}/{e.name}"

    def read(self, member: str) -> bytes:
        """The bytes of one frame."""
        if self.is_zip:
            if self._zip is None:
                self._zip = zipfile.ZipFile(self.path)
            return self._zip.read(member)
        with open(self.path / member, "rb") as f:
            return f.read()


def decode_jpeg(data: bytes, min_short_side: int | None) -> np.ndarray:
    """Decode a JPEG to RGB, letting libjpeg scale down by 1/2, 1/4 or 1/8 while decoding
    when the result keeps at least ``min_short_side`` pixels (much faster than full size)."""
    with Image.open(io.BytesIO(data)) as img:
        if min_short_side:
            w, h = img.size
            scale = min_short_side / min(w, h)
            if scale < 1:
                img.draft("RGB", (int(w * scale + 0.5), int(h * scale + 0.5)))
        return np.asarray(img.convert("RGB"))


class LetsDanceBuilder(SourceBuilder):
    """Builds the ``letsdance`` config from the frames (folder or zip)."""

    source = "letsdance"
    config_name = "letsdance"
    layout = layout_from_doc(_MODULE_DOC)
    Options = LetsDanceOptions
    #: 720p frames are stored at 640x360 unless told otherwise.
    default_encode = EncodeOptions(max_short_side=360)

    def _frames(self) -> FrameSource:
        root = self.data_dir
        if not root.exists():
            raise self.layout_error(f"--data-dir {root} does not exist")
        if root.is_file() and not zipfile.is_zipfile(root):
            raise self.layout_error(f"--data-dir {root} is a file but not a zip archive")
        return FrameSource(root)

    def plan(self) -> Plan:
        """Group frames into clips, assign splits, exclude what cannot be built."""
        opts = self.options
        source = self._frames()
        clips: dict[str, dict[str, dict[int, str]]] = defaultdict(lambda: defaultdict(dict))
        unreadable = 0
        for cls, member in source.list_frames():
            parsed = parse_frame_name(member)
            if parsed is None:
                unreadable += 1
                continue
            yt, start, rel = parsed
            clips[f"{yt}_{start}"][cls][rel] = member
        if unreadable:
            logger.warning(
                "%s: %d image names not of the form <youtube_id>_<start>_<frame>.jpg ignored", source.path, unreadable
            )
        if not clips:
            raise self.layout_error(f"no <class>/<youtube_id>_<start>_<frame>.jpg frames in {source.path}")
        listed: dict[str, ListedClip] = {}
        straddling: dict[str, str] = {}
        if opts.splits:
            for lc in read_split_lists(Path(opts.splits).expanduser()):
                if lc.key in listed and listed[lc.key].split != lc.split:
                    logger.warning("letsdance: %s listed in %s and %s", lc.key, listed[lc.key].split, lc.split)
                listed.setdefault(lc.key, lc)
            video_splits: dict[str, set[str]] = defaultdict(set)
            for lc in listed.values():
                video_splits[lc.key.rsplit("_", 1)[0]].add(lc.split)
            straddling = {
                yt: next(s for s in _HELD_OUT_ORDER if s in ss) for yt, ss in video_splits.items() if len(ss) > 1
            }
            if straddling:
                logger.warning(
                    "letsdance: the split lists put %d videos in several splits; each moved whole to its most "
                    "held-out split (e.g. %s)",
                    len(straddling),
                    ", ".join(sorted(straddling)[:3]),
                )
        records: list[ClipRecord] = []
        exclusions: list[Exclusion] = []
        for key in sorted(set(clips) | set(listed)):
            yt, start = key.rsplit("_", 1)
            rid = f"letsdance/{key}"
            lc = listed.get(key)
            by_class = clips.get(key, {})
            cls = next(iter(by_class)) if len(by_class) == 1 else (lc.source_label if lc else None)
            if opts.splits:
                if lc is None:
                    exclusions.append(
                        Exclusion(rid, "not in split lists", f"{key} has frames but is in no split list", None, cls)
                    )
                    continue
                split = straddling.get(yt, lc.split)
            else:
                split = hash_split(yt, opts.train_percent, opts.validation_percent)
            if not by_class:
                exclusions.append(
                    Exclusion(rid, "missing frames", f"{key} is listed but has no frames in {source.path}", split, cls)
                )
                continue
            if len(by_class) > 1:
                exclusions.append(
                    Exclusion(rid, "clip in several classes", f"{key} has frames under {sorted(by_class)}", split, cls)
                )
                continue
            frames = by_class[cls]
            mapping = self.taxonomy.map("letsdance", cls)
            if mapping is None:
                exclusions.append(Exclusion(rid, "not a dance class", cls, split, cls))
                continue
            if not _YT_RE.match(yt):
                logger.warning("letsdance: %s: %r is not an 11-character YouTube id", key, yt, extra={"clip": key})
            # Frames are numbered from 1 in the release; a tree numbered from 0 is read as is.
            first = 0 if 0 in frames else 1
            last = max(max(frames), (lc.n_frames or 0) - 1 + first if lc else 0)
            expected = last - first + 1
            missing = [i for i in range(first, last + 1) if i not in frames]
            if len(missing) > opts.max_missing * expected:
                exclusions.append(
                    Exclusion(
                        rid,
                        "too many missing frames",
                        f"{len(missing)} of {expected} frames missing (first: {missing[:5]}); limit max_missing={opts.max_missing}",
                        split,
                        cls,
                    )
                )
                continue
            try:
                t0: float | None = start_seconds(start, opts.start_unit)
            except ValueError as exc:
                logger.warning(
                    "letsdance: %s: %s; start_time left empty (see option start_unit)", key, exc, extra={"clip": key}
                )
                t0 = None
            records.append(
                ClipRecord(
                    id=rid,
                    source="letsdance",
                    source_id=key,
                    split=split,
                    label=mapping.label,
                    source_label=cls,
                    family=mapping.family,
                    group=yt,
                    youtube_id=yt,
                    start_time=t0,
                    end_time=None if t0 is None else round(t0 + expected / FPS, 6),
                    media={
                        "frames": [[i, frames[i]] for i in sorted(frames)],
                        "expected": expected,
                        "first": first,
                        "missing": missing,
                    },
                )
            )
        gappy = [r for r in records if r.media["missing"]]
        if gappy:
            logger.info(
                "letsdance: %d clips have missing frames (%d frames in all), filled by holding the previous frame",
                len(gappy),
                sum(len(r.media["missing"]) for r in gappy),
            )
        return Plan(records=records, exclusions=exclusions)

    def materialize(self, record: ClipRecord) -> dict[str, Any]:
        """Decode the clip's frames (holding the previous frame over gaps) and encode them."""
        media = record.media
        if not hasattr(self, "_source") or self._source is None:
            self._source = self._frames()
        source = self._source
        by_index = {int(i): m for i, m in media["frames"]}
        if media.get("missing"):
            miss = media["missing"]
            logger.warning(
                "%s: %d of %d frames missing (%s%s); previous frame repeated",
                record.id,
                len(miss),
                media["expected"],
                ", ".join(map(str, miss[:8])),
                ", ..." if len(miss) > 8 else "",
                extra={"clip": record.id},
            )
        encode = self.encode
        if self.options.max_short_side is not None:
            encode = dataclasses.replace(encode, max_short_side=self.options.max_short_side or None)

        def frames() -> Iterator[np.ndarray]:
            last: np.ndarray | None = None
            lo = int(media.get("first", 1))
            first = min(by_index)
            for i in range(lo, lo + int(media["expected"])):
                member = by_index.get(i)
                if member is None:
                    if last is None:
                        member = by_index[first]  # leading gap: show the first frame
                    else:
                        yield last
                        continue
                try:
                    last = decode_jpeg(source.read(member), encode.max_short_side)
                except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
                    raise MediaError(
                        f"{record.id}: cannot read frame {member} ({exc})", reason="unreadable media"
                    ) from exc
                yield last

        clip = encode_frames(frames(), FPS, encode, name=record.id)
        return clip_row(record, clip)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_source"] = None
        return state
