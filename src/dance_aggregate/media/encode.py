"""Encode decoded frames and audio into the dataset's MP4 clips.

Every pixel clip of the dataset is written by :class:`ClipWriter`: H.264 (yuv420p) + AAC
in an MP4 with ``+faststart``, so it plays in browsers and in the Hub viewer. While it
encodes, each frame's grey thumbnail goes into the clip's perceptual fingerprints
(:class:`~dance_aggregate.media.fingerprint.FrameHasher`), so no clip is decoded twice.
:func:`encode_frames` encodes a sequence of still frames (Let's Dance); cutting source
videos is :mod:`dance_aggregate.media.cut`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from dance_aggregate.errors import MediaError
from dance_aggregate.files.atomic import MEDIA_TEMP_PREFIX, make_temp_dir, remove_temp_dir
from dance_aggregate.media.fingerprint import FrameHasher

logger = logging.getLogger(__name__)

#: Samples per AAC frame fed to the encoder (AAC-LC's frame size).
AUDIO_CHUNK = 1024


@dataclass(frozen=True)
class EncodeOptions:
    """How clips are cut and encoded. Defaults live here and nowhere else.

    Attributes:
        max_short_side: Downscale so the shorter side is at most this many pixels
            (``None`` keeps the source size). Never upscales. Builders set their own
            default (``default_max_short_side``; see README, "Resolution").
        crf: libx264 constant rate factor (lower is better quality, larger files).
        preset: libx264 preset.
        audio_bitrate: AAC bitrate in bits per second.
        threads: Encoder and decoder threads per clip; 1 keeps output deterministic and
            lets the build parallelise across clips instead.
        max_fps: Drop frames above this rate (``None`` keeps the source rate).
        keyframe_seconds: Largest keyframe interval. x264's default (250 frames) leaves a
            10 s clip with one keyframe, so a reader sampling 8 frames cannot seek; 2 s
            makes seeking pay (see docs/training.md) for slightly larger files.
        min_coverage: A cut whose source ends before the end of its range (or begins
            after its start) is kept, with its true times, when it holds at least this
            fraction of the range; below it the clip is excluded (``media shorter than
            range``). See README, "Times that match the media".
    """

    max_short_side: int | None = None
    crf: int = 23
    preset: str = "veryfast"
    audio_bitrate: int = 128_000
    threads: int = 1
    max_fps: float | None = None
    keyframe_seconds: float = 2.0
    min_coverage: float = 0.5


@dataclass
class EncodedClip:
    """The result of encoding one clip.

    Attributes:
        video: The MP4 bytes.
        audio_flac: The audio as FLAC, or ``None`` when the clip has none.
        has_audio: Whether the clip has sound (``audio_flac`` holds it).
        duration: ``num_frames / fps``: what the MP4 holds.
        fps: Frame rate of the MP4.
        width: Width of the MP4.
        height: Height of the MP4.
        num_frames: Frames in the MP4.
        frame_hashes: Perceptual hashes, 4 per second.
        sample_rate: Audio sample rate, when there is audio.
        start: Where the clip begins in the source file (s): the asked start, or the
            first frame when the source begins later (a negative start, a late stream).
        requested: The range that was asked for (``None`` ends: the file's).
        truncated: The media covers less of ``requested`` than asked (by more than one
            frame): the clip holds ``[start, start + duration)``.
        silent_audio: Why the source's audio track is not stored (``has_audio`` is false
            and the MP4 has no audio track): ``digital silence`` or ``no audio samples``
            (:mod:`~dance_aggregate.media.silence`); ``None`` when the audio is stored or
            the source has no audio track.
        audio_peak_dbfs: The peak of the source's audio over the clip in dBFS (``-inf``:
            exact zeros), ``None`` without audio samples.
    """

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
    start: float = 0.0
    requested: tuple[float | None, float | None] = (None, None)
    truncated: bool = False
    silent_audio: str | None = None
    audio_peak_dbfs: float | None = None


def _even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def target_size(width: int, height: int, max_short_side: int | None) -> tuple[int, int]:
    """The encoded size of a ``width`` x ``height`` source: even sides, the shorter one at
    most ``max_short_side`` (aspect kept, never upscaled)."""
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
        # A marked folder of the build's own (not a bare file), so that only what a killed
        # build left is ever removed from the system temporary folder (:mod:`.leftovers`).
        self._dir = make_temp_dir(Path(tempfile.gettempdir()), MEDIA_TEMP_PREFIX, ".tmp")
        self._path = str(self._dir / "clip.mp4")
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
        # Open the encoders and write the header now, in this thread: the muxer would
        # otherwise do it on the first video packet, while an audio thread
        # (:class:`~dance_aggregate.media.audio.AudioTrack`) may be encoding already.
        self._out.start_encoding()
        self.num_frames = 0
        self._closed = False
        self._hasher = FrameHasher()
        # One scaler for the whole clip, one thread: a frame's own reformat() makes a new
        # scaler per frame with automatic threads (measured: 10x slower than reusing one).
        self._scaler = VideoReformatter()

    def add_frame(self, frame: av.VideoFrame | np.ndarray, thumb: np.ndarray | None = None) -> None:
        """Append one video frame (a PyAV frame, or an RGB ``uint8`` array HxWx3).

        Args:
            frame: The frame; scaled to the clip's size unless it has it already.
            thumb: Its fingerprint thumbnail when made already (else made here).
        """
        if isinstance(frame, np.ndarray):
            frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        t = self.num_frames / float(self.fps)
        if thumb is None:
            self._hasher.add(frame, t)
        else:
            self._hasher.add_thumbnail(thumb, t)
        out = self._scaler.reformat(frame, self.width, self.height, "yuv420p", threads=1)
        # A decoded frame keeps its source picture type, which libx264 takes as a forced
        # frame type (it copied the source's GOP and warned on every clip): let x264 choose.
        out.pict_type = 0
        out.pts = self.num_frames
        out.time_base = Fraction(1) / self.fps
        for packet in self._v.encode(out):
            self._out.mux(packet)
        self.num_frames += 1

    def encode_audio(self, samples: np.ndarray | None, first_sample: int = 0) -> list[av.Packet]:
        """Encode audio into AAC packets, to be muxed by :meth:`close` (``None`` flushes).

        Safe to call from another thread than the video's (an audio thread encodes while
        the video is encoded): it touches only the audio encoder, opened up front.

        Args:
            samples: float32 ``(channels, n)``, following the samples encoded before.
            first_sample: Index in the clip of the first sample (its timestamp).
        """
        if self._a is None:
            return []
        if samples is None:
            return list(self._a.encode(None))
        layout = "stereo" if self.channels == 2 else "mono"
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=layout)
        frame.sample_rate = self.sample_rate
        frame.pts = first_sample
        frame.time_base = Fraction(1, self.sample_rate)
        return list(self._a.encode(frame))

    def close(self, audio_packets: list[av.Packet] | None = None) -> tuple[bytes, list[int]]:
        """Flush the video encoder, mux the video then ``audio_packets`` (from
        :meth:`encode_audio`, flushed), and return the MP4 bytes and the frame hashes
        (:data:`~dance_aggregate.media.fingerprint.HASHES_PER_SECOND` per second)."""
        try:
            for packet in self._v.encode(None):
                self._out.mux(packet)
            for packet in audio_packets or []:
                self._out.mux(packet)
            self._closed = True
            self._out.close()
            data = Path(self._path).read_bytes()
        finally:
            self.abort()
        return data, self._hasher.hashes()

    def abort(self) -> None:
        """Drop the temporary file (safe to call twice, and after :meth:`close`)."""
        if self._a is not None and not self._closed:
            try:  # drain the audio encoder, or libav warns of frames "left in the queue"
                self._a.encode(None)
            except Exception:  # noqa: BLE001 - we only clean up
                pass
        self._closed = True
        try:
            self._out.close()
        except Exception:  # noqa: BLE001 - already closed or broken; we only clean up
            pass
        remove_temp_dir(self._dir)


def _frame_size(frame: np.ndarray | av.VideoFrame) -> tuple[int, int]:
    if isinstance(frame, np.ndarray):
        return frame.shape[1], frame.shape[0]
    return frame.width, frame.height


def encode_frames(
    frames: Iterable[np.ndarray | av.VideoFrame],
    fps: float,
    options: EncodeOptions | None = None,
    *,
    name: str = "frames",
    size: tuple[int, int] | None = None,
) -> EncodedClip:
    """Encode a sequence of RGB frames (no audio) into an MP4 clip.

    Args:
        frames: ``uint8`` RGB arrays (HxWx3) or PyAV frames, in order.
        fps: Frame rate of the sequence.
        options: Encoder options (``max_short_side`` applies).
        name: How to call the clip in error messages.
        size: The clip's ``(width, height)`` before downscaling (default: the first
            frame's). Frames of another size are resized to it, so one odd frame (a
            small first frame) never changes the size of the clip.

    Raises:
        MediaError: when there are no frames.
    """
    options = options or EncodeOptions()
    rate = Fraction(fps).limit_denominator(1001)
    writer: ClipWriter | None = None
    try:
        for frame in frames:
            if writer is None:
                size = size or _frame_size(frame)
                writer = ClipWriter(rate, *target_size(*size, options.max_short_side), None, 1, options)
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
        requested=(0.0, writer.num_frames / float(rate)),
    )
