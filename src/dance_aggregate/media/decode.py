"""Torch-free decoding of the dataset's media with PyAV.

Use these on ``decode=False`` columns (``{"bytes": ..., "path": ...}`` cells), on whole
rows, on raw bytes, or on a path::

    from datasets import load_dataset
    from dance_aggregate.media.decode import sample_frames, read_audio

    ds = load_dataset("/path/to/dance_aggregate", "ucf101", split="train", streaming=True).decode(False)
    row = next(iter(ds))
    frames = sample_frames(row, num_frames=8, size=(112, 112))   # (8, 112, 112, 3) uint8
    samples, rate = read_audio(row, sample_rate=16_000, mono=True)  # (n,) float32

How frames are found. The clip is demuxed once (no decoding) to learn every frame's
timestamp and where the keyframes are. The wanted frames are then decoded in one pass
that stops after the last wanted frame, and that *jumps* to a later keyframe instead of
decoding its way there whenever the stretch it would skip is longer than
:data:`JUMP_COST_FRAMES` frames (a jump costs a decoder flush and an intra frame). That is
the automatic choice between seeking and decoding everything (``method="auto"``):

* few frames and several keyframes per clip (e.g. 8 frames from a 10 s clip with a
  keyframe every second): most of the clip is skipped, seeking wins;
* many frames (e.g. 32 from the same clip): every keyframe interval holds a wanted
  frame, nothing can be skipped and the pass is a plain sequential decode;
* one keyframe per clip (clips of 2 s or less as the build writes them, since it puts a
  keyframe at least every 2 s, ``EncodeOptions.keyframe_seconds``; or files encoded with
  x264's default ``keyint=250``): seeking cannot skip anything; the pass still stops at the
  last wanted frame.

``method="seek"`` jumps at every keyframe interval change and ``method="sequential"``
never jumps; both return exactly the same frames as a full decode (the tests check it).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from dance_aggregate.errors import MediaError

logger = logging.getLogger(__name__)

MediaLike = bytes | bytearray | memoryview | str | Path | Mapping[str, Any]

#: A jump to a later keyframe is taken when it skips more than this many frames (a jump
#: costs a decoder flush and an intra frame, dearer than an inter frame). With this value
#: ``auto`` matches the cheaper of ``seek`` and ``sequential`` on 320x240 and 640x360 H.264
#: for 4 to 64 frames (``python benchmarks/bench_read.py --seek``, table in docs/training.md).
JUMP_COST_FRAMES = 4

_METHODS = ("auto", "seek", "sequential")


def _source(media: MediaLike, column: str) -> str | io.BytesIO:
    """A file name or an in-memory file for PyAV, from any accepted input."""
    if media is None:
        raise MediaError(
            "the media cell is null: feature-only rows (YouTube-8M) have no video and clips "
            "without sound have no audio; filter them out first (dance_aggregate.training.has_video)",
            reason="empty cell",
        )
    if isinstance(media, Mapping):
        if column in media and not ("bytes" in media or "path" in media):
            # a whole row: take its media column
            return _source(_cell(media, column), column)
        if media.get("bytes") is not None:
            return io.BytesIO(media["bytes"])
        if media.get("path"):
            return str(media["path"])
        raise MediaError(
            f"media cell has neither bytes nor path (keys seen: {sorted(media)}); expected "
            "a decode=False cell {'bytes': ..., 'path': ...}, e.g. from ds.decode(False)",
            reason="empty cell",
        )
    if isinstance(media, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(media))
    if isinstance(media, (str, Path)):
        return str(media)
    raise MediaError(
        f"cannot read media from a {type(media).__name__}; expected a decode=False cell, a row, "
        "bytes or a path. A decoded column (torchcodec VideoDecoder / audio dict) comes from a "
        "dataset with decoding on: call ds.decode(False) or cast_column(col, Video(decode=False))",
        reason="unreadable media",
    )


def _cell(row: Mapping[str, Any], column: str) -> Any:
    cell = row[column]
    if cell is None:
        raise MediaError(
            f"the row's {column!r} column is null (id {row.get('id')!r}); feature-only rows "
            "(YouTube-8M) have no video and clips without sound have no audio",
            reason="empty cell",
        )
    return cell


def frame_indices(num_available: int, num_frames: int, mode: str = "uniform", seed: int | None = None) -> np.ndarray:
    """Indices of ``num_frames`` frames among ``num_available``.

    ``uniform`` takes the centres of equal segments; ``random`` draws one frame per
    segment (the TSN sampling), reproducible with ``seed``. Indices are sorted; clips
    shorter than ``num_frames`` repeat frames.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be at least 1, got {num_frames!r}")
    if num_available <= 0:
        return np.zeros(0, dtype=np.int64)
    edges = np.linspace(0, num_available, num_frames + 1)
    if mode == "uniform":
        idx = ((edges[:-1] + edges[1:]) / 2).astype(np.int64)
    elif mode == "random":
        rng = np.random.default_rng(seed)
        lo = np.floor(edges[:-1])
        hi = np.maximum(lo + 1, np.floor(edges[1:]))
        idx = rng.integers(lo, hi).astype(np.int64)
    else:
        raise ValueError(f"mode must be 'uniform' or 'random', got {mode!r}")
    return np.clip(idx, 0, num_available - 1)


@dataclass
class _Index:
    """What demuxing (no decoding) tells about a video stream."""

    packets: list[av.Packet]  # decode order, empty packets dropped
    frame_pts: np.ndarray  # presentation order: pts of frame i
    key_positions: np.ndarray  # decode-order positions of keyframe packets
    key_pts: np.ndarray  # pts of those keyframes


def _index(container: av.container.InputContainer, stream: Any) -> _Index | None:
    packets = [p for p in container.demux(stream) if p.size]
    if not packets or any(p.pts is None for p in packets):
        return None  # no timestamps to go by (some AVI/raw streams): decode in order
    key_positions = np.array([i for i, p in enumerate(packets) if p.is_keyframe], dtype=np.int64)
    if len(key_positions) == 0 or key_positions[0] != 0:
        return None
    pts = np.array([p.pts for p in packets], dtype=np.int64)
    return _Index(packets, np.sort(pts), key_positions, pts[key_positions])


def _plan(index: _Index, wanted_pts: np.ndarray, method: str) -> list[tuple[int, set[int]]]:
    """Decode runs ``(start packet, pts to collect)``: one run per jump.

    A run starts at a keyframe and decodes forward until it holds all its pts. Frames
    are assigned to the last keyframe whose pts is not after theirs (closed GOPs, which is
    what x264 writes; the decoder is checked against that at run time).
    """
    gop = np.searchsorted(index.key_pts, wanted_pts, side="right") - 1
    position = {p.pts: i for i, p in enumerate(index.packets)}
    runs: list[tuple[int, set[int]]] = []
    for g in sorted(set(gop.tolist())):
        start = int(index.key_positions[g])
        targets = {int(p) for p in wanted_pts[gop == g]}
        if runs:
            if method == "sequential":
                runs[-1][1].update(targets)
                continue
            # where the previous run stops decoding: its last target, in decode order
            prev_end = max(position[p] for p in runs[-1][1])
            if method == "auto" and start - prev_end <= JUMP_COST_FRAMES:
                runs[-1][1].update(targets)
                continue
        elif method == "sequential" or start <= JUMP_COST_FRAMES:
            start = 0
        runs.append((start, targets))
    return runs


def _decode_runs(stream: Any, index: _Index, runs: list[tuple[int, set[int]]]) -> Iterator[av.VideoFrame]:
    """Decode the runs; yields the frames whose pts are targets (each once, in order)."""
    cc = stream.codec_context
    for n, (start, targets) in enumerate(runs):
        if n:
            cc.flush_buffers()
        missing = set(targets)
        for packet in index.packets[start:]:
            for frame in cc.decode(packet):
                if frame.pts in missing:
                    missing.discard(frame.pts)
                    yield frame
            if not missing:
                break
        else:
            for frame in cc.decode(None):  # drain the decoder's delayed frames
                if frame.pts in missing:
                    missing.discard(frame.pts)
                    yield frame
        if missing:
            raise MediaError(
                f"decoding from the keyframe at packet {start} did not produce frames with pts "
                f"{sorted(missing)[:5]}; the stream does not look like closed GOPs. Use method='sequential'",
                reason="unreadable media",
            )


def sample_frames(
    video: MediaLike,
    num_frames: int = 8,
    *,
    mode: str = "uniform",
    size: tuple[int, int] | None = None,
    seed: int | None = None,
    indices: np.ndarray | list[int] | None = None,
    method: str = "auto",
    column: str = "video",
) -> np.ndarray:
    """Sample ``num_frames`` RGB frames from a clip.

    Args:
        video: A ``decode=False`` cell, a whole row (its ``column`` is used), MP4 bytes,
            or a path.
        num_frames: How many frames.
        mode: ``uniform`` (centres of equal segments) or ``random`` (one random frame
            per equal segment).
        size: ``(height, width)`` to resize to, or ``None`` for the stored size.
        seed: Seed for ``random`` (``None``: fresh randomness each call).
        indices: Exact frame indices (presentation order, 0-based) to return instead of
            sampling; out-of-range indices are clipped.
        method: ``auto`` (jump to keyframes when it pays, see the module doc), ``seek``
            (always jump) or ``sequential`` (never jump). All three give the same frames.
        column: Media column to use when ``video`` is a whole row.

    Returns:
        ``uint8`` array of shape ``(num_frames, H, W, 3)`` (``(len(indices), ...)`` when
        ``indices`` is given). Clips shorter than ``num_frames`` repeat frames.

    Raises:
        MediaError: The clip cannot be read or has no video frames.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    try:
        with av.open(_source(video, column)) as container:
            if not container.streams.video:
                raise MediaError("no video stream in the clip", reason="no video stream")
            stream = container.streams.video[0]
            index = _index(container, stream)
            if index is None:
                container.seek(0)
                return _sample_in_order(container, stream, num_frames, mode, size, seed, indices)
            idx = _choose(len(index.frame_pts), num_frames, mode, seed, indices)
            wanted = index.frame_pts[idx]
            got: dict[int, np.ndarray] = {}
            for frame in _decode_runs(stream, index, _plan(index, np.unique(wanted), method)):
                got[frame.pts] = _rgb(frame, size)
            return np.stack([got[int(p)] for p in wanted])
    except av.error.FFmpegError as e:
        raise MediaError(f"cannot decode the video: {e}", reason="unreadable media") from e


def _choose(available: int, num_frames: int, mode: str, seed: int | None, indices: Any) -> np.ndarray:
    if available == 0:
        raise MediaError("the clip has no frames", reason="empty segment")
    if indices is not None:
        return np.clip(np.asarray(indices, dtype=np.int64), 0, available - 1)
    return frame_indices(available, num_frames, mode, seed)


def _rgb(frame: av.VideoFrame, size: tuple[int, int] | None) -> np.ndarray:
    if size is None:
        return frame.to_ndarray(format="rgb24")
    return frame.to_ndarray(format="rgb24", width=size[1], height=size[0])


def _sample_in_order(
    container: av.container.InputContainer,
    stream: Any,
    num_frames: int,
    mode: str,
    size: tuple[int, int] | None,
    seed: int | None,
    indices: Any,
) -> np.ndarray:
    """Fallback for streams without usable timestamps: decode everything in order."""
    frames = list(container.decode(stream))
    idx = _choose(len(frames), num_frames, mode, seed, indices)
    return np.stack([_rgb(frames[i], size) for i in idx])


def read_audio(
    audio: MediaLike,
    sample_rate: int | None = None,
    *,
    mono: bool = False,
    column: str = "audio",
) -> tuple[np.ndarray, int]:
    """Read an audio cell (FLAC), or the audio track of a video, as float32.

    Resampling goes through FFmpeg's swresample (PyAV ``AudioResampler``), a proper
    band-limited resampler.

    Args:
        audio: A ``decode=False`` audio cell, a whole row (its ``column`` is used), bytes
            (FLAC, or MP4 with an audio track), or a path.
        sample_rate: Resample to this rate (``None`` keeps the stored rate).
        mono: Average the channels.
        column: Media column to use when ``audio`` is a whole row.

    Returns:
        ``(samples, sample_rate)``; samples have shape ``(n,)`` when mono or single
        channel, else ``(n, channels)``.

    Raises:
        MediaError: No audio stream, or it cannot be decoded.
    """
    if sample_rate is not None and sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate!r}")
    try:
        with av.open(_source(audio, column)) as container:
            if not container.streams.audio:
                raise MediaError("no audio stream in the clip", reason="no audio stream")
            stream = container.streams.audio[0]
            channels = stream.codec_context.channels or 1
            rate = sample_rate or stream.rate
            layout = "mono" if channels == 1 else "stereo" if channels == 2 else stream.layout.name
            # packed float at the target rate; the channel layout is kept (mono below)
            resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
            chunks = []
            for frame in container.decode(stream):
                frame.pts = None  # let swresample count samples itself
                chunks.extend(o.to_ndarray() for o in resampler.resample(frame))
            chunks.extend(o.to_ndarray() for o in resampler.resample(None))
    except av.error.FFmpegError as e:
        raise MediaError(f"cannot decode the audio: {e}", reason="unreadable media") from e
    data = np.concatenate(chunks, axis=1).reshape(-1, channels) if chunks else np.zeros((0, channels), np.float32)
    if mono and channels > 1:
        data = data.mean(axis=1, keepdims=True)
    data = np.ascontiguousarray(data, dtype=np.float32)
    return (data[:, 0] if data.shape[1] == 1 else data), rate
