#!/usr/bin/env python3
"""``--resplit`` measured on the real annotation files: the per-label table of ``docs/balance.md``.

    python scripts/resplit_real.py --kinetics DIR --activitynet DIR --letsdance-list FILE \\
        --pretraining-ids k400_val=FILE [--resplit 0.1,0.1] [--seed 0] [--stability]

Plans every source with its own builder (``plan()``: annotation files only, no media, nothing
downloaded): Kinetics-600 from the folder of its CSVs (``kinetics-600_val.csv``), ActivityNet
from the BSN copy or the official JSON (default window cap, 3), Let's Dance from its clip list
(``class<TAB><youtube_id>_<start><TAB>frames``, e.g. ``all_videos_complete.csv``): its builder
plans from frame names, so the script writes one empty ``<class>/<clip>_0001.jpg`` per listed
clip in a temporary folder (the builder's own hash split, as in a default build; frame counts
are not used here). Each row's ``pretraining_overlap`` comes from the id files as in a build
with ``--pretraining-ids``.

The rows then go through what ``build_all`` does with its key columns: the dedup analysis
(tier 1 only: same YouTube id and overlapping times, since there are no frame hashes without
media; the best copy is the longest, then by source priority) with the official splits and
``--pretraining-to-train``, then :func:`~dance_aggregate.dedup.resplit.resplit_keys`. It prints
the resplit's per-label table (Markdown), the official evaluation rows per label for
comparison, and with ``--stability`` the share of groups whose split changes when each source
is added last.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow as pa

from dance_aggregate.builders import registry
from dance_aggregate.dedup import analyse
from dance_aggregate.dedup.pretraining import load_pretraining_sets, overlap_column
from dance_aggregate.dedup.resplit import ResplitOptions, resplit_keys
from dance_aggregate.records import ClipRecord


def letsdance_records(clip_list: Path) -> list[ClipRecord]:
    """Let's Dance planned by its builder from one empty frame per clip of ``clip_list``."""
    with tempfile.TemporaryDirectory(prefix="letsdance-names-") as tmp:
        for line in clip_list.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0].strip():
                folder = Path(tmp) / parts[0].strip()
                folder.mkdir(exist_ok=True)
                (folder / f"{parts[1].strip()}_0001.jpg").touch()
        return registry.get_config("letsdance").builder(tmp).plan().records


def dedup_priority() -> tuple[str, ...]:
    """The sources' dedup priority (a function of the plug-in registry, a constant before it)."""
    return registry.dedup_priority() if hasattr(registry, "dedup_priority") else registry.DEDUP_PRIORITY


def plan_all(args: argparse.Namespace) -> list[ClipRecord]:
    """Records of every source given, in a fixed order."""
    records: list[ClipRecord] = []
    if args.kinetics:
        records += registry.get_config("kinetics600").builder(args.kinetics).plan().records
    if args.activitynet:
        records += registry.get_config("activitynet").builder(args.activitynet).plan().records
    if args.letsdance_list:
        records += letsdance_records(Path(args.letsdance_list))
    return records


def key_table(records: list[ClipRecord], overlap: list[list[str] | None]) -> pa.Table:
    """The key columns ``build_all`` reads, from plans (no media: no frame hashes, no sizes)."""
    return pa.table(
        {
            "id": [r.id for r in records],
            "source": [r.source for r in records],
            "youtube_id": [r.youtube_id for r in records],
            "start_time": [r.start_time for r in records],
            "end_time": [r.end_time for r in records],
            "group": [r.group for r in records],
            "duration": [None if r.start_time is None or r.end_time is None else r.end_time - r.start_time for r in records],
            "width": pa.nulls(len(records), pa.int32()),
            "height": pa.nulls(len(records), pa.int32()),
            "has_audio": pa.nulls(len(records), pa.bool_()),
            "frame_hashes": [[] for _ in records],
            "label": [r.label for r in records],
            "pretraining_overlap": pa.array(overlap, pa.list_(pa.string())),
        }
    )


def run(records: list[ClipRecord], sets: list, options: ResplitOptions):
    """(keys, analysis with official splits and --pretraining-to-train, kept mask, resplit, report)."""
    overlap = overlap_column([r.youtube_id for r in records], sets)
    keys = key_table(records, overlap)
    analysis = analyse(keys, [r.split for r in records], dedup_priority(), [bool(v) for v in overlap])
    of = analysis.cluster_of()
    keep = [k not in of or of[k].keep == k for k in range(len(records))]
    splits, report = resplit_keys(keys, analysis, keep, options)
    return keys, analysis, keep, splits, report


def official_table(records: list[ClipRecord], analysis, keep: list[bool]) -> str:
    """Rows (videos) per label in validation and test of ``all`` under the official splits with
    ``--pretraining-to-train``."""
    rows: Counter[tuple[str, str]] = Counter()
    videos: dict[tuple[str, str], set[str]] = {}
    for r, s, k in zip(records, analysis.new_splits, keep, strict=True):
        if k:
            rows[(r.label, s)] += 1
            videos.setdefault((r.label, s), set()).add(r.group)
    lines = ["| label | validation rows (groups) | test rows (groups) |", "| --- | ---: | ---: |"]
    for label in sorted({r.label for r in records}):
        cells = [f"{rows[(label, s)]} ({len(videos.get((label, s), ()))})" for s in ("validation", "test")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    total = [sum(n for (_, s2), n in rows.items() if s2 == s) for s in ("validation", "test")]
    lines.append(f"| **total** | {total[0]} | {total[1]} |")
    return "\n".join(lines)


def stability(records: list[ClipRecord], sets: list, options: ResplitOptions) -> list[str]:
    """For each source: the share of the other sources' groups whose split changes when it is added."""
    *_, splits_all, _ = run(records, sets, options)
    by_id = dict(zip((r.id for r in records), splits_all, strict=True))
    out = []
    for source in sorted({r.source for r in records}):
        rest = [r for r in records if r.source != source]
        *_, splits_rest, _ = run(rest, sets, options)
        groups = {r.group: (s, by_id[r.id]) for r, s in zip(rest, splits_rest, strict=True)}
        moved = sum(a != b for a, b in groups.values())
        added = len({r.group for r in records if r.source == source})
        out.append(
            f"adding {source} ({added} groups) to the {len(groups)} groups of the others: "
            f"{moved} change split ({100 * moved / len(groups):.1f} %)"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinetics", help="Kinetics-600 annotation folder (kinetics-600_val.csv, ...).")
    parser.add_argument("--activitynet", help="ActivityNet annotation folder (BSN copy or official JSON).")
    parser.add_argument("--letsdance-list", help="Let's Dance clip list (class<TAB><id>_<start><TAB>frames).")
    parser.add_argument("--pretraining-ids", action="append", default=[], metavar="NAME=FILE")
    parser.add_argument("--resplit", default="0.1,0.1", help="VAL,TEST fractions (default 0.1,0.1).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stability", action="store_true", help="Also add each source last and count moved groups.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    options = ResplitOptions.parse(args.resplit, args.seed)
    sets = load_pretraining_sets(dict(item.split("=", 1) for item in args.pretraining_ids))
    records = plan_all(args)
    keys, analysis, keep, splits, report = run(records, sets, options)
    print(f"Planned rows: {Counter(r.source for r in records)}; kept after tier-1 dedup: {sum(keep)}")
    print(f"\n--resplit {args.resplit} --seed {args.seed}: groups {report.groups()}, rows {report.rows()}\n")
    print(report.markdown())
    print("\nOfficial splits of all with --pretraining-to-train, for comparison:\n")
    print(official_table(records, analysis, keep))
    if args.stability:
        print()
        for line in stability(records, sets, options):
            print(line)


if __name__ == "__main__":
    main()
