#!/usr/bin/env python3
"""The Hub viewer's statistics rules on real-size splits: every config planned from the real
annotation files, its rows' stored columns checked split by split, now and in the variable
lists of before.

    python scripts/viewer_stats_real.py [--real ../shared/data/real] [--markdown]

Plans each source the copy holds with its own builder (annotation files only, no media,
nothing downloaded): Kinetics-600 (``kinetics/``), Kinetics-700-2020 (``kinetics700/``),
ActivityNet (``activitynet/``, the default window cap), Let's Dance (``letsdance/``, its clip
list: one empty frame per clip in a temporary folder), UCF101 (``ucf101/``, its split lists:
one empty file per listed video), AIST (``aist/``, its video list: one empty file per listed
name) and YouTube-8M (``youtube8m/``, its TFRecords). Each row's ``pretraining_overlap`` comes
from the real Kinetics-400 validation and test lists, as in a build given both with
``--pretraining-ids``; ``duplicate_ids`` and the final split come from the split rule of each
config and, for ``all``, from the dedup analysis of every pixel source (tier 1 only: same
YouTube id and overlapping times, since there are no frame hashes without media).

Each split is written as Parquet in the shared schema and checked by
:func:`dance_aggregate.hub.viewer_stats.split_problems`. The columns a plan fills are checked
(ids, labels, times, duplicates, pretraining, features of YouTube-8M); the media columns and
what is measured from the media (duration, size, frames) are null here, so not checked. The
same rows with ``labels``, ``duplicate_ids`` and ``pretraining_overlap`` as variable lists (the
form before) are checked too, for comparison.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Features, List, Value

from dance_aggregate.builders import registry
from dance_aggregate.dedup import KEY_COLUMNS, analyse, split_rule_on_keys
from dance_aggregate.dedup.pretraining import load_pretraining_sets, overlap_column
from dance_aggregate.hub.viewer_stats import split_problems
from dance_aggregate.records import ALL_CONFIG, ClipRecord
from dance_aggregate.schema import SPLITS, features, rows_to_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resplit_real import letsdance_records  # noqa: E402

LISTS = ("labels", "duplicate_ids", "pretraining_overlap")


def _ucf101(real: Path, tmp: Path) -> Path:
    shutil.copytree(real / "ucf101", tmp / "ucfTrainTestlist")
    for lst in (real / "ucf101").glob("*list0*.txt"):
        for line in lst.read_text(encoding="utf-8").splitlines():
            name = line.split(" ")[0].strip()
            if name:
                (tmp / "UCF-101" / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp / "UCF-101" / name).touch()
    return tmp


def _aist(real: Path, tmp: Path) -> Path:
    for item in ("splits", "ignore_list.txt"):
        src = real / "aist" / item
        if src.is_dir():
            shutil.copytree(src, tmp / item)
        elif src.exists():
            shutil.copy(src, tmp / item)
    for line in (real / "aist" / "video_list.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            (tmp / f"{line.strip()}.mp4").touch()
    return tmp


def _planned(config: str, root: Path) -> list[ClipRecord]:
    return registry.get_config(config).builder(root).plan().records


def _laid_out(layout: Callable[[Path, Path], Path]) -> Callable[[str, Path], list[ClipRecord]]:
    """Plans from a temporary folder that ``layout(real, tmp)`` fills as the builder reads it."""
    def planned(config: str, real: Path) -> list[ClipRecord]:
        with tempfile.TemporaryDirectory(prefix=f"{config}-names-") as tmp:
            return _planned(config, layout(real, Path(tmp)))
    return planned


#: config -> (what must exist under the real data, how its records are planned from there).
SOURCES: dict[str, tuple[str, Callable[[str, Path], list[ClipRecord]]]] = {
    "kinetics600": ("kinetics", lambda c, real: _planned(c, real / "kinetics")),
    "kinetics700": ("kinetics700", lambda c, real: _planned(c, real / "kinetics700")),
    "activitynet": ("activitynet", lambda c, real: _planned(c, real / "activitynet")),
    # resplit_real.py's planner: one empty frame per listed clip.
    "letsdance": ("letsdance/all_videos_complete.csv",
                  lambda c, real: letsdance_records(real / "letsdance" / "all_videos_complete.csv")),
    "ucf101": ("ucf101/trainlist01.txt", _laid_out(_ucf101)),
    "aist": ("aist/video_list.txt", _laid_out(_aist)),
    "youtube8m": ("youtube8m", lambda c, real: _planned(c, real / "youtube8m")),
}


def plan(config: str, real: Path) -> list[ClipRecord]:
    """The records of ``config`` planned by its builder from the real files (``[]`` when absent)."""
    where, planner = SOURCES[config]
    return planner(config, real) if (real / where).exists() else []


def _rows(records: list[ClipRecord], sets: list) -> list[dict]:
    overlap = overlap_column([r.youtube_id for r in records], sets)
    rows = []
    for r, o in zip(records, overlap, strict=True):
        row = r.base_row()
        if r.start_time is not None and r.end_time is not None:
            row["duration"] = r.end_time - r.start_time
        row["pretraining_overlap"] = o
        rows.append(row)
    return rows


def _splits(rows: list[dict], current: list[str], every_source: bool) -> tuple[list[str | None], list[list[str]]]:
    """Each row's final split (``None``: a removed copy) and ``duplicate_ids``."""
    keys = rows_to_table(rows).select([*KEY_COLUMNS, "duplicate_ids"])
    if not every_source:
        result, dup = split_rule_on_keys(keys, current)
        return list(result.new_splits), dup
    result = analyse(keys.select(list(KEY_COLUMNS)), current, registry.dedup_priority())
    of = result.cluster_of()
    keep = [k not in of or of[k].keep == k for k in range(len(rows))]
    dup = [sorted(result.ids[o] for o in of[k].members if o != k) if k in of else [] for k in range(len(rows))]
    return [s if k else None for s, k in zip(result.new_splits, keep, strict=True)], dup


def _old_form(table: pa.Table) -> tuple[pa.Table, Features]:
    """``table`` with the three columns as the variable lists they were before."""
    from dance_aggregate.schema import decode_id_list, decode_labels

    feats = features().copy()
    feats["labels"] = List(features()["label"])
    feats["duplicate_ids"] = List(Value("string"))
    feats["pretraining_overlap"] = List(Value("string"))
    columns = {
        "labels": [decode_labels(v) for v in table.column("labels").to_pylist()],
        "duplicate_ids": [decode_id_list(v) for v in table.column("duplicate_ids").to_pylist()],
        "pretraining_overlap": [decode_id_list(v) for v in table.column("pretraining_overlap").to_pylist()],
    }
    schema = feats.arrow_schema
    for name, values in columns.items():
        idx = table.schema.get_field_index(name)
        table = table.set_column(idx, schema.field(name), pa.array(values, schema.field(name).type))
    return table.replace_schema_metadata(schema.metadata), feats


def check(real: Path, out: Path) -> list[tuple[str, str, int, list[str], list[str]]]:
    """``(config, split, rows, problems now, problems of the three columns as variable lists)``."""
    kinetics = real / "kinetics"
    sets = load_pretraining_sets({name: kinetics / f"kinetics-400_{part}.csv" for name, part in
                                  (("k400_val", "val"), ("k400_test", "test"))
                                  if (kinetics / f"kinetics-400_{part}.csv").exists()})
    records = {config: plan(config, real) for config in SOURCES}
    records[ALL_CONFIG] = [r for c, rs in records.items() if registry.in_all(c) for r in rs]
    results = []
    for config, planned in records.items():
        if not planned:
            continue
        rows = _rows(planned, sets)
        final, dup = _splits(rows, [r.split for r in planned], every_source=config == ALL_CONFIG)
        if config == ALL_CONFIG:  # and as published: without the rows of sources it may not redistribute
            held = [not registry.source(r.source).redistributable for r in planned]
            results += _check_splits(f"{ALL_CONFIG} (published)", rows, [None if h else s for s, h in
                                                                         zip(final, held, strict=True)], dup, out)
        results += _check_splits(config, rows, final, dup, out)
    return results


def _check_splits(config: str, rows: list[dict], final: list[str | None], dup: list[list[str]],
                  out: Path) -> list[tuple[str, str, int, list[str], list[str]]]:
    results = []
    for split in SPLITS:
        chosen = [dict(r, duplicate_ids=d) for r, s, d in zip(rows, final, dup, strict=True) if s == split]
        if not chosen:
            continue
        table = rows_to_table(chosen)
        path = out / config.replace(" ", "_") / split / "train-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        now = [str(p) for p in split_problems([path])]
        old_table, old_feats = _old_form(table)
        old_path = path.with_name("old-00000-of-00001.parquet")
        pq.write_table(old_table, old_path)
        before = [str(p) for p in split_problems([old_path], features=old_feats) if p.column in LISTS]
        results.append((config, split, len(chosen), now, before))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "real")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="viewer-stats-real-") as tmp:
        results = check(args.real, Path(tmp))
    failing = [r for r in results if r[3]]
    if args.markdown:
        print("| config | split | rows | problems now | problems as variable lists (labels, duplicate_ids, "
              "pretraining_overlap) |")
        print("| --- | --- | ---: | ---: | --- |")
    for config, split, rows, now, before in results:
        cols = sorted({p.split("'")[1] for p in before})
        if args.markdown:
            print(f"| {config} | {split} | {rows:,} | {len(now)} | {', '.join(cols) or '-'} |")
        else:
            print(f"{config}/{split}: {rows} rows, {len(now)} problem(s) now; as variable lists: {', '.join(cols) or 'none'}")
            for p in now:
                print(f"    {p}")
    print(f"{len(results)} splits, {sum(r[2] for r in results):,} rows: {len(failing)} fail the viewer's statistics now; "
          f"{sum(1 for r in results if r[4])} failed with the variable lists")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
