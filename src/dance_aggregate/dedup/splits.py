"""The split rule: a duplicate cluster or a group never straddles splits.

Clips are joined when they are duplicates (a cluster), share a ``group`` (a UCF101 group,
otherwise the YouTube id) or share a ``youtube_id``. Every clip of a joined component goes
to the most held-out split any of its members had: test before validation before train.
So when any member is in validation or test, no member is in train, and nothing that was
held out ever moves into train, with one exception asked for explicitly: clips marked
``train_only`` (their YouTube video is in a model's pretraining set, see
:mod:`.pretraining`) pull their whole joined set into train.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dance_aggregate.dedup.clusters import UnionFind

#: Most held-out first.
SPLIT_ORDER: tuple[str, ...] = ("test", "validation", "train")


@dataclass(frozen=True)
class Move:
    """A clip moved to another split by the rule."""

    id: str
    old: str
    new: str
    because: str

    def to_dict(self) -> dict[str, str]:
        """JSON-able form."""
        return {"id": self.id, "from": self.old, "to": self.new, "because": self.because}


def _held_out_rank(split: str) -> int:
    return SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER)


def assign_splits(
    ids: Sequence[str],
    splits: Sequence[str],
    groups: Sequence[str | None],
    youtube_ids: Sequence[str | None],
    pairs: Iterable,
    train_only: Sequence[bool] | None = None,
) -> tuple[list[str], list[Move]]:
    """New split of every clip under the rule.

    Args:
        ids: Clip ids.
        splits: Current split of each clip.
        groups: ``group`` of each clip (``None`` = none).
        youtube_ids: ``youtube_id`` of each clip (``None`` = unknown).
        pairs: Duplicate pairs (objects with ``i`` and ``j``).
        train_only: Clips that must end in train, with every clip joined to them (the
            move names the clip that pulled, ``<id> (pretraining overlap)``).

    Returns:
        The split of each clip, and the moves made (with the member that pulled it).
    """
    n = len(ids)
    uf = UnionFind(n)
    for p in pairs:
        uf.union(p.i, p.j)
    for keys in (groups, youtube_ids):
        uf.join_equal(keys)
    best: dict[int, int] = {}
    for k in range(n):
        r = uf.find(k)
        if r not in best or (_held_out_rank(splits[k]), ids[k]) < (_held_out_rank(splits[best[r]]), ids[best[r]]):
            best[r] = k
    pinned: dict[int, int] = {}
    for k in range(n):
        if train_only is not None and train_only[k]:
            pinned.setdefault(uf.find(k), k)
    out = []
    moves = []
    for k in range(n):
        root = uf.find(k)
        if root in pinned:
            new = "train"
            if new != splits[k]:
                moves.append(Move(ids[k], splits[k], new, f"{ids[pinned[root]]} (pretraining overlap)"))
            out.append(new)
            continue
        src = best[root]
        new = splits[src]
        out.append(new)
        if new != splits[k]:
            moves.append(Move(ids[k], splits[k], new, ids[src]))
    return out, moves
