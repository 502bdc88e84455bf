"""The audio of a cut: decoded, resampled and trimmed to the clip's range; FLAC bytes.

Each clip's audio is read by :func:`read_audio_range` from a container opened for that
clip alone, starting with a fresh decoder at the first packet at or after
``start - PREROLL``. A decoder's output depends on everything it decoded before (AAC
overlap and noise-substitution state, the MP3 bit reservoir, Opus prediction), so this is
what makes a clip's audio the same bytes whether it is cut alone or as one of many windows
of a video in one pass (:func:`dance_aggregate.media.cut.cut_windows`). Opening a
container costs a few milliseconds and only the audio stream is read from it.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import soundfile as sf
from av.stream import Discard

from dance_aggregate.errors import MediaError
from dance_aggregate.media.avlog import record_context
from dance_aggregate.media.silence import is_silent, peak

logger = logging.getLogger(__name__)

#: Audio sample rates AAC and FLAC both take; anything else is resampled to 48 kHz.
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
#: Audio decoded before a clip's start and thrown away (s): a cold decoder needs a few
#: packets (AAC overlap, MP3 bit reservoir, Opus pre-skip) before its output is exact.
PREROLL = 0.5
#: AAC frames an audio thread waits for before it encodes (fewer wake-ups).
_BATCH_CHUNKS = 16
#: How much earlier than the preroll the reader seeks (s): audio packets of a time may
#: be stored before the video keyframe a seek lands on.
SEEK_MARGIN = 1.0


@dataclass(frozen=True)
class AudioSpec:
    """The audio format of the clips cut from one file.

    Attributes:
        rate: Sample rate (the source's when AAC takes it, else 48 kHz).
        channels: 1 (mono source) or 2 (anything else, downmixed).
    """

    rate: int
    channels: int

    @property
    def layout(self) -> str:
        """The channel layout name."""
        return "stereo" if self.channels == 2 else "mono"


def audio_spec(container: av.container.InputContainer) -> AudioSpec | None:
    """The audio format clips of this file get, or ``None`` when it has no audio stream
    that can be decoded."""
    if not container.streams.audio:
        return None
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    if ctx is None:
        logger.warning("%s: the audio stream has no decoder in this FFmpeg; clips are stored silent", container.name)
        return None
    rate = ctx.sample_rate or stream.rate
    if not rate:
        return None
    return AudioSpec(rate if rate in AAC_RATES else 48000, 1 if (ctx.channels or 1) == 1 else 2)


def read_audio_range(
    open_source: Callable[[], av.container.InputContainer],
    start: float,
    end: float | None,
    spec: AudioSpec,
    what: str,
) -> np.ndarray | None:
    """The audio of ``[start, end)`` (file time) as float32 ``(channels, n)``.

    Args:
        open_source: Opens the file again (a fresh container and decoder).
        start: Clip start (s); audio that begins later is padded with silence.
        end: Clip end (s, ``None``: the end of the file); audio that ends earlier leaves
            the result shorter.
        spec: The output format.
        what: The file and record, for messages.

    Returns:
        The samples, or ``None`` when the range holds no audio.

    Raises:
        MediaError: ``corrupt media`` when a packet inside the range cannot be decoded.
    """
    container = open_source()
    try:
        for other in container.streams:
            if other.index != container.streams.audio[0].index:
                other.discard = Discard.all  # read only the audio
        chunks, first_t = _decode(container, start, end, spec, what)
    finally:
        container.close()
    if not chunks or first_t is None:
        return None
    data = np.concatenate(chunks, axis=1).astype(np.float32)
    offset = int(round((start - first_t) * spec.rate))
    if offset < 0:
        # Audio starts after the clip start: pad the gap with silence to stay in sync.
        data = np.concatenate([np.zeros((data.shape[0], -offset), np.float32), data], axis=1)
        offset = 0
    if end is None:
        return data[:, offset:]
    length = max(0, int(round((end - start) * spec.rate)))
    return data[:, offset : offset + length]


def _decode(
    container: av.container.InputContainer, start: float, end: float | None, spec: AudioSpec, what: str
) -> tuple[list[np.ndarray], float | None]:
    stream = container.streams.audio[0]
    resampler = av.AudioResampler(format="fltp", layout=spec.layout, rate=spec.rate)
    chunks: list[np.ndarray] = []
    first_t: float | None = None

    def take(frame: av.AudioFrame | None) -> None:
        nonlocal first_t
        for rf in resampler.resample(frame):
            if first_t is None:
                first_t = float(rf.pts * rf.time_base) if rf.pts is not None else 0.0
            chunks.append(rf.to_ndarray())

    for packet in _packets(container, stream, start - PREROLL, what):
        t = packet.pts * stream.time_base if packet.pts is not None else None
        if t is not None and end is not None and t >= end:
            break
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:
            if t is not None and t < start:
                logger.debug("%s: audio packet at %.3f s before the clip undecodable (%s); skipped", what, t, exc)
                continue
            raise MediaError(
                f"{what}: audio decoding failed at {float(t or start):.2f} s ({exc}); the file is damaged. "
                f"Fix: fetch or copy the file again", reason="corrupt media",
            ) from exc
        for frame in frames:
            if end is not None and frame.pts is not None and float(frame.pts * frame.time_base) >= end:
                break
            take(frame)
    take(None)
    return chunks, first_t


def _packets(container: av.container.InputContainer, stream: Any, from_t: float, what: str) -> Iterator[av.Packet]:
    """The audio packets from the first one at or after ``from_t`` (the same packets
    whatever the seek lands on): seek earlier and earlier until the first packet read
    is not after ``from_t``, else read from the beginning."""
    targets = [x for x in (from_t - SEEK_MARGIN, from_t - SEEK_MARGIN - 10.0) if x > 0]
    for target in [*targets, None]:
        if target is not None:
            container.seek(int(target * av.time_base))
        elif target is None and targets:
            container.seek(0)
        started = False
        for packet in container.demux(stream):
            if not started:
                if packet.pts is None:
                    continue  # no time to place it (or the demuxer's end-of-stream marker)
                t = float(packet.pts * stream.time_base)
                if target is not None and t > from_t:
                    logger.debug("%s: audio seek to %.2f s landed at %.2f s; seeking earlier", what, target, t)
                    break
                if t < from_t:
                    continue
                started = True
            yield packet
        else:
            return


class AudioTrack:
    """The audio of one clip, read and encoded in a thread of its own while the clip's
    video is encoded (as FFmpeg's command line runs each stream in its own thread).

    The track reads ``[start, end)`` (:func:`read_audio_range`), then feeds the AAC encoder
    ``chunk`` samples at a time, never past what the video has confirmed
    (:meth:`confirm`): the clip's final length is known only when its video ends, and
    the packets must be those of encoding exactly the first ``n`` samples
    (:meth:`finish`). Thread timing never changes the bytes.

    Args:
        open_source: Opens the source file again.
        start: Clip start in the file (s).
        end: End of the range (s), or ``None`` for the end of the file.
        spec: The output format.
        encode: Encodes ``(samples, first_sample)`` (``None``: flush) into packets, e.g.
            :meth:`dance_aggregate.media.encode.ClipWriter.encode_audio`.
        chunk: Samples per encoder frame.
        what: The file and record, for messages.
        label: The record, for libav's messages in this thread.
    """

    def __init__(
        self,
        open_source: Callable[[], av.container.InputContainer],
        start: float,
        end: float | None,
        spec: AudioSpec,
        encode: Callable[[np.ndarray | None, int], list[Any]],
        chunk: int,
        what: str,
        label: str = "",
    ) -> None:
        self.spec = spec
        self._label = label or what
        self._args = (open_source, start, end, spec, what)
        self._encode = encode
        self._chunk = chunk
        self._cond = threading.Condition()
        self._confirmed = 0
        self._wake_at = 0  # confirm() wakes the thread only past this (few wake-ups)
        self._final: int | None = None
        self._cancelled = False
        self._error: BaseException | None = None
        self._packets: list[Any] = []
        self._samples: np.ndarray | None = None
        self._flac: bytes | None = None
        #: The clip's peak sample (linear), known after :meth:`finish`; ``None`` without samples.
        self.peak: float | None = None
        self._thread = threading.Thread(target=self._run, name="dance_aggregate-audio", daemon=True)
        self._thread.start()

    def confirm(self, samples: int) -> None:
        """The video now covers the first ``samples`` samples: they may be encoded."""
        self._confirmed = samples
        if samples >= self._wake_at:
            with self._cond:
                self._cond.notify()

    def finish(self, samples: int) -> tuple[list[Any], np.ndarray | None, bytes | None]:
        """The clip holds ``samples`` samples: encode the rest, flush, and return the AAC
        packets, the samples and their FLAC bytes (``None`` without audio, and for
        digital silence: :mod:`dance_aggregate.media.silence`; see :attr:`peak`).

        Raises:
            MediaError: the audio in the range is damaged.
        """
        with self._cond:
            self._final = samples
            self._cond.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._packets, self._samples, self._flac

    def cancel(self) -> None:
        """Stop the thread; the clip is not stored."""
        with self._cond:
            self._cancelled = True
            self._cond.notify()
        self._thread.join()

    def _ready(self, done: int, have: int) -> bool:
        """Whether there is work: the end is known, or a batch of whole chunks is both
        decoded (``have``) and confirmed by the video."""
        if self._cancelled or self._final is not None:
            return True
        if done + self._chunk > have:
            return False  # no whole chunk left: only the end can be encoded now
        return min(self._confirmed, have) >= min(self._wake_at, have // self._chunk * self._chunk)

    def _run(self) -> None:
        with record_context(self._label):
            self._encode_all()

    def _encode_all(self) -> None:
        try:
            samples = read_audio_range(*self._args)
            if samples is None:
                samples = np.zeros((self.spec.channels, 0), np.float32)
            done, have = 0, samples.shape[1]
            while True:
                with self._cond:
                    # Sleep until a batch of chunks is confirmed (or the end is known).
                    self._wake_at = done + _BATCH_CHUNKS * self._chunk
                    while not self._ready(done, have):
                        self._cond.wait()
                    if self._cancelled:
                        return
                    final = self._final
                    limit = min(final if final is not None else self._confirmed, samples.shape[1])
                while done + self._chunk <= limit or (final is not None and done < limit):
                    end = min(done + self._chunk, limit)
                    self._packets += self._encode(samples[:, done:end], done)
                    done = end
                if final is not None:
                    break
            self._packets += self._encode(None, 0)
            self._samples = samples[:, :done] if done else None
            self.peak = peak(self._samples) if self._samples is not None else None
            # Digital silence gets no FLAC (the caller stores the clip without audio).
            audible = self.peak is not None and not is_silent(self.peak)
            self._flac = flac_bytes(self._samples, self.spec.rate) if audible else None
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread by finish()
            self._error = exc


def flac_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """Encode float samples of shape (channels, n) as FLAC (16-bit)."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(samples.T, -1.0, 1.0), sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()
