"""Per-second perceptual hashes of clip frames, computed while a clip is encoded.

One grey ``THUMB_SIZE`` x ``THUMB_SIZE`` thumbnail is taken per second of video
(:func:`thumbnail`), and each becomes a 64-bit DCT perceptual hash
(:func:`hash_thumbnails`). Blank frames (black, flat, fades: almost no contrast) get the
reserved hash :data:`BLANK`, so that unrelated clips sharing a black intro never look
alike; dedup skips them.
"""

from __future__ import annotations

import functools

import av
import numpy as np

#: Side of the grey thumbnail kept per second.
THUMB_SIZE = 32
#: Hash stored for a blank second (no usable content). Never matches anything in dedup.
BLANK = 0
#: A thumbnail whose grey-level standard deviation is below this is blank.
BLANK_STD = 6.0


def thumbnail(frame: av.VideoFrame) -> np.ndarray:
    """Grey ``THUMB_SIZE`` x ``THUMB_SIZE`` uint8 thumbnail of a frame (area-averaged)."""
    small = frame.reformat(width=THUMB_SIZE, height=THUMB_SIZE, format="gray", interpolation="AREA")
    return small.to_ndarray().reshape(THUMB_SIZE, THUMB_SIZE).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    n = THUMB_SIZE
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


def hash_thumbnails(thumbs: np.ndarray) -> list[int]:
    """64-bit pHash of each thumbnail (array of shape (n, THUMB_SIZE, THUMB_SIZE)).

    The hash takes the 8x8 lowest DCT frequencies (without the DC term's influence on
    the median) and sets a bit where a coefficient is above their median. Blank
    thumbnails get :data:`BLANK`.
    """
    if len(thumbs) == 0:
        return []
    x = thumbs.astype(np.float32)
    d = _dct_matrix()
    coeffs = np.einsum("ij,njk,lk->nil", d, x, d)[:, :8, :8].reshape(len(x), 64)
    med = np.median(coeffs[:, 1:], axis=1, keepdims=True)
    bits = coeffs > med
    weights = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)
    hashes = (bits.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    blank = x.reshape(len(x), -1).std(axis=1) < BLANK_STD
    hashes[blank] = BLANK
    hashes[(~blank) & (hashes == BLANK)] = 1  # keep BLANK reserved
    return [int(h) for h in hashes]
