"""The split-leakage check: no YouTube video, no UCF101 group and no duplicate cluster in
two splits.

``find_leaks`` reads only the small key columns of a config's shards (through the folder
model, :class:`~dance_aggregate.output.folder.BuiltFolder`, so a column already read by
another step is not read again). Besides ``group``
and ``youtube_id``, a row and the copies listed in its ``duplicate_ids`` must share a
split (reported under the column ``duplicate_ids`` with the row's id as the value). The build calls it
for ``all`` (and the publish checks call it again before any upload); a folder with leaks
is refused with the offending keys listed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from dance_aggregate.errors import OutputError
from dance_aggregate.output.folder import BuiltFolder
from dance_aggregate.schema import decode_id_list

#: Columns whose values must never appear in two splits of a config.
LEAK_KEYS = ("group", "youtube_id")


@dataclass(frozen=True)
class Leak:
    """One key found in several splits."""

    config: str
    column: str
    value: str
    splits: tuple[str, ...]
    ids: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.config}: {self.column}={self.value!r} in splits {', '.join(self.splits)} (rows {', '.join(self.ids[:4])}{' ...' if len(self.ids) > 4 else ''})"


def find_leaks(folder: Path | BuiltFolder, config: str) -> list[Leak]:
    """Every ``group`` / ``youtube_id`` value of ``config`` that sits in two splits, and
    every row whose listed duplicates sit in another split.

    Args:
        folder: The output folder, or its model.
        config: The config to check.
    """
    seen: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    split_of: dict[str, str] = {}
    copies: dict[str, list[str]] = {}
    for split, t in BuiltFolder.of(folder).columns(config, ["id", *LEAK_KEYS, "duplicate_ids"]).items():
        ids = t.column("id").to_pylist()
        for col in LEAK_KEYS:
            for rid, v in zip(ids, t.column(col).to_pylist(), strict=True):
                if v:
                    seen[(col, v)][split].append(rid)
        for rid, dups in zip(ids, t.column("duplicate_ids").to_pylist(), strict=True):
            split_of[rid] = split
            if dups:
                copies[rid] = decode_id_list(dups) or []
    for rid, dups in sorted(copies.items()):
        for d in dups:
            if d in split_of and split_of[d] != split_of[rid]:
                seen[("duplicate_ids", rid)][split_of[rid]].append(rid)
                seen[("duplicate_ids", rid)][split_of[d]].append(d)
    leaks = []
    for (col, v), by_split in sorted(seen.items()):
        if len(by_split) > 1:
            leaks.append(
                Leak(config, col, v, tuple(sorted(by_split)), tuple(sorted(i for ids in by_split.values() for i in ids)))
            )
    return leaks


def check_no_leaks(folder: Path | BuiltFolder, config: str) -> None:
    """Raise :class:`OutputError` listing the leaks of ``config``, if any."""
    built = BuiltFolder.of(folder)
    leaks = find_leaks(built, config)
    if leaks:
        shown = "\n  ".join(str(x) for x in leaks[:20])
        more = f"\n  ... and {len(leaks) - 20} more" if len(leaks) > 20 else ""
        raise OutputError(
            f"{built.path}: split leakage in config {config!r}: {len(leaks)} key(s) in more than one split:\n  {shown}{more}\n"
            f"Rebuild the folder with `dance-aggregate build` (it assigns splits by group and duplicate cluster)."
        )
