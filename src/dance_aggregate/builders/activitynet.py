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
silently. Each labelled dance segment is clamped to the video and cut into consecutive
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
``scripts/activitynet_windows.py``); ``-o activitynet.max_windows_per_segment=0`` keeps all.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dance_aggregate.builders.base import SourceOptions, layout_from_doc
from dance_aggregate.builders.youtube import YouTubeSourceBuilder
from dance_aggregate.errors import AnnotationError
from dance_aggregate.records import ClipRecord, Exclusion, Plan
from dance_aggregate.taxonomy import normalize_label

_MODULE_DOC = __doc__
SPLIT_NAMES = {"training": "train", "validation": "validation", "testing": "test"}
OFFICIAL = "activity_net.v1-3.min.json"
BSN_ANNOTATIONS = "anet_anno_action.json"
BSN_INFO = "video_info_new.csv"
TAXONOMY_FILES = ("activity_net_taxonomy.json", "simple_activitynet_hierarchy.json")
#: Default of ``max_windows_per_segment`` (see the module docstring for why 3).
DEFAULT_MAX_WINDOWS_PER_SEGMENT = 3


@dataclass
class ActivityNetOptions(SourceOptions):
    """Options of the ``activitynet`` config.

    Attributes:
        max_window: Longest clip (s); longer segments are cut into equal consecutive windows.
        min_segment: Segments shorter than this (s) after clamping are excluded.
        max_windows_per_segment: Most windows of one segment that become rows, spread
            evenly over it; 0 keeps every window.
    """

    max_window: float = 10.0
    min_segment: float = 0.5
    max_windows_per_segment: int = DEFAULT_MAX_WINDOWS_PER_SEGMENT

    def __post_init__(self) -> None:
        if not self.max_window > 0:
            raise ValueError(f"max_window must be > 0 seconds, got {self.max_window!r}")
        if self.min_segment < 0:
            raise ValueError(f"min_segment must be >= 0 seconds, got {self.min_segment!r}")
        if self.max_windows_per_segment < 0:
            raise ValueError(
                f"max_windows_per_segment must be >= 0 (0 keeps every window), got {self.max_windows_per_segment!r}"
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
    youtube_id: str
    subset: str | None
    duration: float | None
    annotations: list[dict[str, Any]]


def taxonomy_leaves_under(nodes: list[dict[str, Any]], roots: tuple[str, ...]) -> set[str]:
    """Names of the leaves of an ActivityNet taxonomy under nodes named in ``roots``."""
    by_id = {n["nodeId"]: n for n in nodes}
    children: dict[Any, list[Any]] = {}
    for n in nodes:
        children.setdefault(n.get("parentId"), []).append(n["nodeId"])
    out: set[str] = set()
    stack = [n["nodeId"] for n in nodes if n.get("nodeName") in roots]
    while stack:
        nid = stack.pop()
        kids = children.get(nid, [])
        if not kids and by_id[nid].get("nodeName") not in roots:
            out.add(by_id[nid]["nodeName"])
        stack.extend(kids)
    return out


def _nodes(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, dict) and "taxonomy" in raw:
        raw = raw["taxonomy"]
    if isinstance(raw, dict):
        raw = list(raw.values())
    if not isinstance(raw, list) or not all(isinstance(n, dict) and "nodeId" in n and "nodeName" in n for n in raw):
        raise AnnotationError("taxonomy: expected a list (or id-keyed dict) of {nodeId, nodeName, parentId, parentName}")
    return raw


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
                tax_nodes = _nodes(_read_json(root / name))
                break
        if (root / OFFICIAL).is_file():
            data = _read_json(root / OFFICIAL)
            if not isinstance(data, dict) or "database" not in data:
                raise AnnotationError(f"{root / OFFICIAL}: no 'database'; expected the official ActivityNet 1.3 JSON")
            if data.get("taxonomy"):
                tax_nodes = _nodes(data["taxonomy"])
            videos = [
                _Video(vid, v.get("subset"), _float(v.get("duration")), v.get("annotations") or [])
                for vid, v in data["database"].items()
            ]
            return videos, tax_nodes
        if (root / BSN_ANNOTATIONS).is_file():
            data = _read_json(root / BSN_ANNOTATIONS)
            subsets: dict[str, str] = {}
            if (root / BSN_INFO).is_file():
                with (root / BSN_INFO).open(encoding="utf-8", newline="") as f:
                    subsets = {r["video"]: r["subset"] for r in csv.DictReader(f)}
            else:
                raise self.layout_error(f"{BSN_ANNOTATIONS} found but no {BSN_INFO} (it holds each video's subset)")
            videos = []
            for key, v in data.items():
                vid = key.removeprefix("v_")
                videos.append(_Video(vid, subsets.get(key), _float(v.get("duration_second")), v.get("annotations") or []))
            return videos, tax_nodes
        raise self.layout_error(f"neither {OFFICIAL} nor {BSN_ANNOTATIONS} in {root}")

    def dance_labels(self, tax_nodes: list[dict[str, Any]] | None) -> tuple[set[str], set[str]]:
        """``(mapped, unmapped)``: dance labels with a crosswalk entry, and leaves under a
        dance root of the taxonomy tree that lack one (both as :func:`normalize_label` keys)."""
        cw = self.taxonomy.crosswalk(self.source)
        mapped = {normalize_label(k) for k in cw.labels}
        under = taxonomy_leaves_under(tax_nodes, cw.taxonomy_roots) if tax_nodes else set()
        return mapped, {normalize_label(x) for x in under} - mapped

    def plan(self) -> Plan:
        """Windows of every dance segment of the training and validation videos."""
        videos, tax_nodes = self._load()
        mapped, unmapped = self.dance_labels(tax_nodes)
        mirror = self.index_mirror(self.video_dir)
        opts = self.options
        records: list[ClipRecord] = []
        exclusions: list[Exclusion] = []
        for v in sorted(videos, key=lambda v: v.youtube_id):
            split = SPLIT_NAMES.get(v.subset or "")
            if split is None or split == "test":
                reason = "testing subset has no labels" if v.subset == "testing" else "unknown subset"
                exclusions.append(Exclusion(f"{self.source}/{v.youtube_id}", reason, f"subset {v.subset!r}", None, None))
                continue
            if not v.annotations:
                exclusions.append(Exclusion(f"{self.source}/{v.youtube_id}", "no annotations", "", split, None))
                continue
            file = mirror.get(f"v_{v.youtube_id}") or mirror.get(v.youtube_id)
            for i, ann in enumerate(v.annotations):
                label = str(ann.get("label", ""))
                sid = f"{v.youtube_id}_s{i:02d}"
                if normalize_label(label) in unmapped:
                    exclusions.append(Exclusion(f"{self.source}/{sid}", "dance class missing from the crosswalk",
                                                f"{label!r} is under a dance node of the taxonomy", split, label))
                    continue
                mapping = self.taxonomy.map(self.source, label)
                if mapping is None:
                    exclusions.append(Exclusion(f"{self.source}/{sid}", "not a dance class", label, split, label))
                    continue
                seg = ann.get("segment") or []
                try:
                    start, end = float(seg[0]), float(seg[1])
                except (IndexError, TypeError, ValueError):
                    exclusions.append(Exclusion(f"{self.source}/{sid}", "degenerate segment", f"segment {seg!r}", split, label))
                    continue
                start = max(0.0, start)
                if v.duration:
                    end = min(end, v.duration)
                if v.duration and start >= v.duration:
                    exclusions.append(Exclusion(f"{self.source}/{sid}", "segment beyond the video",
                                                f"segment {seg!r}, duration {v.duration}", split, label))
                    continue
                if end - start < max(opts.min_segment, 1e-6):
                    exclusions.append(Exclusion(f"{self.source}/{sid}", "degenerate segment",
                                                f"segment {seg!r} -> [{start:.3f}, {end:.3f}] (min {opts.min_segment} s)", split, label))
                    continue
                n = max(1, math.ceil((end - start) / opts.max_window - 1e-9))
                step = (end - start) / n
                kept = spread_windows(n, opts.max_windows_per_segment)
                if len(kept) < n:
                    exclusions.append(Exclusion(f"{self.source}/{sid}", "window cap",
                                                f"{n - len(kept)} of {n} windows not kept (max_windows_per_segment="
                                                f"{opts.max_windows_per_segment}; 0 keeps all)", split, label,
                                                count=n - len(kept)))
                fetch_start, fetch_end = float(math.floor(start)), float(math.ceil(end))
                for j in kept:
                    ws, we = round(start + j * step, 6), round(start + (j + 1) * step, 6)
                    media = self.clip_media(v.youtube_id, ws, we, file, fetch_start=fetch_start, fetch_end=fetch_end)
                    records.append(
                        ClipRecord(
                            id=f"{self.source}/{sid}_w{j:02d}",
                            source=self.source,
                            source_id=f"{sid}_w{j:02d}",
                            split=split,
                            label=mapping.label,
                            source_label=label,
                            family=mapping.family,
                            group=v.youtube_id,
                            youtube_id=v.youtube_id,
                            start_time=ws,
                            end_time=we,
                            media=media,
                        )
                    )
        return Plan(records=records, exclusions=exclusions)


def _float(x: Any) -> float | None:
    try:
        return float(x) if x is not None else None
    except (TypeError, ValueError):
        return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise AnnotationError(f"{path}: not valid JSON ({exc})") from None
