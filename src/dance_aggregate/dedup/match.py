"""Finding duplicate pairs among clips: tier 1 (same video) and tier 2 (same content).

Both tiers read only metadata columns and the stored ``frame_hashes``; no clip is decoded.

- **Tier 1, same video**: the same ``youtube_id`` and time ranges that overlap by at least
  :data:`MIN_RANGE_OVERLAP` of the shorter clip. A clip whose range is unknown is never a
  tier-1 pair (overlap cannot be shown, and merging every segment of a video would lose
  clips); tier 2 still finds it if it is a copy, and the split rule keeps every clip of a
  video in one split anyway. Clips are grouped by ``youtube_id`` first (a hash join), so
  only clips of one video are compared.
- **Tier 2, same content**: every non-blank hash goes into the multi-index
  (:func:`~dance_aggregate.dedup.index.near_pairs`, Hamming distance
  ``<= MAX_DISTANCE``); two clips sharing at least one such hash are a candidate pair,
  confirmed by temporal alignment (:mod:`~dance_aggregate.dedup.align`) at the offsets the
  shared hashes suggest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dance_aggregate.dedup.align import align, is_same_content, required_overlap
from dance_aggregate.dedup.index import MAX_DISTANCE, near_pairs
from dance_aggregate.media.fingerprint import BLANK

#: Tier 1: least overlap of two time ranges of one video, as a fraction of the shorter.
MIN_RANGE_OVERLAP = 0.5
#: Tier 2: offsets tried per candidate pair, the most voted by its matching hashes.
MAX_OFFSETS = 8


@dataclass(frozen=True)
class Pair:
    """Two clips found to be copies of each other.

    Attributes:
        i: Index of the first clip (``i < j``).
        j: Index of the second clip.
        tier: 1 (same YouTube video, overlapping ranges) or 2 (same frames).
        score: 1.0 for tier 1; the alignment score for tier 2.
    """

    i: int
    j: int
    tier: int
    score: float


def ranges_overlap(a: tuple[float | None, float | None], b: tuple[float | None, float | None]) -> bool:
    """Whether two ``(start, end)`` ranges of one video overlap enough (never when a range
    is unknown)."""
    if None in a or None in b:
        return False
    (s1, e1), (s2, e2) = a, b
    inter = min(e1, e2) - max(s1, s2)
    shorter = min(e1 - s1, e2 - s2)
    if shorter <= 0:
        return inter >= 0
    return inter >= MIN_RANGE_OVERLAP * shorter


def tier1_pairs(
    youtube_ids: Sequence[str | None],
    starts: Sequence[float | None],
    ends: Sequence[float | None],
) -> list[Pair]:
    """Pairs of clips of the same YouTube video with overlapping time ranges."""
    by_video: dict[str, list[int]] = defaultdict(list)
    for k, y in enumerate(youtube_ids):
        if y:
            by_video[y].append(k)
    out = []
    for members in by_video.values():
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                i, j = members[x], members[y]
                if ranges_overlap((starts[i], ends[i]), (starts[j], ends[j])):
                    out.append(Pair(i, j, 1, 1.0))
    return out


def tier2_pairs(hashes: Sequence[Sequence[int]], max_distance: int = MAX_DISTANCE) -> list[Pair]:
    """Pairs of clips whose hash sequences align (see :mod:`~dance_aggregate.dedup.align`).

    Args:
        hashes: Per clip, its ``frame_hashes``.
        max_distance: Candidate threshold of the index.
    """
    seqs = [np.asarray(h if h is not None else [], dtype=np.uint64) for h in hashes]
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    if lengths.sum() == 0:
        return []
    flat = np.concatenate(seqs)
    clip = np.repeat(np.arange(len(seqs)), lengths)
    pos = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    keep = flat != np.uint64(BLANK)
    flat, clip, pos = flat[keep], clip[keep], pos[keep]
    a, b, _ = near_pairs(flat, max_distance)
    ca, cb = clip[a], clip[b]
    other = ca != cb
    a, b, ca, cb = a[other], b[other], ca[other], cb[other]
    swap = ca > cb
    lo = np.where(swap, cb, ca).astype(np.int64)
    hi = np.where(swap, ca, cb).astype(np.int64)
    off = np.where(swap, pos[a] - pos[b], pos[b] - pos[a]).astype(np.int64)
    out = []
    for i, j, offs in _voted_offsets(lo, hi, off, len(seqs)):
        al = align(seqs[i], seqs[j], offs, min_compared=required_overlap(seqs[i], seqs[j]))
        if is_same_content(al, seqs[i], seqs[j]):
            out.append(Pair(i, j, 2, round(al.score, 4)))
    return out


def _voted_offsets(lo: np.ndarray, hi: np.ndarray, off: np.ndarray, n: int) -> list[tuple[int, int, list[int]]]:
    """Candidate clip pairs with their most voted offsets (at most :data:`MAX_OFFSETS`):
    a true copy's matching hashes agree on one offset, so its offset collects the votes."""
    if not len(lo):
        return []
    pair = lo * n + hi
    order = np.lexsort((off, pair))
    pair, off = pair[order], off[order]
    # Votes per (pair, offset).
    new_run = np.ones(len(pair), bool)
    new_run[1:] = (pair[1:] != pair[:-1]) | (off[1:] != off[:-1])
    starts = np.flatnonzero(new_run)
    votes = np.diff(np.append(starts, len(pair)))
    upair, uoff = pair[starts], off[starts]
    # Most voted first within each pair.
    order = np.lexsort((-votes, upair))
    upair, uoff = upair[order], uoff[order]
    bounds = np.flatnonzero(np.diff(upair)) + 1
    out = []
    for chunk_pair, chunk_off in zip(np.split(upair, bounds), np.split(uoff, bounds), strict=True):
        p = int(chunk_pair[0])
        out.append((p // n, p % n, chunk_off[:MAX_OFFSETS].tolist()))
    return out


def find_pairs(
    youtube_ids: Sequence[str | None],
    starts: Sequence[float | None],
    ends: Sequence[float | None],
    hashes: Sequence[Sequence[int]],
) -> list[Pair]:
    """Tier 1 and tier 2 pairs; a pair found by both tiers is reported as tier 1."""
    t1 = tier1_pairs(youtube_ids, starts, ends)
    seen = {(p.i, p.j) for p in t1}
    return t1 + [p for p in tier2_pairs(hashes) if (p.i, p.j) not in seen]
