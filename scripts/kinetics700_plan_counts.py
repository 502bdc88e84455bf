#!/usr/bin/env python3
"""Planned Kinetics-700-2020 rows per label and split, from its annotation lists (no video is
touched, nothing is downloaded).

    python scripts/kinetics700_plan_counts.py [DATA_DIR] [--markdown]

``DATA_DIR`` is what ``--data-dir kinetics700=`` takes (default ``tests/data/kinetics700``,
the real ``validate.csv``). Runs the package's own plan
(:class:`dance_aggregate.builders.kinetics700.Kinetics700Builder`) and prints, per canonical
label, its Kinetics class name and the planned rows per split, then the exclusions per
reason, the YouTube ids with several planned or read segments, and the wall time.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from pathlib import Path

from dance_aggregate.builders.kinetics700 import Kinetics700Builder

SPLITS = ("train", "validation", "test")
DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "kinetics700"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT, help="the Kinetics-700 lists (--data-dir)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args()
    start = time.perf_counter()
    builder = Kinetics700Builder(args.data_dir)
    files = builder.annotation_files()
    plan = builder.plan()
    seconds = time.perf_counter() - start

    by_label: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for r in plan.records:
        by_label[(r.label, r.source_label)][r.split] += 1
    splits = [s for s in SPLITS if any(c[s] for c in by_label.values())] or ["validation"]
    total = Counter(r.split for r in plan.records)
    head = ["label", "Kinetics-700 class", *splits]
    tick = "`" if args.markdown else ""
    body = [[f"{tick}{label}{tick}", f"{tick}{cls}{tick}", *(str(c[s]) for s in splits)]
            for (label, cls), c in sorted(by_label.items())]
    body.append(["(total)", f"{len(by_label)} classes", *(str(total[s]) for s in splits)])
    print("files: " + ", ".join(f"{split} {path.relative_to(args.data_dir)}" for split, path in files.items()))
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("| " + " | ".join("---" if i < 2 else "---:" for i in range(len(head))) + " |")
        for row in body:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
        for row in [head, *body]:
            print("  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))))
    print()
    print(f"records read: {plan.records_read} = {len(plan.records)} planned + {len(plan.exclusions)} excluded")
    for reason, n in Counter(e.reason for e in plan.exclusions).most_common():
        mine = [e for e in plan.exclusions if e.reason == reason]
        # A class the crosswalk excludes by name carries its reason in the detail ("ski ballet: ...").
        named = Counter(e.source_label for e in mine if e.source_label and e.detail != e.source_label)
        extra = "; with the crosswalk's reason: " + ", ".join(f"{k} {v}" for k, v in named.items()) if named else ""
        print(f"  excluded, {reason}: {n} ({len({e.source_label for e in mine})} classes){extra}")
    segments = Counter(e.id.split("/", 1)[1].rsplit("_", 2)[0] for e in [*plan.records, *plan.exclusions])
    several = {k: v for k, v in segments.items() if v > 1}
    planned = Counter(r.youtube_id for r in plan.records)
    print(f"YouTube ids with several segments: {len(several)} read ({sum(several.values())} rows), "
          f"{sum(1 for v in planned.values() if v > 1)} among the planned rows")
    print(f"planned in {seconds:.2f} s")


if __name__ == "__main__":
    main()
