"""``--resplit``: an evaluation split of the ``all`` config made for the aggregate itself.

The official splits of the sources are kept in their own configs (they are what published
numbers use), but as a benchmark of the aggregate they are poor: most Kinetics-600 dance
validation clips are Kinetics-400 videos, ActivityNet gives several windows per video, and
Let's Dance has no official split. :func:`resplit` assigns every row of ``all`` a new split:

1. **Groups.** Rows sharing a ``group`` (a video, a UCF101 group, a performance), a
   ``youtube_id`` or a dedup cluster are joined (union-find, the joining of the split rule
   in :mod:`.splits`); a joined component is a *group* here and moves as a whole.
2. **Pretraining.** A group holding any row whose YouTube video is in a pretraining set
   stays in train with all its rows (it is counted, per label, as kept in train).
3. **One label per group.** A group's label is the label most of its (kept) rows carry;
   a tie goes to the rarest label (the one in the fewest groups), then the first by name.
   Rows are still counted under their own label in the report.
4. **Quotas per label.** For a label with ``n`` groups (pretraining ones included), test
   gets ``round(test * n)`` groups and validation ``round(validation * n)`` (half up),
   at least one each when ``n >= 3`` (:data:`MIN_GROUPS`) and its fraction is not 0. Only
   eligible groups (no pretraining row) can go; when they are too few, the quotas shrink
   (the larger one first), and train always keeps one group of every label: its
   eligible groups can all leave only when a pretraining group stays.
5. **Which groups.** Each group has a key: the smallest, over its rows, of a 64-bit hash of
   ``(seed, unit)``, where a row's unit is its ``group`` (else its YouTube id, else its id).
   A label's eligible groups are sorted by key; test takes the lowest keys, validation the
   highest, train the middle.

Why it is stable: a group's key depends only on the units in it, so rows that join a group
without bringing a new ``group`` (another window of the same video, another source's clip
of it) leave its key alone, and the key never depends on the order of rows or on other
groups. Taking the lowest keys for test works like a threshold on the hash that moves a
little as a label grows; only groups near that threshold change split when a source is
added (``docs/balance.md`` has the measured figures). Test and validation sit at opposite
ends, so each boundary moves on its own, and changing the validation fraction never
changes the test set.

Tolerance: when the eligible groups suffice, a label's achieved group fraction is within
``1 / (2 n)`` of the asked fraction (rounding), or within ``1 / n`` where the at-least-one
rule lifts a share that would round to 0.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dance_aggregate.dedup.clusters import UnionFind
from dance_aggregate.errors import ConfigError
from dance_aggregate.output.resplit_report import LabelResplit, ResplitReport
from dance_aggregate.schema import SPLITS

if TYPE_CHECKING:
    import pyarrow as pa

    from dance_aggregate.dedup import Analysis

__all__ = [
    "MIN_GROUPS",
    "LabelResplit",
    "ResplitOptions",
    "ResplitReport",
    "group_keys",
    "join_groups",
    "quotas",
    "resplit",
    "resplit_keys",
]

#: A label with at least this many groups gets at least one in validation and one in test.
MIN_GROUPS = 3
TRAIN, VALIDATION, TEST = SPLITS


@dataclass(frozen=True)
class ResplitOptions:
    """What ``--resplit VAL,TEST --seed N`` asks for.

    Attributes:
        validation: Fraction of each label's groups for validation.
        test: Fraction of each label's groups for test.
        seed: Seed of the group hash (another seed, another draw of the same sizes).
    """

    validation: float
    test: float
    seed: int = 0

    def __post_init__(self) -> None:
        for name, value in (("validation", self.validation), ("test", self.test)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"--resplit: the {name} fraction is {value!r}; give a number in [0, 1). Fix: --resplit 0.1,0.1")
        if self.validation + self.test >= 1:
            raise ConfigError(
                f"--resplit {self.validation},{self.test}: validation + test = {self.validation + self.test:g} leaves "
                f"nothing for train; keep the sum below 1. Fix: --resplit 0.1,0.1"
            )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"--seed {self.seed!r}: give a whole number. Fix: --seed 0")

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> ResplitOptions:
        """Options from the ``VAL,TEST`` text of ``--resplit`` (``"0.1,0.1"``).

        Raises:
            ConfigError: when the text is not two fractions, or they leave nothing for train.
        """
        parts = [p.strip() for p in str(text).split(",")]
        try:
            if len(parts) != 2:
                raise ValueError
            validation, test = (float(p) for p in parts)
        except ValueError:
            raise ConfigError(f"--resplit {text!r}: expected two fractions VAL,TEST. Fix: --resplit 0.1,0.1") from None
        return cls(validation, test, seed)

    def to_dict(self) -> dict[str, float | int]:
        """JSON-able form."""
        return {"validation": self.validation, "test": self.test, "seed": self.seed}


def join_groups(*columns: Sequence[Hashable | None]) -> list[int]:
    """Group index of each row: rows sharing a non-empty value of any column are joined.

    Values are compared within a column only (a ``group`` never joins a ``youtube_id`` of the
    same text), as in the split rule. Groups are numbered by their first row.

    Raises:
        ValueError: when the columns differ in length.
    """
    n = len(columns[0]) if columns else 0
    if any(len(c) != n for c in columns):
        raise ValueError(f"join_groups: columns of different lengths {[len(c) for c in columns]}; give one value per row")
    uf = UnionFind(n)
    for column in columns:
        uf.join_equal(column)
    number: dict[int, int] = {}
    return [number.setdefault(uf.find(k), len(number)) for k in range(n)]


def _unit_hash(seed: int, unit: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}\0{unit}".encode(), digest_size=8).digest(), "big")


def group_keys(
    ids: Sequence[str], groups: Sequence[str | None], youtube_ids: Sequence[str | None], of_row: Sequence[int], seed: int
) -> list[tuple[int, str]]:
    """Sort key of each group (indexed by group number): the smallest ``(hash, unit)`` of its
    rows, where a row's unit is ``group:<group>``, else ``youtube_id:<id>``, else ``id:<id>``."""
    keys: dict[int, tuple[int, str]] = {}
    hashed: dict[str, int] = {}  # rows of one video share their unit: hash it once
    for rid, g, y, c in zip(ids, groups, youtube_ids, of_row, strict=True):
        unit = f"group:{g}" if g else f"youtube_id:{y}" if y else f"id:{rid}"
        if unit not in hashed:
            hashed[unit] = _unit_hash(seed, unit)
        key = (hashed[unit], unit)
        if c not in keys or key < keys[c]:
            keys[c] = key
    return [keys[c] for c in range(len(keys))]


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def quotas(n: int, eligible: int, pinned: int, options: ResplitOptions) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((validation, test) asked, (validation, test) given)`` groups of a label with ``n``
    groups, ``eligible`` of them free to move and ``pinned`` kept in train (pretraining).

    Asked: the rounded shares of ``n``, at least one each when ``n >= MIN_GROUPS``. Given:
    the asked counts cut (the larger first; on a tie the one further above its exact share,
    then validation) until they fit the eligible groups, leaving one group of the label in
    train when no pinned group stays there.
    """
    v = _round(options.validation * n)
    t = _round(options.test * n)
    if n >= MIN_GROUPS:
        v = max(v, 1) if options.validation > 0 else v
        t = max(t, 1) if options.test > 0 else t
    asked = (v, t)
    room = eligible if pinned else max(eligible - 1, 0)
    while v + t > room:
        if t > v or (t == v and t - options.test * n > v - options.validation * n):
            t -= 1
        else:
            v -= 1
    return asked, (v, t)


def _primary_labels(members: list[list[int]], labels: Sequence[str], kept: Sequence[bool]) -> list[str | None]:
    """The label of each group (see the module docstring); ``None`` for a group of no kept row."""
    counts = [Counter(labels[k] for k in rows if kept[k]) for rows in members]
    spread = Counter(label for c in counts for label in c)
    return [min(c, key=lambda x: (-c[x], spread[x], x)) if c else None for c in counts]


def resplit(
    ids: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[str | None],
    youtube_ids: Sequence[str | None],
    options: ResplitOptions,
    *,
    clusters: Sequence[Hashable | None] | None = None,
    pretraining: Sequence[bool] | None = None,
    kept: Sequence[bool] | None = None,
) -> tuple[list[str], ResplitReport]:
    """The new split of every row, and the report of what was done per label.

    Args:
        ids: Row ids (unique).
        labels: Each row's canonical label.
        groups: Each row's ``group`` (``None``: none).
        youtube_ids: Each row's ``youtube_id`` (``None``: unknown).
        options: Fractions and seed.
        clusters: Each row's dedup cluster (any value shared by the copies of one cluster;
            ``None``: no copies). Cluster numbers need not be stable between builds: they
            only join rows, they never enter a group's key.
        pretraining: Rows whose YouTube video is in a pretraining set (their group stays in
            train). ``None``: no row.
        kept: Rows that will be in the output; the others (removed duplicate copies) join
            groups and pull them into train like any row, but are not counted in the quotas
            or the report. ``None``: every row.

    Returns:
        The split of each row (``train``, ``validation`` or ``test``) and the report.

    Raises:
        ValueError: when the sequences differ in length, an id is repeated or a label is
            empty.
    """
    n = len(ids)
    pretraining = [False] * n if pretraining is None else pretraining
    kept = [True] * n if kept is None else kept
    clusters = [None] * n if clusters is None else clusters
    columns = {
        "labels": labels,
        "groups": groups,
        "youtube_ids": youtube_ids,
        "clusters": clusters,
        "pretraining": pretraining,
        "kept": kept,
    }
    for name, column in columns.items():
        if len(column) != n:
            raise ValueError(f"resplit: {name} has {len(column)} values for {n} ids; give one per row")
    repeated = [i for i, c in Counter(ids).items() if c > 1]
    if repeated:
        raise ValueError(f"resplit: ids must be unique; {len(repeated)} repeated, e.g. {repeated[:3]}")
    empty = [ids[k] for k in range(n) if not labels[k]]
    if empty:
        raise ValueError(f"resplit: {len(empty)} rows have no label, e.g. {empty[:3]}; every row of all has one")

    of_row = join_groups(groups, youtube_ids, clusters)
    members: list[list[int]] = [[] for _ in range(max(of_row, default=-1) + 1)]
    for k, c in enumerate(of_row):
        members[c].append(k)
    key = group_keys(ids, groups, youtube_ids, of_row, options.seed)
    primary = _primary_labels(members, labels, kept)
    pinned = [any(pretraining[k] for k in rows) for rows in members]

    by_label: dict[str, list[int]] = defaultdict(list)
    for c, label in enumerate(primary):
        if label is not None:
            by_label[label].append(c)
    split_of = [TRAIN] * len(members)
    plans: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
    for label, comps in by_label.items():
        free = sorted((c for c in comps if not pinned[c]), key=lambda c: key[c])
        plans[label] = quotas(len(comps), len(free), len(comps) - len(free), options)
        v, t = plans[label][1]
        for c in free[:t]:
            split_of[c] = TEST
        for c in free[len(free) - v :] if v else ():
            split_of[c] = VALIDATION
    splits = [split_of[c] for c in of_row]
    return splits, _report(members, labels, kept, primary, pinned, split_of, plans, options)


def resplit_keys(
    keys: pa.Table, analysis: Analysis, keep: Sequence[bool], options: ResplitOptions
) -> tuple[list[str], ResplitReport]:
    """:func:`resplit` over what :func:`~dance_aggregate.dedup.combine.build_all` holds: the key
    columns of every input row (``id``, ``label``, ``group``, ``youtube_id`` and
    ``pretraining_overlap``; removed copies included), the dedup analysis of those rows, and
    which rows are kept. Rows whose ``pretraining_overlap`` names a set keep their group in
    train; the clusters of the analysis join their members.

    Returns:
        The split of every input row (removed copies get their group's) and the report
        (counting kept rows only).
    """
    from dance_aggregate.schema import features

    names = features()["label"].names
    labels = [names[v] if isinstance(v, int) else v for v in keys.column("label").to_pylist()]
    cluster = [None] * keys.num_rows
    for number, c in enumerate(analysis.clusters):
        for m in c.members:
            cluster[m] = number
    return resplit(
        keys.column("id").to_pylist(),
        labels,
        keys.column("group").to_pylist(),
        keys.column("youtube_id").to_pylist(),
        options,
        clusters=cluster,
        pretraining=[bool(v) for v in keys.column("pretraining_overlap").to_pylist()],
        kept=keep,
    )


def _report(
    members: list[list[int]],
    labels: Sequence[str],
    kept: Sequence[bool],
    primary: list[str | None],
    pinned: list[bool],
    split_of: list[str],
    plans: dict[str, tuple[tuple[int, int], tuple[int, int]]],
    options: ResplitOptions,
) -> ResplitReport:
    per: dict[str, LabelResplit] = {label: LabelResplit(label) for label in {labels[k] for k in range(len(labels)) if kept[k]}}
    for c, rows in enumerate(members):
        split = split_of[c]
        if primary[c] is not None:
            entry = per[primary[c]]
            entry.groups[split] += 1
            entry.mixed_groups += any(kept[k] and labels[k] != primary[c] for k in rows)
            if pinned[c]:
                entry.pretraining_groups += 1
        for k in rows:
            if kept[k]:
                per[labels[k]].rows[split] += 1
                per[labels[k]].pretraining_rows += pinned[c]
                per[labels[k]].rows_in_other_groups += labels[k] != primary[c]
    for label, ((av, at), (gv, gt)) in plans.items():
        per[label].asked = {VALIDATION: av, TEST: at}
        per[label].note = _note(per[label], (av, at), (gv, gt), options)
    for entry in per.values():
        if not entry.total_groups:
            entry.note = "no group of its own: every row of it sits in a group of another label"
    unkept = sum(1 for p in primary if p is None)
    return ResplitReport(options.to_dict(), sorted(per.values(), key=lambda e: e.label), unkept_groups=unkept)


def _note(entry: LabelResplit, asked: tuple[int, int], given: tuple[int, int], options: ResplitOptions) -> str:
    """Why a label got fewer evaluation groups than its share (empty when it got them)."""
    n = entry.total_groups
    if given != asked:
        eligible = n - entry.pretraining_groups
        why = f"{entry.pretraining_groups} of {n} groups overlap pretraining; " if entry.pretraining_groups else ""
        return (
            f"{why}{eligible} eligible, so validation/test got {given[0]}/{given[1]} of the asked "
            f"{asked[0]}/{asked[1]} (train keeps one group of every label)"
        )
    short = (options.validation > 0 and not given[0]) or (options.test > 0 and not given[1])
    if n < MIN_GROUPS and short:
        return (
            f"only {n} group{'s' if n != 1 else ''} (fewer than {MIN_GROUPS}): validation/test got "
            f"{given[0]}/{given[1]}, the rest stays in train"
        )
    return ""
