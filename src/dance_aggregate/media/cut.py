"""Cut windows out of a source video frame-exactly, in one decoding pass, and encode them.

:func:`cut_windows` takes every window of one source file (all the 10 s windows of an
ActivityNet video, say) and decodes the video once: windows closer than :data:`RUN_GAP`
seconds form a *run*; each run seeks to the keyframe before its first window and decodes
only until its last window ends. A decoded frame goes to every window whose ``[start,
end)`` holds its timestamp, so cuts are frame-exact (a [3.3, 6.7) s cut of a 30 fps
source has 102 frames). A clip has a constant frame rate and keeps the source's times, as
FFmpeg's constant-rate output does (see ``_Pass._add``): a hole in a variable-rate source
is filled by the frame before it (a hole over :data:`HOLE_WARNING` seconds is logged), a
faster source drops frames, and a frame's timestamp may jitter by a frame. Each window's audio is read from its own container
(:mod:`dance_aggregate.media.audio`), so a window cut in a pass is byte-identical to the
same window cut alone (:func:`cut_and_encode`).

What a window becomes, besides a clip:

- the source ends (cleanly) before the window does, or begins after it: the clip keeps
  what exists, with ``EncodedClip.start``/``duration`` saying which part, and is marked
  ``truncated``; below ``EncodeOptions.min_coverage`` of the window it is a
  ``media shorter than range`` error instead;
- decoding fails, or the file stops before the duration its header declares (a truncated
  download or copy): a ``corrupt media`` error naming the time of the failure;
- no frame in the window: an ``empty segment`` error.

Length (about 480 lines): one decoding pass (``_Pass``) is one state machine over the
packets of a file (runs, windows open and closed, holes, early ends, encoders fed as frames
arrive); splitting it would spread that state over modules. Decoding, encoding and audio
already live beside it (:mod:`.decode`, :mod:`.encode`, :mod:`.audio`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.stream import Discard
from av.video.reformatter import VideoReformatter

from dance_aggregate.errors import MediaError
from dance_aggregate.media.audio import AudioSpec, AudioTrack, audio_spec
from dance_aggregate.media.avlog import record_context, relabel
from dance_aggregate.media.encode import AUDIO_CHUNK, ClipWriter, EncodedClip, EncodeOptions, target_size
from dance_aggregate.media.fingerprint import thumbnail
from dance_aggregate.media.prefetch import Prefetch
from dance_aggregate.media.probe import BestEffortClock, SourceFile, SourceLike, declared_end, media_origin, video_rate
from dance_aggregate.media.silence import DIGITAL_SILENCE, NO_AUDIO_SAMPLES, dbfs

logger = logging.getLogger(__name__)

#: Windows whose gap is at most this (s) share one seek; a larger gap is crossed by seeking.
RUN_GAP = 5.0
#: A file whose frames stop more than this (s) before the duration it declares is damaged.
EOF_TOLERANCE = 1.0
#: Timestamps closer than this (s) are equal.
_EPS = 1e-6
#: A run of repeated frames (a hole in the source's frames) longer than this (s) is logged.
HOLE_WARNING = 0.5


@dataclass(frozen=True)
class Window:
    """A range to cut, in seconds of the source file.

    Attributes:
        start: Start (``None``: the beginning). A negative start is clamped to 0.
        end: End, exclusive (``None``: the end of the file).
        label: What the clip is (its record id), for messages and libav's logs.
    """

    start: float | None = None
    end: float | None = None
    label: str = ""


@dataclass
class _Cut:
    """One window being cut: its writer and what it received."""

    window: Window
    start: float
    end: float | None
    writer: ClipWriter | None = None
    audio: AudioTrack | None = None
    clip_start: float = 0.0
    anchor: float = 0.0  # the time of the clip's first frame slot; slot n is at anchor + n / rate
    last: _Decoded | None = None  # the last frame encoded (it fills a hole that follows it)
    result: EncodedClip | MediaError | None = None

    def drop(self) -> None:
        """Stop the audio thread and remove the temporary file (the clip is not stored)."""
        if self.audio is not None:
            self.audio.cancel()
            self.audio = None
        if self.writer is not None:
            self.writer.abort()


@dataclass
class _Decoded:
    """A decoded frame: its time (s), the frame scaled to the clip size in yuv420p, and
    its fingerprint thumbnail."""

    t: float
    frame: av.VideoFrame
    thumb: Any


class _Pass:
    """One decoding pass over a source file, feeding every window of it."""

    def __init__(self, source: SourceFile, windows: Sequence[Window], options: EncodeOptions) -> None:
        self.source = source
        self.options = options
        self.cuts = [_Cut(w, max(0.0, w.start or 0.0), w.end) for w in windows]
        self.container = source.open()
        if not self.container.streams.video:
            self.container.close()
            raise MediaError(f"{source.what}: no video stream", reason="no video stream")
        self.stream = self.container.streams.video[0]
        for other in self.container.streams:
            if other.index != self.stream.index:
                other.discard = Discard.all  # the video pass reads no audio (see audio.py)
        self.stream.codec_context.thread_count = options.threads
        self.rate = video_rate(self.stream)
        self.out_rate = self.rate
        if options.max_fps and float(self.rate) > options.max_fps:
            self.out_rate = Fraction(options.max_fps).limit_denominator(1001)
        self.audio: AudioSpec | None = audio_spec(self.container)
        # Times here are video times (0 = the video's start); the file's own timestamps
        # are these plus ``origin`` (see media_origin): only seeks and the audio reader,
        # which read the file, add it.
        self.origin = media_origin(self.container)
        declared = declared_end(self.container, self.stream, self.rate)
        self.declared = None if declared is None else declared - self.origin
        self.last_t: float | None = None  # the last frame decoded, over the whole pass
        self.at_start = True  # nothing read yet: no seek needed to begin at 0

    def run(self) -> list[EncodedClip | MediaError]:
        try:
            for run in _runs(sorted(self.cuts, key=lambda c: (c.start, math.inf if c.end is None else c.end))):
                self._decode_run(run)
        finally:
            for cut in self.cuts:
                if not isinstance(cut.result, EncodedClip):
                    cut.drop()
            self.container.close()
        return [c.result if c.result is not None else self._error(c, "not cut", "internal") for c in self.cuts]

    # -- decoding -----------------------------------------------------------------------
    def _decode_run(self, run: list[_Cut]) -> None:
        pending = list(run)
        open_: list[_Cut] = []
        relabel(self._label(open_, pending))
        frames = self._frames_from(run)
        try:
            for frame in frames:
                t = frame.t
                opened = False
                while pending and t >= pending[0].start - _EPS:
                    open_.append(pending.pop(0))
                    opened = True
                if opened:
                    relabel(self._label(open_, pending))
                for cut in list(open_):
                    if cut.end is not None and t >= cut.end - _EPS:
                        open_.remove(cut)
                        self._finish(cut, eof=False)
                        relabel(self._label(open_, pending))
                    else:
                        self._add(cut, frame)
                if not pending and not open_:
                    return
        except _DecodeFailure as failure:
            for cut in open_ + pending:
                self._fail(cut, failure)
            return
        finally:
            frames.close()  # stops the decoding thread before anything seeks again
        for cut in open_ + pending:  # the file ended before these windows did
            self._finish(cut, eof=True)

    def _frames_from(self, run: list[_Cut]) -> Iterator[_Decoded]:
        """Decoded frames from the keyframe before ``t0`` on (frames before ``t0`` skipped),
        decoded in a thread of their own (:class:`~dance_aggregate.media.prefetch.Prefetch`).

        When the seek lands after ``t0`` (an imprecise index) it seeks earlier, and at last
        reads from the beginning, so no frame of the range is ever missed.
        """
        t0 = run[0].start
        targets: list[float | None] = [t0, t0 - 10.0, None] if t0 > 0 else [None]
        for target in targets:
            if target is not None and target > 0:
                self.container.seek(int((target + self.origin) / self.stream.time_base), stream=self.stream, backward=True)
            elif not self.at_start:
                self.container.seek(0, stream=self.stream, backward=True)
            self.at_start = False
            first = True
            with Prefetch(self._decode(run)) as frames:
                for frame in frames:
                    t = frame.t
                    if first and target is not None and t > t0 + _EPS and t > _EPS:
                        logger.debug("%s: seek to %.3f s landed at %.3f s; seeking earlier", self.source.what, target, t)
                        break
                    first = False
                    if t >= t0 - _EPS:
                        yield frame
                else:
                    return

    def _decode(self, run: list[_Cut]) -> Iterator[_Decoded]:
        """Demux and decode, and make each frame's thumbnail and scaled copy (runs in
        the decoding thread: that work is done once for all the windows of a frame).
        libav's messages in this thread name the windows of the frame being decoded."""
        with record_context(self._label(run[:1], [])):
            yield from self._decode_frames(run)

    def _decode_frames(self, run: list[_Cut]) -> Iterator[_Decoded]:
        demux = self.container.demux(self.stream)
        thumbs, scaler = VideoReformatter(), VideoReformatter()
        tb = float(self.stream.time_base)
        clock = BestEffortClock()  # starts afresh after each seek, as FFmpeg's decoder does
        while True:
            try:
                packet = next(demux)
                frames = packet.decode()
            except StopIteration:
                return
            except av.FFmpegError as exc:
                raise _DecodeFailure(self.last_t, exc) from exc
            for frame in frames:
                ts = clock.timestamp(frame.pts, frame.dts)
                if ts is None:
                    continue
                t = ts * tb - self.origin
                self.last_t = t
                relabel(self._label([c for c in run if c.start - _EPS <= t and (c.end is None or t < c.end - _EPS)],
                                    [c for c in run if c.start - _EPS > t]) if run else self.source.what)
                if t < run[0].start - _EPS:
                    yield _Decoded(t, frame, None)  # from the keyframe to the run: only decoded
                    continue
                w, h = target_size(frame.width, frame.height, self.options.max_short_side)
                scaled = scaler.reformat(frame, w, h, "yuv420p", threads=1)
                yield _Decoded(t, scaled, thumbnail(frame, scaler=thumbs))

    def _add(self, cut: _Cut, frame: _Decoded) -> None:
        """A decoded frame of the window, placed on the clip's constant-rate slots (slot n
        at ``anchor + n / out_rate``), as FFmpeg's constant-rate output places them:

        - a frame more than 1.1 slots after the next slot follows a hole in the source:
          the frame before it fills the slots up to the one nearest this frame's time;
        - a frame before the next slot is dropped when the clip has a lower rate than the
          source (``max_fps``), and when more than 1.1 slots late otherwise;
        - any other frame takes the next slot, so timestamps that jitter by a frame (an
          AVI's packed B-frames stamp 0.12 s as 0.16 s) keep every frame, in order.
        """
        t = frame.t  # not frame.frame.time: a writer restamps the frame it encodes
        if cut.writer is None:
            self._open(cut, frame.frame, t)
        writer = cut.writer
        assert writer is not None  # noqa: S101 - opened above
        step = 1.0 / float(self.out_rate)
        behind = t - (cut.anchor + writer.num_frames * step)
        if behind > 1.1 * step and cut.last is not None:
            held = 0
            while cut.anchor + writer.num_frames * step + step / 2 < t - _EPS:
                writer.add_frame(cut.last.frame, cut.last.thumb)
                held += 1
            if held * step > HOLE_WARNING:
                logger.warning("%s: no source frame in [%.2f, %.2f) s: the frame at %.2f s is held there (%d frames)",
                               self._what(cut), cut.last.t + 1.0 / float(self.rate), t, cut.last.t, held)
        elif behind < (-_EPS if self.out_rate != self.rate else -1.1 * step):
            return
        writer.add_frame(frame.frame, frame.thumb)
        cut.last = frame
        if cut.audio is not None:
            cut.audio.confirm(int(round(writer.num_frames / float(self.out_rate) * cut.audio.spec.rate)))

    def _open(self, cut: _Cut, frame: av.VideoFrame, t: float) -> None:
        """The window's first frame: make its writer, start its audio thread."""
        w, h = target_size(frame.width, frame.height, self.options.max_short_side)
        spec = self.audio
        cut.writer = ClipWriter(self.out_rate, w, h, spec.rate if spec else None, spec.channels if spec else 1, self.options)
        # The clip starts at the window's start, or at its first frame when the source
        # has nothing there (a negative start, a stream that begins later).
        step = 1.0 / float(self.out_rate)
        cut.clip_start = cut.start if t <= cut.start + step + _EPS else t
        # The frame slots begin at the first frame: a frame less than a slot after the
        # window's start (an AVI's packed B-frames put the first one at 0.04 s) is not
        # shown twice.
        cut.anchor = t
        if spec is not None:
            end = None if cut.end is None else cut.end + self.origin
            cut.audio = AudioTrack(self.source.open, cut.clip_start + self.origin, end, spec, cut.writer.encode_audio,
                                   AUDIO_CHUNK, self._what(cut), self._label([cut], []))

    # -- outcomes -----------------------------------------------------------------------
    def _finish(self, cut: _Cut, *, eof: bool) -> None:
        """Close a window: check what the file gave it, add its audio, encode."""
        decoded_end = None if self.last_t is None else self.last_t + 1.0 / float(self.rate)
        if eof and self._premature(decoded_end) and (cut.end is None or decoded_end is None or cut.end > decoded_end + _EPS):
            where = f"{decoded_end:.2f} s" if decoded_end is not None else "its first frame"
            self._reject(cut, f"decoding stopped at {where} but the file declares {self.declared:.2f} s: "
                         f"it is truncated or damaged. Fix: fetch or copy the file again", "corrupt media")
            return
        writer = cut.writer
        if writer is None or writer.num_frames == 0:
            rng = f"[{cut.start:.3f}, {'end' if cut.end is None else f'{cut.end:.3f}'})"
            if eof and decoded_end is not None and cut.start >= decoded_end - _EPS:
                self._reject(cut, f"the video ends at {decoded_end:.3f} s, before the range {rng} begins "
                             f"(0% of it exists)", "media shorter than range")
            else:
                self._reject(cut, f"no video frames in {rng}", "empty segment")
            return
        step = 1.0 / float(self.out_rate)
        duration = writer.num_frames * step
        start = cut.clip_start
        truncated = False
        if cut.window.end is not None:
            length = cut.window.end - (cut.window.start or 0.0)
            truncated = length - duration > step + _EPS
            if truncated and duration < self.options.min_coverage * length:
                self._reject(
                    cut,
                    f"the media covers [{start:.3f}, {start + duration:.3f}) s, {duration:.2f} s of the "
                    f"{length:.2f} s range [{cut.window.start or 0.0:.3f}, {cut.window.end:.3f}) "
                    f"({duration / length:.0%}; clips under {self.options.min_coverage:.0%} are excluded)",
                    "media shorter than range",
                )
                return
        try:
            cut.result = self._encode(cut, duration, truncated)
        except MediaError as exc:  # the audio of this window is damaged
            cut.drop()
            cut.result = exc

    def _encode(self, cut: _Cut, duration: float, truncated: bool) -> EncodedClip:
        writer = cut.writer
        assert writer is not None  # noqa: S101 - checked by the caller
        packets: list[av.Packet] = []
        flac = level = silent_audio = None
        if cut.audio is not None:
            relabel(self._label([cut], []))
            packets, samples, flac = cut.audio.finish(int(round(duration * cut.audio.spec.rate)))
            level = cut.audio.peak
            cut.audio = None
            if flac is None:  # digital silence, or no samples in the range
                silent_audio = NO_AUDIO_SAMPLES if samples is None else DIGITAL_SILENCE
                logger.debug("%s: audio not stored: %s", self._what(cut), silent_audio)
        has_audio = flac is not None
        # Without its packets the audio stream gets no track in the MP4 (the mov muxer
        # leaves out empty tracks): the same bytes as a clip of a source without audio.
        data, hashes = writer.close(packets if has_audio else None)
        return EncodedClip(
            video=data,
            audio_flac=flac,
            has_audio=has_audio,
            duration=duration,
            fps=float(self.out_rate),
            width=writer.width,
            height=writer.height,
            num_frames=writer.num_frames,
            frame_hashes=hashes,
            sample_rate=self.audio.rate if has_audio and self.audio else None,
            start=cut.clip_start,
            requested=(cut.window.start, cut.window.end),
            truncated=truncated,
            silent_audio=silent_audio,
            audio_peak_dbfs=None if level is None else dbfs(level),
        )

    def _premature(self, decoded_end: float | None) -> bool:
        """Whether the frames stopped well before the end the file declares."""
        if self.declared is None:
            return False
        return decoded_end is None or decoded_end < self.declared - EOF_TOLERANCE

    def _fail(self, cut: _Cut, failure: _DecodeFailure) -> None:
        at = f"{failure.t:.2f} s" if failure.t is not None else "the start"
        self._reject(cut, f"decoding failed after {at} ({failure.exc}): the file is damaged. "
                     f"Fix: fetch or copy the file again", "corrupt media")

    def _reject(self, cut: _Cut, message: str, reason: str) -> None:
        """The window is not stored: stop its audio thread, drop its file, say why."""
        cut.drop()
        cut.result = self._error(cut, message, reason)

    def _label(self, open_: list[_Cut], pending: list[_Cut]) -> str:
        """Who libav's messages are about now: the open windows, else the next one."""
        cuts = open_ or pending[:1]
        return ", ".join(c.window.label for c in cuts if c.window.label) or self.source.what

    def _what(self, cut: _Cut) -> str:
        return f"{self.source.what} ({cut.window.label})" if cut.window.label else self.source.what

    def _error(self, cut: _Cut, message: str, reason: str) -> MediaError:
        return MediaError(f"{self._what(cut)}: {message}", reason=reason)


class _DecodeFailure(Exception):
    """Decoding failed after the frame at ``t`` (s)."""

    def __init__(self, t: float | None, exc: Exception) -> None:
        super().__init__(str(exc))
        self.t = t
        self.exc = exc


def _runs(cuts: list[_Cut]) -> Iterator[list[_Cut]]:
    """Group windows sorted by start: a window joins the run before it when it starts
    at most :data:`RUN_GAP` after that run's end (one seek serves the run)."""
    run: list[_Cut] = []
    end = -math.inf
    for cut in cuts:
        if run and cut.start > end + RUN_GAP:
            yield run
            run, end = [], -math.inf
        run.append(cut)
        end = max(end, math.inf if cut.end is None else cut.end)
    if run:
        yield run


def cut_windows(
    source: SourceLike,
    windows: Sequence[Window],
    options: EncodeOptions | None = None,
    *,
    name: str | None = None,
) -> list[EncodedClip | MediaError]:
    """Cut every window out of one source file in one decoding pass and encode each.

    Args:
        source: A path, bytes, or a binary file object of any container FFmpeg reads.
        windows: The ranges to cut (any order; they may overlap).
        options: Encoder options.
        name: How to call the file in messages (defaults to the path).

    Returns:
        One result per window, in the order given: the clip, or the :class:`MediaError`
        that excludes it (see the module doc for the reasons).

    Raises:
        MediaError: when the file cannot be opened or has no video stream (every window
            would fail the same way).
    """
    options = options or EncodeOptions()
    src = SourceFile(source, name or str(source if isinstance(source, (str, Path)) else "<bytes>"))
    labels = ", ".join(w.label for w in windows if w.label) or src.what
    with record_context(labels):
        return _Pass(src, windows, options).run()


def cut_and_encode(
    source: SourceLike,
    start: float | None = None,
    end: float | None = None,
    options: EncodeOptions | None = None,
    *,
    name: str | None = None,
    label: str = "",
) -> EncodedClip:
    """Cut ``[start, end)`` out of a media file and re-encode it (one window of
    :func:`cut_windows`: the same bytes as when cut with other windows).

    Args:
        source: A path, bytes, or a binary file object of any container FFmpeg reads.
        start: Start time in seconds (``None``: from the beginning; negative: from 0).
        end: End time in seconds (``None``: to the end).
        options: Encoder options.
        name: How to call the file in error messages (defaults to the path).
        label: The record the clip is for, named in messages.

    Returns:
        The encoded clip with its metadata and fingerprints.

    Raises:
        MediaError: when the file cannot be read, has no video stream, is damaged, or the
            range holds no frames or too little of them; the message names the file and
            the reason.
    """
    (result,) = cut_windows(source, [Window(start, end, label)], options, name=name)
    if isinstance(result, MediaError):
        raise result
    return result
