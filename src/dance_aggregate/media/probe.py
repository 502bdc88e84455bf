"""What a source file says about itself: how to open it (again), its frame rate, where it
declares its video ends, and the time of each decoded frame.

A cut opens its source more than once (the video pass, and a container per clip for its
audio), so a source given as bytes or a file object is held in memory once and reopened
from there.
"""

from __future__ import annotations

import io
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av

from dance_aggregate.errors import MediaError

SourceLike = str | Path | BinaryIO | bytes


class SourceFile:
    """Opens one source file as often as needed (a path, or bytes held in memory).

    Args:
        source: A path, bytes, or a binary file object.
        what: How to call the file in messages.
    """

    def __init__(self, source: SourceLike, what: str) -> None:
        self.what = what
        if isinstance(source, (str, Path)):
            self._path: str | None = str(source)
            self._data = b""
        else:
            self._path = None
            self._data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) else read_all(source)

    def open(self) -> av.container.InputContainer:
        """A fresh container (and so fresh decoders) on the file.

        Raises:
            MediaError: ``unreadable media`` when FFmpeg cannot open it.
        """
        try:
            return av.open(self._path if self._path is not None else io.BytesIO(self._data), mode="r")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise MediaError(f"{self.what}: cannot open as a media file ({exc})", reason="unreadable media") from exc


def read_all(f: BinaryIO) -> bytes:
    """Everything in a binary file object, from its start when it can seek."""
    if f.seekable():
        f.seek(0)
    return f.read()


def video_rate(stream: Any) -> Fraction:
    """The frame rate of a video stream (25 when it says nothing usable): FFmpeg's guess
    (``av_guess_frame_rate``: the stream's nominal rate unless that is absurd), which a
    constant-rate clip of a variable-rate source keeps; the average rate of a source with
    holes in its frames is lower than the rate its frames were taken at. A nominal rate
    over 1.5 times the average is a field or time-base rate: the average is used."""
    rate = stream.guessed_rate or stream.average_rate or stream.base_rate
    if stream.average_rate and rate and float(rate) > 1.5 * float(stream.average_rate):
        rate = stream.average_rate  # a field or time-base rate (60 for a 30 fps stream)
    if not rate or float(rate) <= 0 or not math.isfinite(float(rate)):
        return Fraction(25)
    return Fraction(rate).limit_denominator(1001)


_DURATION_TAG = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")


def declared_end(container: av.container.InputContainer, stream: Any, rate: Fraction) -> float | None:
    """Where the file says its video ends (s): the largest of the stream's frame count
    over its rate, its duration and its ``DURATION`` tag (Matroska), or the container's
    duration when the stream says nothing. ``None`` when nothing is declared."""
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    ends = []
    if stream.frames:
        ends.append(start + stream.frames / float(rate))
    if stream.duration:
        ends.append(start + float(stream.duration * stream.time_base))
    tag = _DURATION_TAG.match(str(stream.metadata.get("DURATION", "")))
    if tag:
        ends.append(start + int(tag[1]) * 3600 + int(tag[2]) * 60 + float(tag[3]))
    if not ends and container.duration:
        ends.append(container.duration / av.time_base)
    return max(ends) if ends else None


def media_origin(container: av.container.InputContainer) -> float:
    """The file time (s) of the video's time 0: the container's start time when it is
    positive, else 0.

    Annotations count time from the start of the video, as FFmpeg's ``-ss`` does (it seeks
    to ``-ss`` plus the file's start time). Most files start at 0, but one cut out of a
    longer stream (a stream-copied clip, an MPEG-TS recording, a live stream) keeps the
    timestamps it had there: its frames may begin at 5 s or at 3,600 s. A negative start
    (an audio encoder's priming samples) is a few milliseconds and is left as it is.
    """
    start = container.start_time
    if start is None:
        starts = [float(s.start_time * s.time_base) for s in container.streams if s.start_time is not None]
        return max(0.0, min(starts)) if starts else 0.0
    return max(0.0, start / av.time_base)


class BestEffortClock:
    """FFmpeg's ``best_effort_timestamp`` (``guess_correct_pts``): a frame's pts, unless
    the pts have gone backwards more often than the dts, then its dts.

    An AVI with packed B-frames (Xvid, as in UCF101) hands frames out in display order
    with scrambled pts (0.92, 1.0, 0.96 s) but ordered dts; trusting the pts there put the
    wrong frames in a window and ended it a frame early.
    """

    def __init__(self) -> None:
        self.last_pts: int | None = None
        self.last_dts: int | None = None
        self.faulty_pts = 0
        self.faulty_dts = 0

    def timestamp(self, pts: int | None, dts: int | None) -> int | None:
        """The timestamp of the next decoded frame (``None``: it has none)."""
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        if pts is not None and (self.faulty_pts <= self.faulty_dts or dts is None):
            return pts
        return dts
