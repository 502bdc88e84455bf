"""Torch-free decoding of the dataset's media with PyAV and soundfile.

Use these on ``decode=False`` columns (``{"bytes": ..., "path": ...}`` cells), on raw
bytes, or on a path::

    from datasets import Video, load_dataset
    from dance_aggregate.media.decode import sample_frames, read_audio

    ds = load_dataset("dance_aggregate", "ucf101", split="train")
    ds = ds.cast_column("video", Video(decode=False))
    frames = sample_frames(ds[0]["video"], num_frames=8, size=(112, 112))   # (8, 112, 112, 3) uint8
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import numpy as np
import soundfile as sf

from dance_aggregate.errors import MediaError

MediaLike = bytes | bytearray | memoryview | str | Path | dict[str, Any]


def _source(media: MediaLike) -> str | io.BytesIO:
    if isinstance(media, dict):
        if media.get("bytes") is not None:
            return io.BytesIO(media["bytes"])
        if media.get("path"):
            return str(media["path"])
        raise MediaError("media cell has neither bytes nor path (is the cell null?)", reason="empty cell")
    if isinstance(media, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(media))
    return str(media)


def frame_indices(num_available: int, num_frames: int, mode: str = "uniform", seed: int | None = None) -> np.ndarray:
    """Indices of ``num_frames`` frames among ``num_available``.

    ``uniform`` takes the centres of equal segments; ``random`` draws one frame per
    segment (the TSN sampling), reproducible with ``seed``.
    """
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


def sample_frames(
    video: MediaLike,
    num_frames: int = 8,
    *,
    mode: str = "uniform",
    size: tuple[int, int] | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """Sample ``num_frames`` RGB frames from a clip.

    Args:
        video: A ``decode=False`` cell, MP4 bytes, or a path.
        num_frames: How many frames.
        mode: ``uniform`` or ``random`` (one frame per equal segment).
        size: ``(height, width)`` to resize to, or ``None`` for the stored size.
        seed: Seed for ``random``.

    Returns:
        ``uint8`` array of shape ``(num_frames, H, W, 3)``. Clips shorter than
        ``num_frames`` repeat frames.
    """
    with av.open(_source(video)) as container:
        if not container.streams.video:
            raise MediaError("no video stream in the clip", reason="no video stream")
        stream = container.streams.video[0]
        frames = [f for f in container.decode(stream)]
    if not frames:
        raise MediaError("the clip has no frames", reason="empty segment")
    idx = frame_indices(len(frames), num_frames, mode, seed)
    out = []
    for i in idx:
        f = frames[i]
        if size is not None:
            f = f.reformat(width=size[1], height=size[0])
        out.append(f.to_ndarray(format="rgb24"))
    return np.stack(out)


def read_audio(audio: MediaLike, sample_rate: int | None = None, *, mono: bool = False) -> tuple[np.ndarray, int]:
    """Read an audio cell (FLAC) as float32.

    Args:
        audio: A ``decode=False`` audio cell, bytes, or a path.
        sample_rate: Resample to this rate (``None`` keeps the stored rate).
        mono: Average the channels.

    Returns:
        ``(samples, sample_rate)``; samples have shape ``(n,)`` when mono or single
        channel, else ``(n, channels)``.
    """
    data, sr = sf.read(_source(audio), dtype="float32", always_2d=True)
    if mono:
        data = data.mean(axis=1, keepdims=True)
    if sample_rate is not None and sample_rate != sr:
        n = int(round(len(data) * sample_rate / sr))
        t_old = np.arange(len(data)) / sr
        t_new = np.arange(n) / sample_rate
        data = np.stack([np.interp(t_new, t_old, data[:, c]) for c in range(data.shape[1])], axis=1).astype(np.float32)
        sr = sample_rate
    return (data[:, 0] if data.shape[1] == 1 else data), sr
