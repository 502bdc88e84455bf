"""Perceptual hashes of clip frames, computed while a clip is encoded.

Every decoded frame becomes a grey ``GRAB_SIZE`` x ``GRAB_SIZE`` thumbnail
(:func:`thumbnail`, area-averaged, so resizing and re-encoding barely change it). The
thumbnails of each window of ``1 / HASHES_PER_SECOND`` seconds are averaged (temporal
pooling: a copy shifted by a fraction of a window still hashes alike), black bars are cut
off (:func:`strip_borders`: letterboxed copies match), and each pooled thumbnail becomes a
64-bit DCT perceptual hash of ``THUMB_SIZE`` x ``THUMB_SIZE`` (:func:`hash_thumbnails`).

``HASHES_PER_SECOND`` is 4, not 1: with one hash per second a copy shifted by a
non-integer number of seconds is compared half a second out of phase, and moving dancers
change too much in half a second (measured on the synthetic corpus of the tests: median
distance 12-16 bits at 1 Hz against 0-6 at 4 Hz for shifts of 1.3 s and 2.2 s).

Blank windows (black, flat, deep fades: almost no contrast, or dark with little detail)
get the reserved hash :data:`BLANK`, so that unrelated clips sharing a black intro or a
fade never look alike; dedup skips them. The hash of a partial fade is unchanged (the
pHash compares coefficients with their median, so it ignores overall brightness and
contrast), so a faded copy still matches its original.
"""

from __future__ import annotations

import functools

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from PIL import Image

#: Side of the grey thumbnail kept per second.
THUMB_SIZE = 32
#: Hash stored for a blank second (no usable content). Never matches anything in dedup.
BLANK = 0
#: A thumbnail whose grey-level standard deviation is below this is blank.
BLANK_STD = 6.0
#: A thumbnail darker than this mean grey level is blank when its standard deviation is
#: also below ``DARK_STD`` (compression noise and logos on black, the end of fades).
DARK_MEAN = 24.0
DARK_STD = 12.0
#: Hashes per second of video (one per window of ``1 / HASHES_PER_SECOND`` s).
HASHES_PER_SECOND = 4
#: Side of the grey thumbnail taken of every frame; black borders are found at this size,
#: then cut off before the thumbnail is reduced to ``THUMB_SIZE``.
GRAB_SIZE = 64
#: A border row or column whose brightest pixel is below this grey level is a black bar
#: (letterbox, pillarbox: luma of black is 16 in video range).
BORDER_MAX = 32.0


def thumbnail(frame: av.VideoFrame, size: int = GRAB_SIZE, scaler: VideoReformatter | None = None) -> np.ndarray:
    """Grey ``size`` x ``size`` uint8 thumbnail of a frame (area-averaged).

    Pass a ``scaler`` kept across frames: ``frame.reformat`` builds a new scaler (with
    automatic threads) for every frame, which costs more than the scaling itself. The
    pixels are the same either way.
    """
    if scaler is None:
        scaler = VideoReformatter()
    small = scaler.reformat(frame, size, size, "gray", interpolation="AREA", threads=1)
    return small.to_ndarray().reshape(size, size).astype(np.uint8)


def strip_borders(thumb: np.ndarray) -> np.ndarray:
    """Cut black bars off a grey thumbnail and reduce it to ``THUMB_SIZE`` x ``THUMB_SIZE``.

    Letterboxed or pillarboxed re-uploads then hash like the original. At most a quarter
    of each side is cut, and never from a thumbnail that is dark all over (a blank).
    """
    img = np.asarray(thumb, dtype=np.float32)
    h, w = img.shape
    rows = img.max(axis=1) < BORDER_MAX
    cols = img.max(axis=0) < BORDER_MAX
    if not rows.all():
        top = _leading(rows, h // 4)
        bottom = _leading(rows[::-1], h // 4)
        left = _leading(cols, w // 4)
        right = _leading(cols[::-1], w // 4)
        img = img[top : h - bottom, left : w - right]
    if img.shape == (THUMB_SIZE, THUMB_SIZE):
        return img
    return np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize((THUMB_SIZE, THUMB_SIZE), Image.Resampling.BOX))


def _leading(flags: np.ndarray, limit: int) -> int:
    n = int(np.argmin(flags)) if not flags.all() else len(flags)
    return min(n, limit)


@functools.lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    n = THUMB_SIZE
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


@functools.lru_cache(maxsize=1)
def _window() -> np.ndarray:
    w = np.hanning(THUMB_SIZE + 2)[1:-1].astype(np.float32)
    return np.outer(w, w)


def hash_thumbnails(thumbs: np.ndarray) -> list[int]:
    """64-bit pHash of each thumbnail (array of shape (n, THUMB_SIZE, THUMB_SIZE), any
    numeric dtype: pooled thumbnails are float).

    The thumbnail is centred and tapered by a Hann window, then the hash takes the 8x8
    lowest DCT frequencies (without the DC term's influence on the median) and sets a
    bit where a coefficient is above their median. Blank thumbnails get :data:`BLANK`.
    """
    if len(thumbs) == 0:
        return []
    x = thumbs.astype(np.float32)
    flat = x.reshape(len(x), -1)
    std = flat.std(axis=1)
    blank = (std < BLANK_STD) | ((flat.mean(axis=1) < DARK_MEAN) & (std < DARK_STD))
    # Centre and taper the thumbnail with a 2-D Hann window before the DCT: the borders,
    # which a crop removes and a rescale moves the most, then weigh little. On the
    # generated corpus this takes a 4 % crop from a median 12 bits to 4 bits away from
    # the original, while unrelated scenes stay 25-37 bits apart.
    w = _window()
    x = (x - x.mean(axis=(1, 2), keepdims=True)) * w
    d = _dct_matrix()
    # D @ X @ D.T for every thumbnail: two matrix products (an unoptimised einsum made
    # this a tenth of the CPU time of a whole 640x360 cut).
    coeffs = np.matmul(np.matmul(d, x.astype(np.float64)), d.T)[:, :8, :8].reshape(len(x), 64)
    med = np.median(coeffs[:, 1:], axis=1, keepdims=True)
    bits = coeffs > med
    weights = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)
    hashes = (bits.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    hashes[blank] = BLANK
    hashes[(~blank) & (hashes == BLANK)] = 1  # keep BLANK reserved
    return [int(h) for h in hashes]


class FrameHasher:
    """Pools the thumbnails of consecutive frames into windows and hashes each window.

    Feed every frame in order with its time in the clip (seconds from the first frame);
    :meth:`hashes` gives one hash per window of ``1 / rate`` seconds.

    Args:
        rate: Windows (hashes) per second.
    """

    def __init__(self, rate: int = HASHES_PER_SECOND) -> None:
        self.rate = rate
        self._sums: list[np.ndarray] = []
        self._counts: list[int] = []
        self._scaler = VideoReformatter()

    def add(self, frame: av.VideoFrame, t: float) -> None:
        """Add one frame shown at time ``t`` (seconds)."""
        self.add_thumbnail(thumbnail(frame, scaler=self._scaler), t)

    def add_thumbnail(self, thumb: np.ndarray, t: float) -> None:
        """Add the :func:`thumbnail` of a frame shown at time ``t`` (seconds), made
        elsewhere (a cut makes it in its decoding thread, once for all its windows)."""
        k = max(0, int(np.floor(t * self.rate + 1e-6)))
        while len(self._sums) <= k:
            self._sums.append(np.zeros((GRAB_SIZE, GRAB_SIZE), np.float32))
            self._counts.append(0)
        self._sums[k] += thumb
        self._counts[k] += 1

    def hashes(self) -> list[int]:
        """One hash per window; a window with no frame (frame rate below ``rate``)
        repeats the previous window's thumbnail."""
        pooled = []
        last = None
        for total, n in zip(self._sums, self._counts, strict=True):
            if n:
                last = total / n
            pooled.append(last if last is not None else total)
        if not pooled:
            return []
        return hash_thumbnails(np.stack([strip_borders(p) for p in pooled]))
