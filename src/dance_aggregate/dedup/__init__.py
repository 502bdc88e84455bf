"""Deduplication across and within sources, and the split rule that keeps copies together.

Dedup never decodes a clip: it works from each row's stored ``frame_hashes`` (perceptual
hashes computed while the clip was encoded, see :mod:`dance_aggregate.media.fingerprint`) and
its metadata columns, so adding a config to a folder only reads key columns again.

Modules:

- :mod:`.index`: exact multi-index hashing over 5 bands of the 64-bit hash (pigeonhole:
  two hashes within 4 bits share a band), the sub-quadratic candidate search;
- :mod:`.align`: temporal alignment score of two hash sequences (time shifts allowed);
- :mod:`.match`: tier 1 (same YouTube id, overlapping ranges) and tier 2 (same content) pairs;
- :mod:`.clusters`: union-find clusters and the best copy of each;
- :mod:`.splits`: the split rule (a cluster, a group or a YouTube id never straddles splits);
- :mod:`.combine`: the ``all`` config, ``reports/duplicates.csv`` and ``reports/all.json``;
- :mod:`.pretraining`: which rows' YouTube videos are in a model's pretraining sets.
- :mod:`.resplit`: ``--resplit``, an evaluation split of ``all`` by whole groups, stratified
  per label, pretraining overlap kept in train (its report: :mod:`dance_aggregate.output.resplit_report`).

Thresholds (each defined once, with its reasons, in its module):

- ``fingerprint.HASHES_PER_SECOND`` = 4: hashes per second of video (pooled windows);
- ``fingerprint.BLANK_STD`` = 6, ``DARK_MEAN``/``DARK_STD`` = 24/12: blank windows (hash 0);
- ``index.MAX_DISTANCE`` = 4 bits: two hashes this close make a candidate pair (exact);
- ``align.MATCH_DISTANCE`` = 10 bits: aligned hashes that agree;
- ``align.MIN_SCORE`` = 0.6: least fraction of agreeing aligned hashes;
- ``align.MIN_OVERLAP_SECONDS`` = 3 s: least common non-blank duration compared (or the
  whole shorter clip), never fewer than ``align.MIN_COMPARED`` = 4 hashes;
- ``match.MAX_OFFSETS`` = 8: most voted time offsets tried per candidate pair;
- ``match.MIN_RANGE_OVERLAP`` = 0.5: tier 1 overlap, as a fraction of the shorter range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dance_aggregate.builders import registry
from dance_aggregate.dedup import align as align_mod
from dance_aggregate.dedup import index as index_mod
from dance_aggregate.dedup import match as match_mod
from dance_aggregate.dedup.clusters import Cluster, build_clusters, copy_rank
from dance_aggregate.dedup.match import Pair, find_pairs
from dance_aggregate.dedup.splits import Move, assign_splits
from dance_aggregate.media.fingerprint import HASHES_PER_SECOND
from dance_aggregate.schema import decode_frame_hashes, decode_id_list, source_names

#: Columns dedup reads (never the media).
KEY_COLUMNS: tuple[str, ...] = (
    "id",
    "source",
    "youtube_id",
    "start_time",
    "end_time",
    "group",
    "duration",
    "width",
    "height",
    "has_audio",
    "frame_hashes",
)


@dataclass
class Analysis:
    """Duplicates and split decisions over a set of clips (indexed like the input rows).

    Attributes:
        ids: Clip ids.
        splits: Split each clip came from.
        pairs: Duplicate pairs found.
        clusters: Clusters of two or more copies.
        new_splits: Split of each clip under the split rule.
        moves: Clips whose split changed.
    """

    ids: list[str]
    splits: list[str]
    pairs: list[Pair]
    clusters: list[Cluster]
    new_splits: list[str]
    moves: list[Move] = field(default_factory=list)

    def cluster_of(self) -> dict[int, Cluster]:
        """Clip index -> its cluster (only clips that have copies)."""
        return {m: c for c in self.clusters for m in c.members}

    def summary(self) -> dict[str, Any]:
        """Counts for reports and ``stats``."""
        by_tier: dict[str, int] = {}
        for c in self.clusters:
            by_tier[c.tier] = by_tier.get(c.tier, 0) + 1
        return {
            "clips": len(self.ids),
            "pairs": len(self.pairs),
            "pairs_by_tier": {str(t): sum(1 for p in self.pairs if p.tier == t) for t in (1, 2)},
            "clusters": len(self.clusters),
            "clusters_by_tier": dict(sorted(by_tier.items())),
            "duplicates_removed": sum(len(c.members) - 1 for c in self.clusters),
            "split_moves": len(self.moves),
        }


def _source_name(v: Any) -> str:
    return source_names()[v] if isinstance(v, int) else str(v)


def _not_views_of_one_take(pairs: list[Pair], sources: list[str], groups: list[str | None]) -> list[Pair]:
    """``pairs`` without those of two views of one performance: rows of one ``group`` of a
    multi-view source (cameras filming one take at once) are never copies of each other,
    however alike their frames (a studio's plain walls, synchronised moves)."""
    multi = {s.name for s in registry.sources() if s.multi_view}
    if not multi:
        return pairs

    def views(i: int, j: int) -> bool:
        return sources[i] in multi and sources[i] == sources[j] and groups[i] is not None and groups[i] == groups[j]

    return [p for p in pairs if not views(p.i, p.j)]


def analyse(
    keys: pa.Table, splits: list[str], priority: Sequence[str] = (), train_only: Sequence[bool] | None = None
) -> Analysis:
    """Find duplicates among the rows of ``keys`` (the :data:`KEY_COLUMNS`) and apply the
    split rule; ``splits`` is each row's current split, ``priority`` the source order that
    breaks ties between equally good copies, ``train_only`` rows that must end in train
    (with every row joined to them)."""
    cols = {name: keys.column(name).to_pylist() for name in KEY_COLUMNS}
    ids = cols["id"]
    hashes = [decode_frame_hashes(h) for h in cols["frame_hashes"]]
    pairs = find_pairs(cols["youtube_id"], cols["start_time"], cols["end_time"], hashes)
    pairs = _not_views_of_one_take(pairs, [_source_name(s) for s in cols["source"]], cols["group"])
    ranks = [
        copy_rank(d, w, h, a, _source_name(s), i, priority)
        for d, w, h, a, s, i in zip(
            cols["duration"], cols["width"], cols["height"], cols["has_audio"], cols["source"], ids, strict=True
        )
    ]
    clusters = build_clusters(len(ids), pairs, ranks)
    new_splits, moves = assign_splits(ids, splits, cols["group"], cols["youtube_id"], pairs, train_only)
    return Analysis(ids, list(splits), pairs, clusters, new_splits, moves)


def split_rule_on_keys(keys: pa.Table, current: list[str]) -> tuple[Analysis, list[list[str]]]:
    """The split rule within one config, from its key columns only (no media in memory).

    Args:
        keys: The :data:`KEY_COLUMNS` plus ``duplicate_ids`` of every row.
        current: Each row's split as built.

    Returns:
        The analysis (``new_splits`` per row) and each row's ``duplicate_ids`` with the ids
        of its copies added.
    """
    result = analyse(keys.select(list(KEY_COLUMNS)), current)
    dup = [decode_id_list(d) or [] for d in keys.column("duplicate_ids").to_pylist()]
    for c in result.clusters:
        for m in c.members:
            dup[m] = sorted(set(dup[m]) | {result.ids[o] for o in c.members if o != m})
    return result, dup


def thresholds() -> dict[str, Any]:
    """The dedup thresholds in force (written into ``reports/all.json``)."""
    return {
        "index_max_distance": index_mod.MAX_DISTANCE,
        "align_match_distance": align_mod.MATCH_DISTANCE,
        "align_min_score": align_mod.MIN_SCORE,
        "align_min_overlap_seconds": align_mod.MIN_OVERLAP_SECONDS,
        "tier1_min_range_overlap": match_mod.MIN_RANGE_OVERLAP,
        "tier2_max_offsets": match_mod.MAX_OFFSETS,
        "hashes_per_second": HASHES_PER_SECOND,
    }
