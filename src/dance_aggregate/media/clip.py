"""Cut and re-encode clips in-process with PyAV.

Every pixel clip of the dataset goes through :class:`ClipWriter`: H.264 (yuv420p) + AAC
in an MP4 with ``+faststart``, so it plays in browsers and in the Hub viewer. The audio is
also returned as FLAC bytes (soundfile) for the ``audio`` column, and one small grey
thumbnail per frame is pooled into the perceptual fingerprints used by dedup, so no clip is
ever decoded twice.

Cuts are frame-exact: frames are decoded from the keyframe before the start and kept when
their timestamp falls in ``[start, end)``; audio samples are trimmed to the same range.
"""

from __future__ import annotations

import io
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av
import numpy as np
import soundfile as sf
from av.video.reformatter import VideoReformatter

from dance_aggregate.errors import MediaError
from dance_aggregate.media.fingerprint import FrameHasher

logger = logging.getLogger(__name__)

av.logging.set_level(av.logging.ERROR)

#: Audio sample rates AAC and FLAC both take; anything else is resampled to 48 kHz.
_AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


@dataclass(frozen=True)
class EncodeOptions:
    """How clips are encoded. Defaults live here and nowhere else.

    Attributes:
        max_short_side: Downscale so the shorter side is at most this many pixels
            (``None`` keeps the source size). Never upscales.
        crf: libx264 constant rate factor (lower is better quality, larger files).
        preset: libx264 preset.
        audio_bitrate: AAC bitrate in bits per second.
        threads: Threads per clip (decoder, scaler, encoder); 1 keeps output deterministic
            and lets the build parallelise across clips instead (one worker per core).
        max_fps: Drop frames above this rate (``None`` keeps the source rate).
        keyframe_seconds: Largest keyframe interval. x264's default (250 frames) leaves a
            10 s clip with one keyframe, so a reader sampling 8 frames cannot seek; 2 s
            makes seeking pay (see docs/training.md) for slightly larger files.
    """

    max_short_side: int | None = None
    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: int = 128_000
    threads: int = 1
    max_fps: float | None = None
    keyframe_seconds: float = 2.0


@dataclass
class EncodedClip:
    """The result of encoding one clip."""

    video: bytes
    audio_flac: bytes | None
    has_audio: bool
    duration: float
    fps: float
    width: int
    height: int
    num_frames: int
    frame_hashes: list[int] = field(default_factory=list)
    sample_rate: int | None = None


def _even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def _target_size(width: int, height: int, max_short_side: int | None) -> tuple[int, int]:
    if max_short_side and min(width, height) > max_short_side:
        scale = max_short_side / min(width, height)
        return _even(width * scale), _even(height * scale)
    return _even(width) if width % 2 else width, _even(height) if height % 2 else height


class ClipWriter:
    """Writes one MP4 (H.264 + optional AAC) from decoded frames and audio samples.

    Args:
        fps: Output frame rate.
        width: Output width (even).
        height: Output height (even).
        sample_rate: Audio sample rate, or ``None`` for a silent clip.
        channels: Audio channels (1 or 2).
        options: Encoder options.
    """

    def __init__(
        self,
        fps: Fraction,
        width: int,
        height: int,
        sample_rate: int | None,
        channels: int,
        options: EncodeOptions,
    ) -> None:
        self.fps = fps
        self.width = width
        self.height = height
        self.sample_rate = sample_rate
        self.channels = channels
        self.options = options
        fd, self._path = tempfile.mkstemp(suffix=".mp4", prefix="dance_aggregate-")
        os.close(fd)
        self._out = av.open(self._path, mode="w", options={"movflags": "+faststart"})
        self._v = self._out.add_stream("libx264", rate=fps)
        self._v.width = width
        self._v.height = height
        self._v.pix_fmt = "yuv420p"
        self._v.codec_context.thread_count = options.threads
        # Same frames -> same bytes (zip and folder builds compare equal, reruns are stable):
        # thread_count alone leaves libx264 on automatic threads, so "threads" pins it, and
        # even one thread varied between runs until cpu-independent=1 (measured: no slower).
        self._v.options = {
            "crf": str(options.crf),
            "preset": options.preset,
            "threads": str(options.threads),
            "x264-params": f"cpu-independent=1:keyint={max(1, round(float(fps) * options.keyframe_seconds))}",
        }
        self._a = None
        if sample_rate:
            self._a = self._out.add_stream("aac", rate=sample_rate)
            self._a.layout = "stereo" if channels == 2 else "mono"
            self._a.bit_rate = options.audio_bitrate
        self.num_frames = 0
        self._hasher = FrameHasher()
        # One scaler for the whole clip, with ``threads`` threads: a frame's own reformat()
        # makes a new scaler per frame with one thread per core of the machine, which on 16
        # cores cost more CPU than the scaling itself (docs/scaling.md).
        self._scaler = VideoReformatter()

    def add_frame(self, frame: av.VideoFrame | np.ndarray) -> None:
        """Append one video frame (a PyAV frame, or an RGB ``uint8`` array HxWx3)."""
        if isinstance(frame, np.ndarray):
            frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        self._hasher.add(frame, self.num_frames / float(self.fps))
        out = self._scaler.reformat(frame, self.width, self.height, "yuv420p", threads=self.options.threads)
        out.pts = self.num_frames
        out.time_base = Fraction(1) / self.fps
        for packet in self._v.encode(out):
            self._out.mux(packet)
        self.num_frames += 1

    def add_audio(self, samples: np.ndarray) -> None:
        """Append all audio at once: float32 array of shape (channels, n)."""
        if self._a is None or samples.shape[1] == 0:
            return
        chunk = 1024
        layout = "stereo" if self.channels == 2 else "mono"
        for i in range(0, samples.shape[1], chunk):
            part = np.ascontiguousarray(samples[:, i : i + chunk], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(part, format="fltp", layout=layout)
            frame.sample_rate = self.sample_rate
            frame.pts = i
            frame.time_base = Fraction(1, self.sample_rate)
            for packet in self._a.encode(frame):
                self._out.mux(packet)

    def close(self) -> tuple[bytes, list[int]]:
        """Flush encoders and return the MP4 bytes and the frame hashes
        (:data:`~dance_aggregate.fingerprint.HASHES_PER_SECOND` per second)."""
        try:
            for packet in self._v.encode(None):
                self._out.mux(packet)
            if self._a is not None:
                for packet in self._a.encode(None):
                    self._out.mux(packet)
            self._out.close()
            data = Path(self._path).read_bytes()
        finally:
            self.abort()
        return data, self._hasher.hashes()

    def abort(self) -> None:
        """Drop the temporary file (safe to call twice)."""
        try:
            self._out.close()
        except Exception:  # noqa: BLE001 - already closed or broken; we only clean up
            pass
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            pass


def flac_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """Encode float samples of shape (channels, n) as FLAC (16-bit)."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(samples.T, -1.0, 1.0), sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def _open(source: str | Path | BinaryIO, what: str) -> av.container.InputContainer:
    try:
        return av.open(source if not isinstance(source, Path) else str(source), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"{what}: cannot open as a media file ({exc})", reason="unreadable media") from exc


class _AudioCollector:
    """Collects decoded audio as float32 (channels, n), trimmed later to [start, end)."""

    def __init__(self, stream: Any) -> None:
        rate = stream.codec_context.sample_rate or stream.rate
        self.rate = rate if rate in _AAC_RATES else 48000
        self.channels = 1 if (stream.codec_context.channels or 1) == 1 else 2
        self._resampler = av.AudioResampler(
            format="fltp", layout="stereo" if self.channels == 2 else "mono", rate=self.rate
        )
        self._chunks: list[np.ndarray] = []
        self.first_t: float | None = None

    def add(self, frame: av.AudioFrame | None) -> None:
        for rf in self._resampler.resample(frame):
            if self.first_t is None:
                self.first_t = float(rf.pts * rf.time_base) if rf.pts is not None else 0.0
            self._chunks.append(rf.to_ndarray())

    def samples(self, start: float, end: float | None) -> np.ndarray | None:
        self.add(None)
        if not self._chunks or self.first_t is None:
            return None
        data = np.concatenate(self._chunks, axis=1).astype(np.float32)
        offset = int(round((start - self.first_t) * self.rate))
        if offset < 0:
            # Audio starts after the clip start: pad the gap with silence to stay in sync.
            data = np.concatenate([np.zeros((data.shape[0], -offset), np.float32), data], axis=1)
            offset = 0
        length = None if end is None else max(0, int(round((end - start) * self.rate)))
        return data[:, offset:] if length is None else data[:, offset : offset + length]


def _demux(
    container: av.container.InputContainer, start: float, end: float | None, audio: _AudioCollector | None
) -> Iterator[av.VideoFrame]:
    """One pass over the file: yield video frames in [start, end), feed audio to ``audio``."""
    vstream = container.streams.video[0]
    astream = container.streams.audio[0] if audio is not None else None
    if start > 0:
        # Seek a little early: audio packets may be interleaved before the video keyframe.
        container.seek(max(0, int(max(0.0, start - 1.0) / vstream.time_base)), stream=vstream, backward=True)
    streams = [vstream] + ([astream] if astream is not None else [])
    video_done = False
    audio_done = astream is None
    for packet in container.demux(*streams):
        if packet.stream is vstream:
            if video_done:
                continue
            for frame in packet.decode():
                t = frame.time
                if t is None or t < start - 1e-6:
                    continue
                if end is not None and t >= end - 1e-6:
                    video_done = True
                    break
                yield frame
        elif astream is not None and packet.stream is astream and not audio_done:
            try:
                for frame in packet.decode():
                    if frame.pts is not None and end is not None and float(frame.pts * astream.time_base) >= end:
                        audio_done = True
                        break
                    audio.add(frame)
            except av.FFmpegError as exc:
                logger.debug("audio packet undecodable (%s); skipped", exc)
        if video_done and audio_done:
            return


def _rate(stream: Any) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or float(rate) <= 0 or not math.isfinite(float(rate)):
        return Fraction(25)
    return Fraction(rate).limit_denominator(1001)


def cut_and_encode(
    source: str | Path | BinaryIO,
    start: float | None = None,
    end: float | None = None,
    options: EncodeOptions | None = None,
    *,
    name: str | None = None,
) -> EncodedClip:
    """Cut ``[start, end)`` out of a media file and re-encode it.

    Args:
        source: A path or a binary file object of any container FFmpeg reads.
        start: Start time in seconds (``None``: from the beginning).
        end: End time in seconds (``None``: to the end).
        options: Encoder options.
        name: How to call the file in error messages (defaults to the path).

    Returns:
        The encoded clip with its metadata and fingerprints.

    Raises:
        MediaError: when the file cannot be read, has no video stream, or the range holds
            no frames. The message names the file and the reason.
    """
    options = options or EncodeOptions()
    what = name or str(source)
    start = float(start or 0.0)
    container = _open(source, what)
    try:
        if not container.streams.video:
            raise MediaError(f"{what}: no video stream", reason="no video stream")
        vstream = container.streams.video[0]
        vstream.thread_count = options.threads  # PyAV's default is one thread per core
        rate = _rate(vstream)
        if options.max_fps and float(rate) > options.max_fps:
            rate = Fraction(options.max_fps).limit_denominator(1001)
        collector = None
        if container.streams.audio:
            astream = container.streams.audio[0]
            if astream.codec_context.sample_rate or astream.rate:
                collector = _AudioCollector(astream)
        writer: ClipWriter | None = None
        try:
            src_step = 1.0 / float(rate)
            next_t = start
            for frame in _demux(container, start, end, collector):
                if options.max_fps and frame.time + 1e-6 < next_t:
                    continue
                next_t += src_step
                if writer is None:
                    w, h = _target_size(frame.width, frame.height, options.max_short_side)
                    writer = ClipWriter(
                        rate,
                        w,
                        h,
                        collector.rate if collector else None,
                        collector.channels if collector else 1,
                        options,
                    )
                writer.add_frame(frame)
        except av.FFmpegError as exc:
            if writer is not None:
                writer.abort()
            raise MediaError(f"{what}: video decode failed ({exc})", reason="unreadable media") from exc
        if writer is None:
            rng = f"[{start:.3f}, {end if end is None else f'{end:.3f}'})"
            raise MediaError(f"{what}: no video frames in {rng}", reason="empty segment")
        samples = collector.samples(start, end) if collector is not None else None
        if samples is not None:
            # Trim the audio to the video's length so both tracks end together.
            samples = samples[:, : int(round(writer.num_frames / float(rate) * collector.rate))]
            writer.add_audio(samples)
        data, hashes = writer.close()
        has_audio = samples is not None and samples.shape[1] > 0
        return EncodedClip(
            video=data,
            audio_flac=flac_bytes(samples, collector.rate) if has_audio else None,
            has_audio=has_audio,
            duration=writer.num_frames / float(rate),
            fps=float(rate),
            width=writer.width,
            height=writer.height,
            num_frames=writer.num_frames,
            frame_hashes=hashes,
            sample_rate=collector.rate if has_audio else None,
        )
    finally:
        container.close()


def encode_frames(
    frames: Iterable[np.ndarray | av.VideoFrame],
    fps: float,
    options: EncodeOptions | None = None,
    *,
    name: str = "frames",
) -> EncodedClip:
    """Encode a sequence of RGB frames (no audio) into an MP4 clip.

    Args:
        frames: ``uint8`` RGB arrays (HxWx3) or PyAV frames, in order.
        fps: Frame rate of the sequence.
        options: Encoder options (``max_short_side`` applies).
        name: How to call the clip in error messages.

    Raises:
        MediaError: when there are no frames.
    """
    options = options or EncodeOptions()
    rate = Fraction(fps).limit_denominator(1001)
    writer: ClipWriter | None = None
    try:
        for frame in frames:
            if writer is None:
                h, w = (frame.shape[0], frame.shape[1]) if isinstance(frame, np.ndarray) else (frame.height, frame.width)
                tw, th = _target_size(w, h, options.max_short_side)
                writer = ClipWriter(rate, tw, th, None, 1, options)
            writer.add_frame(frame)
    except Exception:
        if writer is not None:
            writer.abort()
        raise
    if writer is None:
        raise MediaError(f"{name}: no frames to encode", reason="empty segment")
    data, hashes = writer.close()
    return EncodedClip(
        video=data,
        audio_flac=None,
        has_audio=False,
        duration=writer.num_frames / float(rate),
        fps=float(rate),
        width=writer.width,
        height=writer.height,
        num_frames=writer.num_frames,
        frame_hashes=hashes,
    )
