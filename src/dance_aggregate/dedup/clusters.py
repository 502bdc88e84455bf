"""Duplicate clusters (union-find over pairs) and the choice of the copy to keep.

The best copy of a cluster is the longest (to the second), then the one with the most
pixels, then one with audio, then the first source in the priority order the caller
passes (each source's ``dedup_priority`` in the registry), then the smallest id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field


class UnionFind:
    """Disjoint sets over ``0..n-1`` (path halving, union by size)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        """Representative of ``x``'s set."""
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        """Merge the sets of ``a`` and ``b``."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]

    def join_equal(self, values: Sequence[Hashable | None]) -> None:
        """Merge the sets of ``0..len(values)-1`` that share a value (``None`` and ``""`` are
        no value): a group id or a YouTube id joins every row that holds it."""
        first: dict[Hashable, int] = {}
        for k, v in enumerate(values):
            if v is None or v == "":
                continue
            if v in first:
                self.union(first[v], k)
            else:
                first[v] = k

    def groups(self) -> list[list[int]]:
        """Every set, as sorted member lists, ordered by smallest member."""
        out: dict[int, list[int]] = defaultdict(list)
        for x in range(len(self.parent)):
            out[self.find(x)].append(x)
        return sorted(out.values(), key=lambda g: g[0])


@dataclass
class Cluster:
    """Clips that are copies of each other.

    Attributes:
        members: Clip indices, sorted.
        keep: Index of the copy kept.
        tiers: Tiers of the pairs that joined the cluster.
        score: Lowest pair score in the cluster (1.0 for tier 1 pairs).
    """

    members: list[int]
    keep: int
    tiers: set[int] = field(default_factory=set)
    score: float = 1.0

    @property
    def tier(self) -> str:
        """``"1"``, ``"2"`` or ``"1+2"``."""
        return "+".join(str(t) for t in sorted(self.tiers))


def copy_rank(
    duration: float | None,
    width: int | None,
    height: int | None,
    has_audio: bool | None,
    source: str,
    clip_id: str,
    priority: Sequence[str] = (),
) -> tuple:
    """Sort key of a copy: the smallest is the best (longer, then higher resolution, then
    with audio, then the earlier source in ``priority``, then id). Durations are compared
    to the second, so a re-encode a few frames shorter does not beat a sharper copy."""
    prio = priority.index(source) if source in priority else len(priority)
    return (-round(duration or 0.0), -((width or 0) * (height or 0)), not bool(has_audio), prio, clip_id)


def build_clusters(n: int, pairs: Iterable, ranks: Sequence[tuple]) -> list[Cluster]:
    """Clusters of at least two clips from duplicate ``pairs`` (objects with ``i``, ``j``,
    ``tier``, ``score``); ``ranks`` are the :func:`copy_rank` keys of the ``n`` clips."""
    pairs = list(pairs)
    uf = UnionFind(n)
    for p in pairs:
        uf.union(p.i, p.j)
    by_root: dict[int, Cluster] = {}
    for members in uf.groups():
        if len(members) > 1:
            keep = min(members, key=lambda k: ranks[k])
            by_root[uf.find(members[0])] = Cluster(members, keep)
    for p in pairs:
        c = by_root[uf.find(p.i)]
        c.tiers.add(p.tier)
        c.score = min(c.score, p.score)
    return list(by_root.values())
