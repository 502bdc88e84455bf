"""The ``all`` config: every pixel config of the folder, deduplicated, split without leaks.

:func:`build_all` runs at the end of every ``dance-aggregate build`` (from
``build.finalize_folder``), so adding a source to a folder updates ``all``. It reads the
key columns (:data:`~dance_aggregate.dedup.KEY_COLUMNS`, never the media) of every pixel
config present, finds duplicate clusters, keeps the best copy of each with the others' ids
in ``duplicate_ids``, assigns splits by cluster, group and YouTube id, then copies the kept
rows (media bytes as stored: nothing is decoded or re-encoded) into ``data/all/``.

Reports: ``reports/duplicates.csv`` (one line per cluster), ``reports/all.json`` (the
accounting: rows of the pixel configs = rows of ``all`` + duplicates removed, and the
dedup summary) and ``reports/all.excluded.csv`` (each removed copy and the copy kept).
The leakage check then refuses the folder if a ``group`` or ``youtube_id`` of ``all``
sits in two splits.

Rows are copied shard by shard, so memory stays bounded by a shard whatever the size of
the folder; within ``all`` rows are grouped by source and sorted by id within each.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dance_aggregate import __version__
from dance_aggregate.builders import registry
from dance_aggregate.dedup import KEY_COLUMNS, Analysis, analyse
from dance_aggregate.dedup import align as align_mod
from dance_aggregate.dedup import index as index_mod
from dance_aggregate.dedup import match as match_mod
from dance_aggregate.dedup.leakage import check_no_leaks
from dance_aggregate.media.fingerprint import HASHES_PER_SECOND
from dance_aggregate.output.atomic import atomic_write_text
from dance_aggregate.output.folder import BuiltFolder, Shard
from dance_aggregate.output.layout import duplicates_path
from dance_aggregate.output.reports import Accounting, write_reports
from dance_aggregate.output.shards import MAX_SHARD_BYTES, write_config_from_parts
from dance_aggregate.records import Exclusion
from dance_aggregate.schema import SOURCES, arrow_schema

logger = logging.getLogger(__name__)

#: Name of the combined config.
ALL_CONFIG = "all"


def pixel_configs(folder: Path | BuiltFolder) -> list[str]:
    """Configs of ``folder`` that go into ``all`` (the source registry says which)."""
    return [name for name in BuiltFolder.of(folder).configs if registry.in_all(name)]


def _read_keys(folder: BuiltFolder, configs: list[str]) -> tuple[pa.Table, list[str], list[Shard]]:
    """Key columns of every shard, each row's split, and the shards in that order."""
    tables, splits, shards = [], [], []
    for config in configs:
        for split, in_split in folder.shards(config).items():
            for shard in in_split:
                t = folder.read_columns(shard, KEY_COLUMNS)
                tables.append(t)
                splits.extend([split] * t.num_rows)
                shards.append(shard)
    if not tables:
        return arrow_schema().empty_table().select(list(KEY_COLUMNS)), [], []
    return pa.concat_tables(tables), splits, shards


def inputs_key(folder: Path | BuiltFolder, configs: list[str]) -> str:
    """A key of the input shards (names, sizes, modification times), the thresholds and
    the version: when it has not changed, ``all`` need not be rebuilt."""
    built = BuiltFolder.of(folder)
    h = hashlib.sha1()
    h.update(json.dumps([__version__, thresholds()], sort_keys=True).encode())
    for config in configs:
        for shards in built.shards(config).values():
            for s in shards:
                h.update(f"{s.path}\0{s.file_bytes}\0{s.mtime_ns}\n".encode())
    return h.hexdigest()[:16]


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


def build_all(
    folder: Path | BuiltFolder,
    *,
    progress: bool = False,
    check: bool = True,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    shards: int | None = None,
) -> Accounting | None:
    """Rebuild ``data/all`` from the pixel configs of ``folder`` and write its reports.

    Given a :class:`BuiltFolder`, it reads the folder through it and, when it rewrites
    ``all``, refreshes it, so the caller's model shows the new ``all`` and its reports
    (only the new shards are read).

    Args:
        folder: The output folder, or its model.
        progress: Show a progress bar while copying rows.
        check: Run the leakage check on the result.
        max_shard_bytes: Largest output shard (Arrow bytes).
        shards: Shards per split (``--shards``; ``None``: sized automatically). ``all`` is
            rebuilt when this differs from the build that wrote it.

    Returns:
        The accounting of ``all``, or ``None`` when the folder has no pixel config.

    Raises:
        OutputError: when the accounting does not add up or ``all`` leaks across splits.
    """
    t0 = time.monotonic()
    built = BuiltFolder.of(folder)
    configs = pixel_configs(built)
    if not configs:
        return None
    key = inputs_key(built, configs)
    previous = built.report(ALL_CONFIG)
    same_shards = previous is not None and previous.get("shards") == shards
    if previous and previous.get("inputs_key") == key and same_shards and ALL_CONFIG in built.configs:
        # Nothing changed since the last build: keep `all` as it is (still leak-checked).
        logger.info("all: inputs unchanged since the last build; kept as is")
        if check:
            check_no_leaks(built, ALL_CONFIG)
        return Accounting(**previous["accounting"])
    keys, splits, inputs_shards = _read_keys(built, configs)
    logger.info("all: deduplicating %d clips of %s", keys.num_rows, ", ".join(configs))
    result = analyse(keys, splits, registry.DEDUP_PRIORITY)
    ids = result.ids
    clusters = result.cluster_of()
    keep = [k not in clusters or clusters[k].keep == k for k in range(len(ids))]
    dup_ids = [sorted(ids[o] for o in clusters[k].members if o != k) if k in clusters else [] for k in range(len(ids))]
    # Kept rows go to their split under the rule; the other copies of a cluster are dropped.
    row_splits = [s if k else None for s, k in zip(result.new_splits, keep, strict=True)]
    write_config_from_parts(
        built.path,
        ALL_CONFIG,
        [str(built.path / s.path) for s in inputs_shards],
        lambda p: pq.read_table(p, schema=arrow_schema()),
        [s.rows for s in inputs_shards],
        [s.file_bytes for s in inputs_shards],
        row_splits,
        ids,
        overrides={"duplicate_ids": dup_ids},
        max_shard_bytes=max_shard_bytes,
        progress=progress,
        shards=shards,
    )
    rows_by_split = dict(Counter(s for s in row_splits if s is not None))
    exclusions = _exclusions(result, keys)
    acc = Accounting(
        config=ALL_CONFIG,
        records_read=len(ids),
        rows_written=sum(rows_by_split.values()),
        rows_by_split=rows_by_split,
        excluded={"duplicate": len(exclusions)} if exclusions else {},
    )
    inputs = {c: sum(s.rows for s in inputs_shards if s.config == c) for c in configs}
    write_reports(
        built.path,
        acc,
        exclusions,
        {
            "config": ALL_CONFIG,
            "inputs": inputs,
            "inputs_key": key,
            "shards": shards,
            "dedup": result.summary(),
            "thresholds": thresholds(),
            "split_moves": [m.to_dict() for m in result.moves],
            "dance_aggregate_version": __version__,
            "elapsed_seconds": round(time.monotonic() - t0, 2),
        },
    )
    write_duplicates_csv(built.path, result, keys)
    built.refresh()  # data/all and its reports were rewritten
    acc.check()
    if check:
        check_no_leaks(built, ALL_CONFIG)
    logger.info("%s", acc.summary().splitlines()[0])
    return acc


def _exclusions(result: Analysis, keys: pa.Table) -> list[Exclusion]:
    out = []
    for c in result.clusters:
        for m in c.members:
            if m != c.keep:
                out.append(
                    Exclusion(
                        result.ids[m],
                        "duplicate",
                        f"duplicate of {result.ids[c.keep]} (tier {c.tier}, score {c.score:.3f})",
                        result.splits[m],
                    )
                )
    return out


def write_duplicates_csv(folder: Path, result: Analysis, keys: pa.Table) -> Path:
    """``reports/duplicates.csv``: cluster id, kept id, members, tier, score, split."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["cluster", "kept", "members", "sources", "tier", "score", "split"])
    src = keys.column("source").to_pylist()
    for n, c in enumerate(sorted(result.clusters, key=lambda c: result.ids[c.keep]), start=1):
        members = sorted(result.ids[m] for m in c.members)
        sources = sorted({SOURCES[src[m]] if isinstance(src[m], int) else str(src[m]) for m in c.members})
        w.writerow(
            [
                f"c{n:06d}",
                result.ids[c.keep],
                " ".join(members),
                " ".join(sources),
                c.tier,
                f"{c.score:.4f}",
                result.new_splits[c.keep],
            ]
        )
    path = duplicates_path(folder)
    atomic_write_text(path, buf.getvalue())
    return path
