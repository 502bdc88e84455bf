"""The one assembly stage of every config: rows plus decisions become shards and a report.

A source config is assembled from its work parts, ``all`` from the shards of the pixel
configs; both hand :func:`assemble` the same things: the input files, what becomes of every
row (:class:`~.shards.Decisions`: its split, or dropped; its id; the columns decided for it,
such as ``duplicate_ids`` and ``pretraining_overlap``), the config's
:class:`~.reports.ConfigReport` and its exclusions.

The reports are written in full under temporary names first, the shards are swapped in as a
whole, then the reports are renamed into place: a full disk or a kill at any step leaves
the previous build of the config as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa

from dance_aggregate.files.atomic import Content, staged_writes
from dance_aggregate.output.reports import ConfigReport, report_files
from dance_aggregate.output.shards import MAX_SHARD_BYTES, Decisions, InputFile, write_shards
from dance_aggregate.records import Exclusion


def assemble(
    folder: Path,
    report: ConfigReport,
    exclusions: Sequence[Exclusion],
    inputs: Sequence[InputFile],
    read: Callable[[str], pa.Table],
    decisions: Decisions,
    *,
    local_roots: Sequence[str | Path] = (),
    extra_files: dict[Path, Content] | None = None,
    progress: bool = False,
    shards: int | None = None,
    max_shard_bytes: int = MAX_SHARD_BYTES,
) -> dict[str, list[str]]:
    """Write ``report.config``'s shards, ``reports/<config>.json`` and
    ``reports/<config>.excluded.csv`` (and ``extra_files``), all or nothing.

    Args:
        folder: The output folder.
        report: The config's report (its accounting must already add up).
        exclusions: Every record that is not a row, with its reason.
        inputs: The Parquet files the rows come from, in row order.
        read: Reads one input whole.
        decisions: Every row's split, id and decided columns.
        local_roots: Local folders the reports must not name (replaced by their names).
        extra_files: More report files written with these (``reports/duplicates.csv``).
        progress: Show a progress bar while copying rows.
        shards: Shards per split (``None``: sized automatically).
        max_shard_bytes: Largest shard.

    Returns:
        Split -> shard paths relative to ``folder``.

    Raises:
        OutputError: a write failed (:class:`~dance_aggregate.errors.DiskFullError` on a
            full disk); nothing of the previous build was replaced.
    """
    files = report_files(folder, report, list(exclusions), local_roots)
    files.update(extra_files or {})
    with staged_writes(files, "report"):
        return write_shards(
            folder, report.config, inputs, read, decisions,
            max_shard_bytes=max_shard_bytes, progress=progress, shards=shards,
        )
