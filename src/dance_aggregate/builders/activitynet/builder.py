"""ActivityNet 1.3 (Caba Heilbron et al. 2015): dance segments of untrimmed YouTube videos.

Raw layout (``--data-dir activitynet=PATH``)::

    PATH/
    └── activity_net.v1-3.min.json    (official: version, taxonomy, database)
    or the widely shared derived copy (BSN):
    ├── anet_anno_action.json         ({"v_<id>": {duration_second, annotations: [{segment, label}]}})
    ├── video_info_new.csv            (video,numFrame,seconds,fps,rfps,subset,featureFrame)
    └── activity_net_taxonomy.json    (optional taxonomy tree; or simple_activitynet_hierarchy.json)

    Local mirror (``--video-dir activitynet=PATH``, optional):
    PATH/v_<youtube_id>.<ext>  or  PATH/<youtube_id>.<ext>   (mp4, mkv, webm...)

Dance classes are the leaves under the taxonomy nodes named in the crosswalk's
``taxonomy_roots`` ("Dancing") plus the other crosswalk labels (Ballet, Zumba). A leaf
under a dance root without a crosswalk entry is excluded with its own reason, never
silently. A label that is neither one of the 200 ActivityNet 1.3 classes (the crosswalk's
class list) nor a leaf of the taxonomy tree is excluded as ``unknown class``. Each labelled dance segment is clamped to the video and cut into consecutive
equal windows of at most ``max_window`` seconds; at most ``max_windows_per_segment`` of them,
spread evenly over the segment (:func:`spread_windows`), become records, and the others are
excluded as ``window cap`` (one report line per segment, with the count). A window keeps its
position in its id (``<youtube_id>_sNN_wJJ``) whatever the cap, so a window has the same id
in every build. All windows of a video share its ``group`` (the YouTube id). ``testing`` has
no labels: each of its videos is one excluded record.

Why a cap: on the real annotations a dance segment lasts about two minutes, so uncapped
windows make ActivityNet 71 % of the planned pixel rows from 470 videos (about 13 rows a
video; belly dance 1,114 rows from 110 videos against waltz 77 rows in all of Let's Dance).
Consecutive windows of one performance are near copies: they add rows, not variety. The
default, 3, keeps every segment and every video (figures in ``docs/balance.md``, made with
``scripts/activitynet_windows.py``); ``-o activitynet.max_windows_per_segment=0`` keeps all
(up to :data:`MAX_WINDOWS_PER_SEGMENT`, 1,000 a segment: a segment's windows are counted,
and only the kept ones are ever listed).

A record is one labelled segment (or one video, when the video cannot be used as a whole:
a ``testing`` or unknown subset, no annotations, an id that is not a YouTube id, an entry
of the wrong shape, a key given twice). Segments must be ``[start, end]`` pairs of finite,
non-negative numbers with ``start <= end``, at most 12 hours long once clamped to the video
(YouTube's upload limit); anything else is excluded with its reason and the rest of the
file is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from dance_aggregate.bounds import bounded
from dance_aggregate.builders.annotations import (
    DUPLICATE_KEY,
    MALFORMED_ENTRY,
    check_youtube_id,
    display_id,
    parse_range,
    parse_time,
    per_record,
    read_csv,
    read_json,
    shown,
)
from dance_aggregate.builders.base import SourceOptions, layout_from_doc
from dance_aggregate.builders.youtube import YouTubeSourceBuilder
from dance_aggregate.errors import AnnotationError, RecordError
from dance_aggregate.records import ClipRecord, Exclusion, Plan
from dance_aggregate.taxonomy import NOT_DANCE, UNKNOWN_CLASS, normalize_label

_MODULE_DOC = __doc__
SPLIT_NAMES = {"training": "train", "validation": "validation", "testing": "test"}
OFFICIAL = "activity_net.v1-3.min.json"
BSN_ANNOTATIONS = "anet_anno_action.json"
BSN_INFO = "video_info_new.csv"
TAXONOMY_FILES = ("activity_net_taxonomy.json", "simple_activitynet_hierarchy.json")
#: Default of ``max_windows_per_segment`` (see the module docstring for why 3).
DEFAULT_MAX_WINDOWS_PER_SEGMENT = 3
#: Reason of a segment that is not a ``[start, end]`` pair.
INVALID_SEGMENT = "invalid segment"
_OFFICIAL_FORMAT = 'the official ActivityNet 1.3 JSON: {"version", "taxonomy", "database": {"<youtube_id>": {...}}}'
_BSN_FORMAT = 'the BSN anet_anno_action.json: {"v_<youtube_id>": {"duration_second", "annotations": [...]}}'


#: Shortest ``max_window`` (s). The windows of a segment are equal and at most
#: ``max_window`` long, so at least half of it: 0.25 s, 6 frames at 24 fps and 2 at 8 fps,
#: about the least a cut re-encoded frame-exactly can hold and still be a clip. A smaller
#: window is a typo (``1e-9`` would plan billions of windows a segment).
MIN_MAX_WINDOW = 0.5
#: Most windows of one segment that become rows, whatever ``max_windows_per_segment`` says
#: (``0``, "every window", included): 1,000 windows is 2.8 h of one segment at the default
#: 10 s windows. The kept ones are spread over the segment and the rest counted as
#: ``window cap``, so the plan of one segment is bounded before any window is listed.
MAX_WINDOWS_PER_SEGMENT = 1000
#: Longest segment (s) planned: 12 hours, YouTube's upload limit; a longer one (a time
#: typed in milliseconds, a hostile file) is excluded as ``invalid segment``.
MAX_SEGMENT_SECONDS = 12 * 3600.0


@dataclass
class ActivityNetOptions(SourceOptions):
    """Options of the ``activitynet`` config.

    Attributes:
        max_window: Longest clip (s, 0.5 to 3600); longer segments are cut into equal
            consecutive windows.
        min_segment: Segments shorter than this (s, 0 to 3600) after clamping are excluded.
        max_windows_per_segment: Most windows of one segment that become rows, spread
            evenly over it (1 to 1000); 0 keeps every window, up to 1000 a segment.
    """

    max_window: float = bounded(10.0, min=MIN_MAX_WINDOW, max=3600.0, unit="seconds")
    min_segment: float = bounded(0.5, min=0.0, max=3600.0, unit="seconds")
    max_windows_per_segment: int = bounded(
        DEFAULT_MAX_WINDOWS_PER_SEGMENT, min=1, max=MAX_WINDOWS_PER_SEGMENT,
        special={0: f"every window, up to {MAX_WINDOWS_PER_SEGMENT} a segment"},
    )


def spread_windows(n: int, cap: int) -> list[int]:
    """Indices of the windows kept out of ``n`` consecutive ones, at most ``cap`` (0: all),
    spread evenly: the middle one for ``cap == 1``, else the first, the last and evenly
    spaced ones between (``spread_windows(13, 3) == [0, 6, 12]``)."""
    if cap <= 0 or n <= cap:
        return list(range(n))
    if cap == 1:
        return [(n - 1) // 2]
    return sorted({round(k * (n - 1) / (cap - 1)) for k in range(cap)})


@dataclass
class _Video:
    """One video entry as read, before its values are checked."""

    key: str
    youtube_id: str
    where: str
    subset: Any = None
    duration: Any = None
    annotations: Any = None
    error: str | None = None
    reason: str = MALFORMED_ENTRY

    @property
    def rid(self) -> str:
        return f"activitynet/{display_id(self.youtube_id)}"


def taxonomy_leaves_under(nodes: list[dict[str, Any]], roots: tuple[str, ...]) -> set[str]:
    """Names of the leaves of an ActivityNet taxonomy under nodes named in ``roots``
    (a tree with a cycle is walked once; no node is visited twice)."""
    by_id = {n["nodeId"]: n for n in nodes}
    children: dict[Any, list[Any]] = {}
    for n in nodes:
        children.setdefault(n.get("parentId"), []).append(n["nodeId"])
    out: set[str] = set()
    stack = [n["nodeId"] for n in nodes if n.get("nodeName") in roots]
    seen: set[Any] = set()
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen.add(nid)
        kids = children.get(nid, [])
        if not kids and by_id[nid].get("nodeName") not in roots:
            out.add(by_id[nid]["nodeName"])
        stack.extend(kids)
    return out


def taxonomy_leaves(nodes: list[dict[str, Any]]) -> set[str]:
    """Names of every leaf of an ActivityNet taxonomy tree (a node that is no node's parent):
    its classes."""
    parents = {n.get("parentId") for n in nodes}
    return {n["nodeName"] for n in nodes if n["nodeId"] not in parents}


def _nodes(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, dict) and "taxonomy" in raw:
        raw = raw["taxonomy"]
    if isinstance(raw, dict):
        raw = list(raw.values())
    if not isinstance(raw, list) or not all(_is_node(n) for n in raw):
        raise AnnotationError(
            "taxonomy: expected a list (or id-keyed dict) of {nodeId, nodeName, parentId, parentName} "
            "with text names and number or text ids"
        )
    return raw


def _is_node(n: Any) -> bool:
    return (
        isinstance(n, dict)
        and isinstance(n.get("nodeId"), (int, str))
        and isinstance(n.get("nodeName"), str)
        and isinstance(n.get("parentId"), (int, str, type(None)))
    )


class ActivityNetBuilder(YouTubeSourceBuilder):
    """Builds the ``activitynet`` config from ActivityNet 1.3 annotations."""

    source = "activitynet"
    config_name = "activitynet"
    layout = layout_from_doc(_MODULE_DOC)
    Options = ActivityNetOptions

    def _load(self) -> tuple[list[_Video], list[dict[str, Any]] | None]:
        root = self.data_dir
        if not root.is_dir():
            raise self.layout_error(f"--data-dir {root} does not exist or is not a folder")
        tax_nodes = None
        for name in TAXONOMY_FILES:
            if (root / name).is_file():
                tax_nodes = _nodes(read_json(root / name, "an ActivityNet taxonomy tree"))
                break
        if (root / OFFICIAL).is_file():
            return _read_official(root / OFFICIAL, tax_nodes)
        if (root / BSN_ANNOTATIONS).is_file():
            if not (root / BSN_INFO).is_file():
                raise self.layout_error(f"{BSN_ANNOTATIONS} found but no {BSN_INFO} (it holds each video's subset)")
            return _read_bsn(root / BSN_ANNOTATIONS, root / BSN_INFO), tax_nodes
        raise self.layout_error(f"neither {OFFICIAL} nor {BSN_ANNOTATIONS} in {root}")

    def dance_labels(self, tax_nodes: list[dict[str, Any]] | None) -> tuple[set[str], set[str]]:
        """``(mapped, unmapped)``: dance labels with a crosswalk entry, and leaves under a
        dance root of the taxonomy tree that lack one (both as :func:`normalize_label` keys)."""
        cw = self.taxonomy.crosswalk(self.source)
        mapped = {normalize_label(k) for k in cw.labels}
        under = taxonomy_leaves_under(tax_nodes, cw.taxonomy_roots) if tax_nodes else set()
        return mapped, {normalize_label(x) for x in under} - mapped

    def plan(self) -> Plan:
        """Windows of every dance segment of the training and validation videos; a bad video
        or segment is excluded with its reason and the others are still planned."""
        videos, tax_nodes = self._load()
        unmapped = self.dance_labels(tax_nodes)[1]
        # Classes: the 200 of the crosswalk's list, and the leaves of a tree given with the
        # annotations (a side tree may be another version's: the website's v1.0 tree names
        # other leaves, so it adds classes and never takes the 200 away).
        leaves = frozenset(normalize_label(x) for x in taxonomy_leaves(tax_nodes)) if tax_nodes else frozenset()
        mirror = self.index_mirror(self.video_dir)
        records: list[ClipRecord] = []
        exclusions: list[Exclusion] = []
        for v in sorted(videos, key=lambda v: (v.youtube_id, v.where)):
            out = per_record(partial(self._plan_video, v, unmapped, leaves, mirror), v.rid, v.where)
            for item in out if isinstance(out, list) else [out]:
                (records if isinstance(item, ClipRecord) else exclusions).append(item)
        return Plan(records=records, exclusions=exclusions)

    def _plan_video(
        self, v: _Video, unmapped: set[str], leaves: frozenset[str], mirror: dict[str, Path]
    ) -> list[ClipRecord | Exclusion]:
        """The records and exclusions of one video entry.

        Raises:
            RecordError: the video cannot be used at all (one excluded record).
        """
        if v.error:
            raise RecordError(f"{v.where}: {v.error}", v.reason)
        youtube_id = check_youtube_id(v.youtube_id, v.where)
        rid = f"{self.source}/{youtube_id}"
        split = SPLIT_NAMES.get(v.subset) if isinstance(v.subset, str) else None
        if split is None or split == "test":
            reason = "testing subset has no labels" if v.subset == "testing" else "unknown subset"
            return [Exclusion(rid, reason, f"{v.where}: subset {shown(v.subset)}", None, None)]
        duration = None if v.duration is None else parse_time(v.duration, "duration", v.where)
        if not v.annotations:
            return [Exclusion(rid, "no annotations", v.where, split, None)]
        if not isinstance(v.annotations, list):
            raise RecordError(f"{v.where}: annotations {shown(v.annotations)}; expected a list of {{segment, label}}",
                              MALFORMED_ENTRY)
        file = mirror.get(f"v_{youtube_id}") or mirror.get(youtube_id)
        out: list[ClipRecord | Exclusion] = []
        for i, ann in enumerate(v.annotations):
            sid = f"{youtube_id}_s{i:02d}"
            where = f"{v.where} annotation {i}"
            label = ann.get("label") if isinstance(ann, dict) and isinstance(ann.get("label"), str) else None
            seg = partial(self._plan_segment, ann, sid, where, split, duration, unmapped, leaves, file)
            got = per_record(seg, f"{self.source}/{sid}", where, split, label)
            out.extend(got if isinstance(got, list) else [got])
        return out

    def _plan_segment(
        self, ann: Any, sid: str, where: str, split: str, duration: float | None,
        unmapped: set[str], leaves: frozenset[str], file: Path | None,
    ) -> list[ClipRecord | Exclusion] | Exclusion:
        """The windows of one labelled segment (and the window cap's exclusion), or its exclusion.

        Raises:
            RecordError: the annotation is not ``{segment: [start, end], label}`` with valid times.
        """
        rid = f"{self.source}/{sid}"
        if not isinstance(ann, dict) or not isinstance(ann.get("label"), str):
            raise RecordError(f"{where}: {shown(ann)}; expected {{\"segment\": [start, end], \"label\": text}}",
                              MALFORMED_ENTRY)
        label = ann["label"]
        if normalize_label(label) in unmapped:
            return Exclusion(rid, "dance class missing from the crosswalk",
                             f"{label!r} is under a dance node of the taxonomy", split, label)
        mapping = self.taxonomy.map(self.source, label)
        if mapping is None:
            reason = NOT_DANCE if self.taxonomy.is_class(self.source, label, leaves) else UNKNOWN_CLASS
            return Exclusion(rid, reason, label, split, label)
        seg = ann.get("segment")
        if not isinstance(seg, list) or len(seg) != 2:
            raise RecordError(f"{where}: segment {shown(seg)}; expected [start, end] in seconds", INVALID_SEGMENT)
        start, end = parse_range(seg[0], seg[1], where, names=("segment start", "segment end"), allow_empty=True)
        if duration is not None and start >= duration:
            return Exclusion(rid, "segment beyond the video", f"{where}: segment {seg!r}, duration {duration}",
                             split, label)
        if duration is not None:
            end = min(end, duration)
        if end - start > MAX_SEGMENT_SECONDS:
            raise RecordError(f"{where}: segment {seg!r} lasts {end - start:g} s, longer than YouTube's upload limit "
                              f"({MAX_SEGMENT_SECONDS / 3600:g} h); expected [start, end] in seconds", INVALID_SEGMENT)
        if end - start < max(self.options.min_segment, 1e-6):
            return Exclusion(rid, "degenerate segment",
                             f"{where}: segment {seg!r} -> [{start:.3f}, {end:.3f}] (min {self.options.min_segment} s)",
                             split, label)
        return self._windows(sid, split, label, mapping, start, end, file)

    def _windows(
        self, sid: str, split: str, label: str, mapping: Any, start: float, end: float, file: Path | None
    ) -> list[ClipRecord | Exclusion]:
        """A segment cut into equal consecutive windows of at most ``max_window`` seconds, at
        most ``max_windows_per_segment`` of them kept (the others: one ``window cap`` line)."""
        opts = self.options
        youtube_id = sid.rsplit("_s", 1)[0]
        # n is counted, never listed: only the kept windows (at most MAX_WINDOWS_PER_SEGMENT) are.
        n = max(1, math.ceil((end - start) / opts.max_window - 1e-9))
        step = (end - start) / n
        cap = min(opts.max_windows_per_segment or MAX_WINDOWS_PER_SEGMENT, MAX_WINDOWS_PER_SEGMENT)
        kept = spread_windows(n, cap)
        out: list[ClipRecord | Exclusion] = []
        if len(kept) < n:
            out.append(Exclusion(f"{self.source}/{sid}", "window cap",
                                 f"{n - len(kept)} of {n} windows not kept (max_windows_per_segment="
                                 f"{opts.max_windows_per_segment}; 0 keeps all, up to {MAX_WINDOWS_PER_SEGMENT})",
                                 split, label, count=n - len(kept)))
        fetch_start, fetch_end = float(math.floor(start)), float(math.ceil(end))
        for j in kept:
            ws, we = round(start + j * step, 6), round(start + (j + 1) * step, 6)
            media = self.clip_media(youtube_id, ws, we, file, fetch_start=fetch_start, fetch_end=fetch_end)
            out.append(self.clip_record(f"{sid}_w{j:02d}", split, mapping, label, youtube_id, ws, we, media))
        return out


def _read_official(path: Path, tax_nodes: list[dict[str, Any]] | None) -> tuple[list[_Video], list[dict[str, Any]] | None]:
    """The videos (and taxonomy) of the official JSON.

    Raises:
        AnnotationError: not JSON, or no ``database`` object keyed by id.
    """
    data = read_json(path, _OFFICIAL_FORMAT)
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        got = type(data.get("database")).__name__ if isinstance(data, dict) and "database" in data else "no 'database'"
        raise AnnotationError(f"{path}: {got}; expected {_OFFICIAL_FORMAT}")
    if data.get("taxonomy"):
        tax_nodes = _nodes(data["taxonomy"])
    fields = {"subset": "subset", "duration": "duration"}
    return _videos(path, data["database"], fields, strip_prefix=False), tax_nodes


def _read_bsn(path: Path, info: Path) -> list[_Video]:
    """The videos of the BSN copy: annotations from its JSON, subsets from its CSV.

    Raises:
        AnnotationError: not JSON, not an object keyed by ``v_<id>``, or a CSV without
            ``video`` and ``subset`` columns.
    """
    data = read_json(path, _BSN_FORMAT)
    if not isinstance(data, dict):
        raise AnnotationError(f"{path}: the top level is a {type(data).__name__}; expected {_BSN_FORMAT}")
    _, rows = read_csv(info, ("video", "subset"), "video,numFrame,seconds,fps,rfps,subset,featureFrame (BSN)")
    subsets: dict[str, str] = {}
    for row in rows:
        if not row.error:
            subsets.setdefault(row.get("video"), row.get("subset"))
    videos = _videos(path, data, {"duration": "duration_second"}, strip_prefix=True)
    for v in videos:
        v.subset = subsets.get(v.key)
    return videos


def _videos(path: Path, database: dict[str, Any], fields: dict[str, str], *, strip_prefix: bool) -> list[_Video]:
    """One :class:`_Video` per key of ``database`` (and one per repeated key)."""
    out = []
    for key, entry in database.items():
        vid = key.removeprefix("v_") if strip_prefix else key
        where = f"{path.name}:{display_id(key)}"
        if not isinstance(entry, dict):
            out.append(_Video(key, vid, where, error=f"entry is a {type(entry).__name__}; expected an object"))
            continue
        dups = getattr(entry, "duplicates", [])
        if dups:
            out.append(_Video(key, vid, where, reason=DUPLICATE_KEY,
                              error=f"the entry gives {sorted({k for k, _ in dups})} more than once"))
            continue
        values = {name: entry.get(json_name) for name, json_name in fields.items()}
        out.append(_Video(key, vid, where, annotations=entry.get("annotations"), **values))
    for key, _ in getattr(database, "duplicates", []):
        vid = key.removeprefix("v_") if strip_prefix else key
        out.append(_Video(key, vid, f"{path.name}:{display_id(key)}", reason=DUPLICATE_KEY,
                          error=f"key {shown(key)} appears more than once; its first entry is used"))
    return out
