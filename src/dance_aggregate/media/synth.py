"""Synthetic media with identifiable content, for the embedded sample and the tests.

Frames show a moving pattern whose colours and motion depend on a seed, so two clips with
different seeds never look alike and a clip can be recognised after re-encoding. Audio is
a tone whose pitch depends on the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def pattern_frame(seed: int, index: int, width: int, height: int) -> np.ndarray:
    """One RGB frame (uint8, HxWx3) of the seed's pattern at frame ``index``."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 215, size=3)
    freq = rng.uniform(1.5, 5.0, size=2)
    speed = rng.uniform(0.5, 3.0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = index * speed * 0.08
    wave = np.sin(x / width * freq[0] * 2 * np.pi + phase) * np.cos(y / height * freq[1] * 2 * np.pi - phase)
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        img[..., c] = base[c] + 70 * wave * (1 if c != seed % 3 else -1)
    # a moving square: content that changes over time
    s = max(8, min(width, height) // 5)
    cx = int((width - s) * (0.5 + 0.45 * np.sin(index * 0.07 * speed + seed)))
    cy = int((height - s) * (0.5 + 0.45 * np.cos(index * 0.05 * speed + seed)))
    img[cy : cy + s, cx : cx + s] = 255 - base
    return np.clip(img, 0, 255).astype(np.uint8)


def tone(seed: int, seconds: float, sample_rate: int, channels: int) -> np.ndarray:
    """A seed-dependent tone, float32 of shape (channels, n)."""
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    f = 220.0 + (seed % 17) * 40.0
    mono = 0.3 * np.sin(2 * np.pi * f * t) + 0.1 * np.sin(2 * np.pi * 3.1 * f * t)
    return np.stack([mono] * channels).astype(np.float32)


def write_video(
    path: str | Path,
    seed: int,
    *,
    seconds: float = 2.0,
    fps: int = 25,
    width: int = 320,
    height: int = 240,
    video_codec: str | None = "libx264",
    audio_codec: str | None = "aac",
    sample_rate: int = 44100,
    channels: int = 2,
    container_format: str | None = None,
    codec_tag: str | None = None,
    black_intro: float = 0.0,
    keyint: int | None = None,
    pix_fmt: str = "yuv420p",
    frame_times: Sequence[float] | None = None,
    start: float = 0.0,
    silent_until: float = 0.0,
    faststart: bool = False,
    audio_samples: np.ndarray | None = None,
) -> Path:
    """Write a synthetic clip with the given codecs (e.g. ``mpeg4``/``XVID`` + ``libmp3lame``
    in AVI for UCF101, ``libx264`` + ``aac`` in MP4, ``libvpx-vp9`` + ``libopus`` in WebM).

    Args:
        video_codec: ``None`` writes audio only.
        black_intro: Seconds of black frames at the start (hard negatives for dedup).
        keyint: libx264 only: exactly this many frames between keyframes (no scene-cut
            keyframes), e.g. to test seeking with keyframes far apart.
        pix_fmt: The stored pixel format (``yuv444p`` allows odd sizes with libx264).
        frame_times: The time (s) of each frame, for a variable-rate file (holes, jitter);
            stamped in milliseconds. Default: one frame every ``1 / fps`` for ``seconds``.
        start: Where the file's timestamps begin (s), in every stream: a file cut out of a
            longer one keeps its timestamps.
        silent_until: The tone begins here (s); silence before.
        faststart: MP4 with its index first (a truncated copy stays readable up to the cut).
        audio_samples: The audio track's samples, float32 ``(channels, n)`` at
            ``sample_rate``, instead of the seed's tone (silence, a quiet tone, noise).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    times = list(frame_times) if frame_times is not None else [i / fps for i in range(int(round(seconds * fps)))]
    tb = Fraction(1, 1000) if frame_times is not None else Fraction(1, fps)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", format=container_format, options=options) as out:
        v = a = None  # every stream is added before the first packet is written
        if video_codec:
            v = out.add_stream(video_codec, rate=fps)
            v.width, v.height, v.pix_fmt = width, height, pix_fmt
            if frame_times is not None:
                v.codec_context.time_base = tb  # the encoder keeps the millisecond stamps
            if codec_tag:
                v.codec_tag = codec_tag
            if video_codec == "libx264":
                v.options = {"preset": "ultrafast"}
                if keyint:
                    v.options = {**v.options, "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0"}
        if audio_codec:
            a = out.add_stream(audio_codec, rate=sample_rate)
            a.layout = "stereo" if channels == 2 else "mono"
        if v is not None:
            for i, t in enumerate(times):
                if t < black_intro:
                    img = np.zeros((height, width, 3), np.uint8)
                else:
                    img = pattern_frame(seed, i, width, height)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = int(round((start + t) / tb))
                frame.time_base = tb
                for p in v.encode(frame):
                    out.mux(p)
            for p in v.encode(None):
                out.mux(p)
        if a is not None:
            samples = tone(seed, seconds, sample_rate, channels) if audio_samples is None else np.array(audio_samples, np.float32)
            samples[:, : int(round(silent_until * sample_rate))] = 0.0
            fmt = "fltp"
            step = 1152 if audio_codec == "libmp3lame" else 1024
            first = int(round(start * sample_rate))
            for i in range(0, samples.shape[1], step):
                fr = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, i : i + step]), format=fmt, layout=a.layout.name
                )
                fr.sample_rate = sample_rate
                fr.pts = first + i
                fr.time_base = Fraction(1, sample_rate)
                for p in a.encode(fr):
                    out.mux(p)
            for p in a.encode(None):
                out.mux(p)
    return path


def write_ucf_avi(path: str | Path, seed: int, *, seconds: float = 2.0, audio: bool = True) -> Path:
    """A UCF101-style AVI: Xvid (MPEG-4 Part 2) 320x240 25 fps + MP3 44.1 kHz stereo."""
    return write_video(
        path,
        seed,
        seconds=seconds,
        fps=25,
        width=320,
        height=240,
        video_codec="mpeg4",
        codec_tag="XVID",
        audio_codec="libmp3lame" if audio else None,
        sample_rate=44100,
        channels=2,
        container_format="avi",
    )
