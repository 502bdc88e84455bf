"""Still frames into a clip: read from a folder or a zip, decoded, gaps filled.

A :class:`~dance_aggregate.records.FrameRun` is a numbered sequence of JPEGs (Let's Dance). Missing frames (the plan lists them) and frames
that cannot be read (a corrupt JPEG) both count as missing: the previous frame is held over
them, and a clip missing more than ``max_missing`` of its frames is excluded. Frames of
another size than the clip's (the most common size, read from the JPEG headers before any
frame is decoded) are resized to it, so one odd frame never shrinks the whole clip.
"""

from __future__ import annotations

import io
import logging
import os
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image

from dance_aggregate.errors import MediaError
from dance_aggregate.records import FrameRun

logger = logging.getLogger(__name__)

#: Frame image extensions of the release.
IMAGE_EXTS = (".jpg", ".jpeg")


#: Largest frame read, in bytes: a 1280x720 JPEG of the release is 100-300 KB, and an 8K
#: JPEG at the best quality stays far below this. A bigger member (a zip bomb, a video or an
#: archive named .jpg) is refused as unreadable without being read or inflated whole.
MAX_FRAME_BYTES = 64 * 2**20
#: Largest frame decoded, in pixels (8K UHD, 7680x4320); a header declaring more is refused
#: before anything is decoded.
MAX_FRAME_PIXELS = 7680 * 4320
#: Past 1 MiB, a member that inflates to more than this many times its stored size is a zip
#: bomb, not a frame: JPEG data hardly compresses further (ratios near 1).
MAX_COMPRESSION_RATIO = 100
#: Members read in a stream with a bounded step (other methods, bzip2 and LZMA, inflate a
#: whole block at once, however large it turns out).
_STREAMED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
#: What reading or decoding one frame may raise; each counts the frame as unreadable.
FRAME_ERRORS = (OSError, KeyError, ValueError, SyntaxError, zipfile.BadZipFile, Image.DecompressionBombError)


class FrameTooLarge(ValueError):
    """A frame refused before it is read whole: too many bytes or pixels, or a zip member
    that could inflate without bound (counted as an unreadable frame)."""


class FrameContainer:
    """The still frames of a folder or of a zip (read in place, never extracted).

    Every frame is read as a stream of at most :data:`MAX_FRAME_BYTES` (checked against the
    size the zip or the file system declares first, then against the bytes that actually
    come out), so no member is ever held whole beyond that bound.

    Args:
        path: The folder members are relative to, or the zip file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.is_zip = self.path.is_file()
        self._zip: zipfile.ZipFile | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "is_zip": self.is_zip, "_zip": None}

    def size(self, member: str) -> tuple[int, int] | None:
        """The ``(width, height)`` of one frame from its header (nothing decoded), or
        ``None`` when the header cannot be read or the frame is refused (a header of more
        than :data:`MAX_FRAME_PIXELS` never sets the clip's size)."""
        try:
            with self.open(member) as f, Image.open(f) as img:
                w, h = img.size
        except FRAME_ERRORS:
            return None
        return (w, h) if w * h <= MAX_FRAME_PIXELS else None

    def open(self, member: str) -> IO[bytes]:
        """A stream of one frame's bytes, after the checks of its declared size.

        Raises:
            FrameTooLarge: the member declares more than :data:`MAX_FRAME_BYTES`, inflates
                more than :data:`MAX_COMPRESSION_RATIO` times, is encrypted or compressed
                with a method that is not streamed in bounded steps.
            OSError, KeyError, zipfile.BadZipFile: it cannot be opened.
        """
        if not self.is_zip:
            path = self.path / member
            declared = os.stat(path).st_size
            if declared > MAX_FRAME_BYTES:
                raise FrameTooLarge(f"{member}: {declared} bytes; a frame holds at most {MAX_FRAME_BYTES} (not read)")
            return open(path, "rb")  # noqa: SIM115 - the caller closes it
        if self._zip is None:
            self._zip = zipfile.ZipFile(self.path)
        info = self._zip.getinfo(member)
        _check_member(info)
        return self._zip.open(info)

    def read(self, member: str) -> bytes:
        """The bytes of one frame, read as a stream of at most :data:`MAX_FRAME_BYTES` (a
        member whose declared size lies is stopped there).

        Raises:
            FrameTooLarge: the frame is refused (see :meth:`open`), or more bytes come out
                of it than the bound.
        """
        with self.open(member) as f:
            data = f.read(MAX_FRAME_BYTES + 1)
        if len(data) > MAX_FRAME_BYTES:
            raise FrameTooLarge(f"{member}: more than {MAX_FRAME_BYTES} bytes come out of it (its declared size is "
                                f"wrong); a frame holds at most that, so it was not read whole")
        return data


def _check_member(info: zipfile.ZipInfo) -> None:
    """Refuse a zip member before it is inflated (see :meth:`FrameContainer.open`)."""
    name = info.orig_filename
    if info.flag_bits & 0x1:
        raise FrameTooLarge(f"{name}: encrypted in the zip; frames must be stored or deflated without a password")
    if info.compress_type not in _STREAMED_METHODS:
        raise FrameTooLarge(f"{name}: compressed with zip method {info.compress_type}, which inflates whole blocks at "
                            "once; frames must be stored or deflated (re-zip with plain zip)")
    if info.file_size > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"{name}: inflates to {info.file_size} bytes; a frame holds at most {MAX_FRAME_BYTES} "
                            "(not inflated: a zip bomb or a damaged archive)")
    if info.file_size > 2**20 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise FrameTooLarge(f"{name}: {info.compress_size} bytes stored inflate to {info.file_size}, more than "
                            f"{MAX_COMPRESSION_RATIO} times; JPEG frames hardly compress (not inflated: a zip bomb?)")


def decode_jpeg(data: bytes, min_short_side: int | None) -> np.ndarray:
    """Decode a JPEG to RGB, letting libjpeg scale down by 1/2, 1/4 or 1/8 while decoding
    when the result keeps at least ``min_short_side`` pixels (much faster than full size)."""
    with Image.open(io.BytesIO(data)) as img:
        w, h = img.size
        if w * h > MAX_FRAME_PIXELS:
            raise FrameTooLarge(f"{w}x{h} pixels; a frame has at most {MAX_FRAME_PIXELS} (8K), so it was not decoded")
        if min_short_side:
            w, h = img.size
            scale = min_short_side / min(w, h)
            if scale < 1:
                img.draft("RGB", (int(w * scale + 0.5), int(h * scale + 0.5)))
        return np.asarray(img.convert("RGB"))


class ClipFrames:
    """The decoded frames of one clip, gaps and unreadable frames filled, sizes counted.

    Args:
        source: Where the frames are.
        run: The clip's frames by number.
        record_id: The clip's id (named in messages).
        min_short_side: Decode at a reduced scale down to this short side (JPEG draft).
    """

    def __init__(self, source: FrameContainer, run: FrameRun, record_id: str, min_short_side: int | None) -> None:
        self.source = source
        self.record_id = record_id
        self.min_short_side = min_short_side
        self.by_index = {int(i): m for i, m in run.frames}
        self.first = int(run.first)
        self.expected = int(run.expected)
        self.missing = [int(i) for i in run.missing]
        self.limit = run.max_missing * self.expected
        self.unreadable: list[tuple[str, str]] = []
        sizes = {m: source.size(m) for m in self.by_index.values()}
        counts = Counter(s for s in sizes.values() if s is not None)
        # The clip's size: the most common frame size (ties: the larger), not the first's.
        self.size: tuple[int, int] | None = max(counts, key=lambda s: (counts[s], s[0] * s[1])) if counts else None
        self.odd = {m: s for m, s in sizes.items() if s is not None and s != self.size}

    def frames(self) -> Iterator[np.ndarray]:
        """Every frame of the clip in order, ``expected`` of them."""
        last: np.ndarray | None = None
        lead = 0  # frames before the first readable one: shown as that frame
        for i in range(self.first, self.first + self.expected):
            member = self.by_index.get(i)
            image = self._read(member) if member is not None else None
            if image is None:
                if last is None:
                    lead += 1
                else:
                    yield last
                continue
            for _ in range(lead + 1):
                yield image
            lead, last = 0, image
        if last is None:
            raise MediaError(
                f"{self.record_id}: none of its {self.expected} frames can be read "
                f"(first error: {self.unreadable[0][1] if self.unreadable else 'no frames'})",
                reason="unreadable media",
            )

    def _read(self, member: str) -> np.ndarray | None:
        try:
            return decode_jpeg(self.source.read(member), self.min_short_side)
        except FRAME_ERRORS as exc:
            self.unreadable.append((member, str(exc)))
            gone = len(self.missing) + len(self.unreadable)
            if gone > self.limit:
                raise MediaError(
                    f"{self.record_id}: {gone} of {self.expected} frames missing or unreadable "
                    f"({len(self.missing)} missing, {len(self.unreadable)} unreadable, e.g. {member}: {exc}); "
                    f"limit max_missing={self.limit / self.expected if self.expected else 0:g}. "
                    f"Fix: re-extract the frames, or raise the limit (the max_missing option of the config)",
                    reason="too many missing frames",
                ) from exc
            return None

    def report(self) -> None:
        """Log what was filled or resized, with the clip's id (tagged as a per-clip message:
        ``--quiet`` holds it back)."""
        rid = self.record_id
        if self.missing:
            logger.warning("%s: %d of %d frames missing (%s%s); previous frame repeated", rid, len(self.missing),
                           self.expected, ", ".join(map(str, self.missing[:8])), ", ..." if len(self.missing) > 8 else "",
                           extra={"clip": rid})
        if self.unreadable:
            member, why = self.unreadable[0]
            logger.warning("%s: %d of %d frames unreadable, counted as missing and filled (e.g. %s: %s)",
                           rid, len(self.unreadable), self.expected, member, why, extra={"clip": rid})
        if self.odd and self.size:
            member, (w, h) = next(iter(sorted(self.odd.items())))
            logger.warning("%s: %d of %d frames not %dx%d (e.g. %s is %dx%d); resized to the clip's size",
                           rid, len(self.odd), len(self.by_index), *self.size, member, w, h, extra={"clip": rid})
