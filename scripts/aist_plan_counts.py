#!/usr/bin/env python3
"""Planned AIST rows per label and split, from a list of video names (no video is touched).

    python scripts/aist_plan_counts.py tests/data/aist/video_list.txt [--lists DIR | --no-lists] [--markdown]

Reads the names (one a line, e.g. AIST++'s ``video_list.txt``), the AIST++ lists under
``--lists`` (default: the names file's folder, i.e. ``splits/crossmodal_*.txt`` and
``ignore_list.txt`` there; ``--no-lists`` uses the rules alone), and runs the package's own
parsing and split assignment (:func:`dance_aggregate.builders.aist.splits.plan_names`). It
prints, per canonical label and split, the videos (rows: one per video) and the performances
(AIST++ sequences), the exclusions per reason, and the wall time and peak Python memory
(``tracemalloc``, in a second run) of planning all the names, plus the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from collections import Counter, defaultdict
from pathlib import Path

from dance_aggregate.builders.aist.names import AistName
from dance_aggregate.builders.aist.rows import source_label
from dance_aggregate.builders.aist.splits import HELD_OUT_MUSIC, NOT_IN_SPLITS, AistLists, Assignment, plan_names, read_lists
from dance_aggregate.builders.registry import taxonomy
from dance_aggregate.records import Exclusion

SPLITS = ("train", "validation", "test")


def read_names(path: Path) -> list[str]:
    """The non-blank lines of a names file, stripped."""
    return [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]


def measure(names: list[str], lists: AistLists | None) -> tuple[list[Assignment | Exclusion], float, int]:
    """``(results, seconds, peak bytes)``: timed without tracing, then traced in a second run."""
    start = time.perf_counter()
    results = plan_names(names, lists)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    plan_names(names, lists)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return results, seconds, peak


def tables(results: list[Assignment | Exclusion]) -> tuple[dict, dict, Counter]:
    """``(videos, performances, held-out kinds)``: label -> split -> count, for rows and
    for exclusions (key ``"excluded: <reason>"`` in place of the split); the ``(total)`` row
    counts every name."""
    tax = taxonomy()
    videos: dict[str, Counter] = defaultdict(Counter)
    perfs: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    held: Counter = Counter()
    for r in results:
        if isinstance(r, Exclusion):  # a name not read, or met twice
            m = tax.map("aist", r.source_label) if r.source_label else None
            for key in (m.label if m else "(name not read)", "(total)"):
                videos[key][f"excluded: {r.reason}"] += 1
            continue
        m = tax.map("aist", source_label(r.name))
        label = m.label if m else f"(unmapped {source_label(r.name)})"
        column = r.split if r.exclusion is None else f"excluded: {r.exclusion.reason}"
        for key in (label, "(total)"):
            videos[key][column] += 1
            perfs[key][column].add(r.name.sequence)
        if r.exclusion is not None and r.exclusion.reason == NOT_IN_SPLITS:
            held[held_out_kind(r.name)] += 1
    return videos, {k: Counter({c: len(s) for c, s in v.items()}) for k, v in perfs.items()}, held


def held_out_kind(name: AistName) -> str:
    """Why the cross-modal split holds a sequence out, in a few words."""
    if name.music in HELD_OUT_MUSIC:
        return f"held-out music, {'basic moves other than ch01/ch02' if name.situation == 'sBM' else name.situation}"
    return f"training music, {name.situation} {name.choreography}"


def render(videos: dict, perfs: dict, markdown: bool) -> str:
    columns = [*SPLITS, *sorted({c for v in videos.values() for c in v if c not in SPLITS})]
    rows = [["label", *columns]]
    for label in sorted(videos, key=lambda x: (x.startswith("("), x)):
        rows.append([label, *(f"{videos[label][c]:,} ({perfs.get(label, {}).get(c, 0):,})" for c in columns)])
    if markdown:
        lines = ["| " + " | ".join(r) + " |" for r in rows]
        lines.insert(1, "| " + " | ".join("---" if i == 0 else "---:" for i in range(len(columns) + 1)) + " |")
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", type=Path, help="a file of AIST video names, one a line (AIST++ video_list.txt)")
    parser.add_argument("--lists", type=Path, help="folder with splits/crossmodal_*.txt and ignore_list.txt (default: the names file's folder)")
    parser.add_argument("--no-lists", action="store_true", help="ignore any lists: the documented rules alone")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args()
    names = read_names(args.names)
    lists = None if args.no_lists else read_lists(args.lists or args.names.parent)
    results, seconds, peak = measure(names, lists)
    videos, perfs, held = tables(results)
    source = "the rules alone" if lists is None or not lists.present else (
        "AIST++ lists " + ", ".join(f"{s} {len(e):,}" for s, e in lists.splits.items()))
    ignore = f"; ignore list {len(lists.ignore):,} sequences" if lists is not None and lists.ignore else ""
    print(f"{len(names):,} names from {args.names}; splits from {source}{ignore}")
    if lists is not None and lists.issues:
        print(f"list lines not read: {len(lists.issues)} (" + "; ".join(e.detail for e in lists.issues[:3]) + ")")
    print("\nvideos (performances) per label and split:\n")
    print(render(videos, perfs, args.markdown))
    if held:
        print("\nnot in a cross-modal split, videos per kind: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(held.items())))
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nplanning {len(names):,} names: {seconds:.2f} s, peak traced memory {peak / 2**20:.1f} MiB "
          f"(process peak RSS {rss_mib:.0f} MiB, interpreter and imports included)")


if __name__ == "__main__":
    main()
