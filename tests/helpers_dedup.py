"""A generated corpus with planted duplicates and hard negatives, for the dedup tests.

Every clip is cut out of a synthetic "source video" with the real encode path
(:func:`dance_aggregate.media.clip.cut_and_encode`), so its ``frame_hashes`` are the ones a
build would store. A source video shows a scene (a textured background with a slow camera
pan, set by ``scene``) and a dancer (a large block whose motion is set by ``action``).

Planted duplicates of an original clip: re-encodes at another bitrate, resizes, time
shifts of 1.3-3.1 s, 3-4 % crops, letterboxed and pillarboxed copies, exact copies under
other ids, and cross-source copies sharing the YouTube id with an overlapping range. Hard negatives: the same scene with a
different action, clips that share a black intro (and fade in), two segments of one video
that do not overlap, and unrelated clips.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dance_aggregate.dedup import KEY_COLUMNS, Analysis, split_rule_on_keys
from dance_aggregate.media.clip import EncodeOptions, cut_and_encode
from dance_aggregate.schema import SPLITS, encode_id_list

W, H, FPS, SECONDS = 160, 120, 12, 14.0
ENCODE = EncodeOptions(preset="ultrafast")


@functools.lru_cache(maxsize=64)
def _background(scene: int, w: int, h: int) -> np.ndarray:
    rng = np.random.default_rng(scene)
    base = rng.integers(50, 200, size=3).astype(np.float32)
    freq = rng.uniform(1.0, 4.0, size=4)
    big = w * 2
    y, x = np.mgrid[0:h, 0:big].astype(np.float32)
    wave = np.sin(x / w * freq[0] * 2 * np.pi) * np.cos(y / h * freq[1] * 2 * np.pi)
    wave2 = np.sin((x / w * freq[2] + y / h * freq[3]) * 2 * np.pi)
    img = base[None, None, :] + (55 * wave)[..., None] * np.array([1.0, -1.0, 0.5]) + (30 * wave2)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def scene_frame(scene: int, action: int, t: float, w: int = W, h: int = H) -> np.ndarray:
    """RGB frame at time ``t``: the scene's background (panning) and the action's dancer."""
    bg = _background(scene, w, h)
    pan = int(np.random.default_rng(scene).uniform(2.0, 5.0) * t) % w
    img = bg[:, pan : pan + w].copy()
    a = np.random.default_rng(10_000 + action)
    sp = a.uniform(0.5, 1.2, size=2)
    ph = a.uniform(0, 2 * np.pi, size=2)
    col = a.integers(0, 256, size=3).astype(np.uint8)
    bw, bh = w // 4, h // 2
    cx = int((w - bw) * (0.5 + 0.45 * np.sin(t * sp[0] + ph[0])))
    cy = int((h - bh) * (0.5 + 0.45 * np.cos(t * sp[1] + ph[1])))
    img[cy : cy + bh, cx : cx + bw] = col
    img[cy + bh // 4 : cy + bh // 2, cx + bw // 4 : cx + 3 * bw // 4] = 255 - col
    return img


def write_source(
    path: Path,
    scene: int,
    action: int,
    *,
    crf: int = 20,
    size: tuple[int, int] | None = None,
    crop: float = 0.0,
    black_intro: float = 0.0,
    fade: float = 0.0,
    seconds: float = SECONDS,
    bars: tuple[float, float] = (0.0, 0.0),
) -> Path:
    """Write a source video (H.264 MP4) of ``scene`` + ``action``.

    Args:
        crf: Quality (a high value is a low-bitrate re-encode).
        size: Output (width, height); the default is the native size.
        crop: Fraction cut off each side before scaling back to ``size``.
        black_intro: Seconds of black at the start.
        fade: Seconds of fade-in from black after the intro.
        bars: Black bars (fraction of the height top and bottom, of the width left and
            right): the picture is shrunk into the rest (letterbox, pillarbox).
    """
    out_w, out_h = size or (W, H)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = out_w, out_h, "yuv420p"
        v.options = {"preset": "ultrafast", "crf": str(crf)}
        for i in range(int(seconds * FPS)):
            t = i / FPS
            if t < black_intro:
                img = np.zeros((H, W, 3), np.uint8)
            else:
                img = scene_frame(scene, action, t)
                if fade and t < black_intro + fade:
                    img = (img.astype(np.float32) * ((t - black_intro) / fade)).astype(np.uint8)
            if crop:
                cy, cx = int(round(H * crop)), int(round(W * crop))
                img = img[cy : H - cy, cx : W - cx]
            if any(bars):
                by, bx = int(round(H * bars[0])), int(round(W * bars[1]))
                inner = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
                inner = inner.reformat(width=W - 2 * bx, height=H - 2 * by).to_ndarray()
                img = np.zeros((H, W, 3), np.uint8)
                img[by : H - by, bx : W - bx] = inner
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame = frame.reformat(width=out_w, height=out_h)
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    return path


@dataclass
class Clip:
    """One clip of the corpus and its ground truth.

    Attributes:
        id: Row id (``<source>/<source_id>``).
        source: Source name.
        youtube_id: YouTube id (``None`` for UCF101).
        start: Cut start in the source video.
        end: Cut end.
        split: Split it was given in its source config.
        group: Row group.
        truth: Ground-truth duplicate cluster (``None``: unique).
        kind: What the clip is (``original``, ``reencode``, ``negative-action`` ...).
        video: Source video file.
    """

    id: str
    source: str
    youtube_id: str | None
    start: float
    end: float
    split: str
    group: str
    truth: str | None
    kind: str
    video: Path
    row: dict[str, Any] = field(default_factory=dict)


def _yt(n: int) -> str:
    return f"yt{n:04d}-_abcd"[:11]


def plan_corpus(root: Path, seed: int = 0) -> list[Clip]:
    """Write the source videos and list the clips to cut (with their ground truth)."""
    rng = random.Random(seed)
    splits = ["train", "train", "validation", "test"]
    sources = ["kinetics600", "activitynet", "letsdance"]
    clips: list[Clip] = []
    yt = iter(range(1, 10_000))

    def add(
        source: str,
        video: Path,
        start: float,
        end: float,
        truth: str | None,
        kind: str,
        youtube_id: str | None = None,
        group: str | None = None,
    ) -> None:
        y = youtube_id if youtube_id is not None else (None if source == "ucf101" else _yt(next(yt)))
        n = len(clips)
        sid = f"clip{n:03d}"
        clips.append(
            Clip(f"{source}/{sid}", source, y, start, end, rng.choice(splits), group or y or f"G{n}", truth, kind, video)
        )

    variants = {
        1: ["reencode", "resize", "shift1.3"],
        2: ["crop0.04", "exact", "shift2.2"],
        3: ["cross_source", "reencode"],
        4: ["shift3.1", "resize"],
        5: ["crop0.03", "reencode"],
        6: ["exact", "cross_source"],
        7: ["resize", "letterbox"],
        8: ["shift2.2", "pillarbox"],
        9: ["crop0.03"],
        10: ["reencode", "exact"],
    }
    for k, kinds in variants.items():
        src = sources[k % 3]
        orig = write_source(root / f"v{k}.mp4", k, k)
        truth = f"T{k}"
        add(src, orig, 2.0, 10.0, truth, "original")
        orig_yt = clips[-1].youtube_id
        for kind in kinds:
            other = sources[(k + 1) % 3]
            if kind == "reencode":
                add(other, write_source(root / f"v{k}_re.mp4", k, k, crf=40), 2.0, 10.0, truth, kind)
            elif kind == "resize":
                add(other, write_source(root / f"v{k}_rs.mp4", k, k, size=(96, 72)), 2.0, 10.0, truth, kind)
            elif kind.startswith("crop"):
                c = float(kind[4:])
                add(other, write_source(root / f"v{k}_cr.mp4", k, k, crop=c, size=(W, H)), 2.0, 10.0, truth, kind)
            elif kind.startswith("shift"):
                s = float(kind[5:])
                add(other, orig, 2.0 + s, 10.0 + s, truth, kind)
            elif kind in ("letterbox", "pillarbox"):
                bars = (0.125, 0.0) if kind == "letterbox" else (0.0, 0.125)
                add(other, write_source(root / f"v{k}_{kind}.mp4", k, k, bars=bars), 2.0, 10.0, truth, kind)
            elif kind == "exact":
                add(other, orig, 2.0, 10.0, truth, kind)
            elif kind == "cross_source":
                add(other, orig, 3.0, 11.0, truth, kind, youtube_id=orig_yt)
    # Hard negatives: the same scene with another dancer's motion.
    for k in range(1, 7):
        add(sources[k % 3], write_source(root / f"n{k}_act.mp4", k, 500 + k), 2.0, 10.0, None, "negative-action")
    # Hard negatives: different clips sharing a black intro and a fade-in.
    for k in range(20, 26):
        video = write_source(root / f"n{k}_black.mp4", k, k, black_intro=3.0, fade=1.0, seconds=9.0)
        add(sources[k % 3], video, 0.0, 8.0, None, "negative-black-intro")
    # Hard negative for tier 1: two segments of one video that do not overlap.
    video = write_source(root / "n40_segments.mp4", 40, 40)
    add("activitynet", video, 0.0, 5.0, None, "negative-segment", youtube_id="ytsegments1")
    add("activitynet", video, 8.0, 13.0, None, "negative-segment", youtube_id="ytsegments1")
    # UCF101 clips: one group split across train and test in the source config would leak.
    for k in (50, 51):
        video = write_source(root / f"u{k}.mp4", k, k)
        add("ucf101", video, 1.0, 7.0, None, "ucf-group", group="SalsaSpin_g03")
    clips[-2].split, clips[-1].split = "train", "test"
    # Unrelated clips.
    for k in range(60, 66):
        add(sources[k % 3], write_source(root / f"u{k}.mp4", k, k), 1.0, 9.0, None, "unrelated")
    return clips


def encode_corpus(clips: list[Clip]) -> None:
    """Cut and encode every clip (the real encode path), filling ``clip.row``."""
    for c in clips:
        enc = cut_and_encode(c.video, c.start, c.end, ENCODE, name=c.id)
        stem = c.id.replace("/", "-")
        c.row = {
            "id": c.id,
            "source": c.source,
            "source_id": c.id.split("/", 1)[1],
            "youtube_id": c.youtube_id,
            "start_time": c.start,
            "end_time": c.end,
            "label": "salsa",
            "labels": ["salsa"],
            "source_label": "Salsa",
            "family": "latin",
            "group": c.group,
            "video": {"bytes": enc.video, "path": f"{stem}.mp4"},
            "audio": None,
            "has_audio": False,
            "duration": enc.duration,
            "fps": enc.fps,
            "width": enc.width,
            "height": enc.height,
            "num_frames": enc.num_frames,
            "frame_hashes": enc.frame_hashes,
        }


def true_pairs(clips: list[Clip]) -> set[tuple[str, str]]:
    """Every pair of clips of one ground-truth cluster (ids sorted)."""
    by: dict[str, list[str]] = {}
    for c in clips:
        if c.truth:
            by.setdefault(c.truth, []).append(c.id)
    return {(a, b) for ids in by.values() for a in ids for b in ids if a < b}


# -- the split rule on in-memory tables (the build runs it on key columns only) -----------
def replace_column(table: pa.Table, name: str, values: list[Any]) -> pa.Table:
    """``table`` with column ``name`` replaced by ``values`` (same Arrow type)."""
    idx = table.schema.get_field_index(name)
    f = table.schema.field(idx)
    return table.set_column(idx, f, pa.array(values, type=f.type))



def apply_split_rule(splits: dict[str, pa.Table]) -> tuple[dict[str, pa.Table], Analysis]:
    """The split rule within one per-source config, for its own duplicates.

    Rows are kept (a per-source config keeps every clip of its source); copies get each
    other's ids in ``duplicate_ids`` and every cluster and group ends in one split.

    Args:
        splits: Split -> table of the config (shared schema).

    Returns:
        The tables per split after the rule (sorted by id), and the analysis.
    """
    names = [s for s in SPLITS if s in splits and splits[s].num_rows]
    if not names:
        return splits, Analysis([], [], [], [], [])
    table = pa.concat_tables([splits[s] for s in names])
    current = [s for s in names for _ in range(splits[s].num_rows)]
    result, dup = split_rule_on_keys(table.select([*KEY_COLUMNS, "duplicate_ids"]), current)
    if not result.pairs and not result.moves:
        return splits, result
    table = replace_column(table, "duplicate_ids", [encode_id_list(d) for d in dup])
    split_col = pa.array(result.new_splits)
    out: dict[str, pa.Table] = {}
    for s in SPLITS:
        part = table.filter(pc.equal(split_col, s))
        if part.num_rows:
            out[s] = part.sort_by("id")
    return out, result
