"""Temporal alignment of two clips' hash sequences (tier 2 verification).

A candidate pair (two clips sharing at least one near-identical hash, found by
:mod:`~dance_aggregate.dedup.index`) is confirmed by sliding one sequence against the
other. For each offset suggested by the matching hashes (and its neighbours), the
positions where both clips have a non-blank hash are compared; the score of the offset is
the fraction of them within :data:`MATCH_DISTANCE` bits. The pair's score is the best
offset's. Two clips are the same content when the score is at least :data:`MIN_SCORE`
over at least :data:`MIN_OVERLAP_SECONDS` of common non-blank video (or the whole of the
shorter clip, when it is shorter than that).

Why these numbers (measured on the generated corpus of ``tests/test_dedup.py``, hashes at
4 per second): re-encodes, resizes, exact copies, time shifts of 1.3-3.1 s, crops of
3-8 % per side and letterboxed or pillarboxed copies all score 1.0 at 10 bits; the same
background with a different dancer's motion, clips sharing a black intro, non-overlapping
segments of one video and unrelated clips score at most 0.27. On real footage (the
Kinetics-style ``demo.mp4`` and ``flipping_a_pancake.mkv`` of the project's shared media):
re-encodes at CRF 40, half-size copies and 5 % crops score 0.93-1.0 and shifts of 1.3 s
and 2.6 s 0.76-1.0, while non-overlapping segments of one video share at most a few
hashes within 4 bits (rarely candidates, and then rejected) and different videos score 0.
0.6 sits between the two groups. ``tests/test_dedup.py`` checks the same on the real
``test.avi``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from dance_aggregate.dedup.index import hamming
from dance_aggregate.media.fingerprint import BLANK, HASHES_PER_SECOND

#: Two aligned hashes agree when within this many bits (looser than the index's
#: candidate threshold: crops and time shifts move hashes by 5-10 bits).
MATCH_DISTANCE = 10
#: Least fraction of agreeing aligned positions for two clips to be the same content.
MIN_SCORE = 0.6
#: Least common non-blank duration (seconds) compared, unless a clip is shorter.
MIN_OVERLAP_SECONDS = 3.0
#: Never decide on fewer compared positions than this (a clip that is almost all blank).
MIN_COMPARED = 4
#: Offsets tried around each offset suggested by a matching hash.
OFFSET_SLACK = 1


@dataclass(frozen=True)
class Alignment:
    """The best alignment of two hash sequences.

    Attributes:
        score: Fraction of compared positions that agree (0 to 1).
        offset: Position in ``b`` of position 0 of ``a``.
        compared: Number of positions compared (both non-blank).
    """

    score: float
    offset: int
    compared: int

    @property
    def seconds(self) -> float:
        """Compared duration in seconds."""
        return self.compared / HASHES_PER_SECOND


def required_overlap(a: np.ndarray, b: np.ndarray) -> int:
    """Positions two clips must have in common (both non-blank) to be compared: the
    :data:`MIN_OVERLAP_SECONDS`, or all the usable positions of the shorter clip, but
    never fewer than :data:`MIN_COMPARED`."""
    usable = min(int((np.asarray(a) != BLANK).sum()), int((np.asarray(b) != BLANK).sum()))
    return max(MIN_COMPARED, min(int(MIN_OVERLAP_SECONDS * HASHES_PER_SECOND), usable))


def align(a: np.ndarray, b: np.ndarray, offsets: Iterable[int], slack: int = OFFSET_SLACK, min_compared: int = 1) -> Alignment:
    """Best alignment of ``a`` against ``b`` over ``offsets`` (each widened by ``slack``).

    Args:
        a: ``uint64`` hashes of the first clip.
        b: ``uint64`` hashes of the second clip.
        offsets: Candidate offsets (``j - i`` of matching hashes ``a[i] ~ b[j]``).
        slack: Also try each offset +- this many positions.
        min_compared: Ignore offsets where fewer positions are compared (a perfect score
            over a sliver of overlap must not beat a long, slightly noisier alignment).
    """
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    tried = sorted({o + s for o in offsets for s in range(-slack, slack + 1)})
    best = Alignment(0.0, 0, 0)
    for off in tried:
        i0 = max(0, -off)
        i1 = min(len(a), len(b) - off)
        if i1 <= i0:
            continue
        x = a[i0:i1]
        y = b[i0 + off : i1 + off]
        both = (x != BLANK) & (y != BLANK)
        n = int(both.sum())
        if not n or n < min_compared:
            continue
        score = float((hamming(x[both], y[both]) <= MATCH_DISTANCE).mean())
        if (score, n) > (best.score, best.compared):
            best = Alignment(score, off, n)
    return best


def is_same_content(alignment: Alignment, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether an alignment makes two clips the same content (see the module thresholds)."""
    return alignment.compared >= required_overlap(a, b) and alignment.score >= MIN_SCORE
