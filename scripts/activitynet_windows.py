#!/usr/bin/env python3
"""Rows and videos per label of the ``activitynet`` config for several window caps.

    python scripts/activitynet_windows.py /path/to/activitynet [--caps 1 2 3 5 0] [--markdown]
        [--kinetics DIR] [--ucf101-lists DIR] [--letsdance-list FILE]

Runs the builder's own plan (no media is touched) on the annotation files in the folder
(the official ``activity_net.v1-3.min.json`` or the BSN copy ``anet_anno_action.json`` +
``video_info_new.csv``) once per value of ``-o activitynet.max_windows_per_segment`` (0 keeps
every window) and prints, per label and split, the planned rows and the distinct videos,
plus the rows per video. With the other sources' annotation files it also prints each
label's rows and videos over all pixel sources (Kinetics-600 through its builder's plan;
UCF101 fold 1 and Let's Dance from their clip lists, mapped through the taxonomy, since their
builders need the media to plan). The figures behind the option's default are in
``docs/balance.md``.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

from dance_aggregate.builders.activitynet import ActivityNetBuilder, ActivityNetOptions


def figures(data_dir: str, cap: int) -> dict[str, dict[str, tuple[int, int]]]:
    """label -> split (and ``all``) -> (rows, videos) planned with ``cap``."""
    plan = ActivityNetBuilder(data_dir, ActivityNetOptions(max_windows_per_segment=cap)).plan()
    rows: Counter[tuple[str, str]] = Counter()
    videos: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in plan.records:
        for split in (r.split, "all"):
            rows[(r.label, split)] += 1
            videos[(r.label, split)].add(r.group)
    out: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for (label, split), n in rows.items():
        out[label][split] = (n, len(videos[(label, split)]))
    for split in ("train", "validation", "all"):
        keys = [k for k in rows if k[1] == split]
        out["(total)"][split] = (sum(rows[k] for k in keys), len(set().union(*(videos[k] for k in keys))) if keys else 0)
    return out


def other_sources(args: argparse.Namespace) -> dict[str, tuple[int, set[str]]]:
    """label -> (rows, videos) planned from the other pixel sources given."""
    from pathlib import Path

    from dance_aggregate.builders.kinetics600 import Kinetics600Builder
    from dance_aggregate.builders.registry import taxonomy

    tax = taxonomy()
    rows: Counter[str] = Counter()
    videos: dict[str, set[str]] = defaultdict(set)
    if args.kinetics:
        for r in Kinetics600Builder(args.kinetics).plan().records:
            rows[r.label] += 1
            videos[r.label].add(f"yt:{r.group}")
    if args.ucf101_lists:
        for name in ("trainlist01.txt", "testlist01.txt"):
            for line in (Path(args.ucf101_lists) / name).read_text().splitlines():
                if line.strip() and (m := tax.map("ucf101", line.split("/")[0])):
                    rows[m.label] += 1
                    videos[m.label].add("ucf:" + line.split("_g")[1][:2] + line.split("/")[0])
    if args.letsdance_list:
        for line in Path(args.letsdance_list).read_text().splitlines():
            if line.strip() and (m := tax.map("letsdance", line.split("\t")[0])):
                rows[m.label] += 1
                videos[m.label].add("yt:" + line.split("\t")[1].rsplit("_", 1)[0])
    return {label: (n, videos[label]) for label, n in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--caps", type=int, nargs="+", default=[1, 2, 3, 5, 0])
    parser.add_argument("--markdown", action="store_true", help="Print a Markdown table.")
    parser.add_argument("--kinetics", help="Kinetics-600 annotation folder (its plan's rows join the totals).")
    parser.add_argument("--ucf101-lists", help="UCF101 ucfTrainTestlist folder (fold 1).")
    parser.add_argument("--letsdance-list", help="Let's Dance clip list (class<TAB><id>_<start><TAB>frames).")
    args = parser.parse_args()
    by_cap = {cap: figures(args.data_dir, cap) for cap in args.caps}
    labels = sorted(by_cap[args.caps[-1]], key=lambda x: (x == "(total)", -by_cap[args.caps[-1]][x]["all"][0]))
    head = [f"N={cap or 'all'}" for cap in args.caps]
    if args.markdown:
        print("| label | " + " | ".join(f"{h} rows (videos)" for h in head) + " |")
        print("| --- |" + " ---: |" * len(head))
    else:
        print(f"{'label':<16}" + "".join(f"{h + ' rows (videos)':>24}" for h in head))
    for label in labels:
        cells = []
        for cap in args.caps:
            n, v = by_cap[cap].get(label, {}).get("all", (0, 0))
            cells.append(f"{n} ({v}; {n / v:.1f}/video)" if v else "0")
        if args.markdown:
            print(f"| {label} | " + " | ".join(cells) + " |")
        else:
            print(f"{label:<16}" + "".join(f"{c:>24}" for c in cells))
    for split in ("train", "validation"):
        cells = []
        for cap in args.caps:
            n, v = by_cap[cap]["(total)"].get(split, (0, 0))
            cells.append(f"{n} ({v})")
        line = " | ".join(cells) if args.markdown else "".join(f"{c:>24}" for c in cells)
        print(f"| (total, {split}) | {line} |" if args.markdown else f"{'total ' + split:<16}{line}")

    others = other_sources(args)
    if others:
        print("\nAll pixel sources (ActivityNet with each cap + the other sources given): rows (videos)")
        plan_videos = {cap: _videos(args.data_dir, cap) for cap in args.caps}
        names = sorted(set(others) | {k for k in by_cap[args.caps[-1]] if k != "(total)"})
        for label in names:
            n_o, v_o = others.get(label, (0, set()))
            cells = []
            for cap in args.caps:
                n_a = by_cap[cap].get(label, {}).get("all", (0, 0))[0]
                v = len(v_o | plan_videos[cap].get(label, set()))
                cells.append(f"{n_a + n_o} ({v})")
            print(f"| {label} | " + " | ".join(cells) + " |" if args.markdown else f"{label:<20}" + "".join(f"{c:>16}" for c in cells))
        for cap in args.caps:
            total_a = by_cap[cap]["(total)"]["all"][0]
            total = total_a + sum(n for n, _ in others.values())
            print(f"N={cap or 'all'}: ActivityNet {total_a} of {total} pixel rows ({100 * total_a / total:.0f} %)")


def _videos(data_dir: str, cap: int) -> dict[str, set[str]]:
    plan = ActivityNetBuilder(data_dir, ActivityNetOptions(max_windows_per_segment=cap)).plan()
    out: dict[str, set[str]] = defaultdict(set)
    for r in plan.records:
        out[r.label].add(f"yt:{r.group}")
    return out


if __name__ == "__main__":
    main()
