"""Units of work: a few plan records of one split, encoded into one Parquet part.

A unit's part name holds a hash of its records and options, so a rerun with the same input
finds the parts an earlier run finished (part and manifest both present) and skips them.
:func:`run_unit` is what a runner calls in a worker process: it makes every row of its
records through the builder, excludes a broken record with its reason (never fatal; only a
full disk, which every record would meet, stops the unit), and writes the part, then the
manifest. Its result says which records failed and why, for the failure cap of
:mod:`.config`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dance_aggregate import __version__
from dance_aggregate.builders.base import SILENT_AUDIO_NOTE, SourceBuilder
from dance_aggregate.errors import DanceAggregateError, DiskFullError, MediaError
from dance_aggregate.output import parts
from dance_aggregate.output.atomic import disk_full_error, is_disk_full
from dance_aggregate.records import ClipRecord, Exclusion
from dance_aggregate.schema import arrow_schema, rows_to_table

logger = logging.getLogger(__name__)


@dataclass
class WorkUnit:
    """One unit of work: encode ``records`` into the part at ``path``."""

    builder: SourceBuilder
    config: str
    split: str
    records: list[ClipRecord]
    path: str

    @property
    def manifest(self) -> str:
        """The manifest written after the part; its presence marks the unit done."""
        return parts.manifest_path(self.path)

    def is_done(self) -> bool:
        """Whether an earlier run finished this unit (part and manifest present)."""
        return parts.is_done(self.path)


@dataclass
class UnitResult:
    """What a unit produced.

    Attributes:
        path: The part.
        split: Its split.
        rows: Rows in the part.
        exclusions: Records it excluded.
        skipped: An earlier run had finished it.
        read: Input records read (``rows + excluded``; more than the unit's plan records
            when a plan record stands for many, as a YouTube-8M shard does).
        planned: Plan records in the unit (for progress).
        failed: Plan records whose production raised, by exclusion reason (what the
            failure cap of :mod:`.config` watches; by-rule exclusions are not failures).
        truncated: Notes on the rows stored shorter than their annotated range.
        silent_audio: Notes on the rows whose source audio is digital silence (stored
            with ``has_audio`` false, no ``audio``).
    """

    path: str
    split: str
    rows: int
    exclusions: list[Exclusion] = field(default_factory=list)
    skipped: bool = False
    read: int = 0
    planned: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    truncated: list[dict[str, Any]] = field(default_factory=list)
    silent_audio: list[dict[str, Any]] = field(default_factory=list)


def _unit_key(builder: SourceBuilder, records: list[ClipRecord]) -> str:
    h = hashlib.sha1()
    h.update(__version__.encode())
    # Parts written under another schema (e.g. float32 frame features) are not reused.
    h.update(arrow_schema().to_string(show_schema_metadata=False).encode())
    h.update(repr(builder.options).encode())
    h.update(repr(builder.encode).encode())
    for r in records:
        h.update(json.dumps(r.to_dict(), sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def plan_units(builder: SourceBuilder, records: list[ClipRecord], work: str | Path, part_size: int) -> list[WorkUnit]:
    """Cut records into units of at most ``part_size`` records per split (deterministic),
    longest first.

    ``work`` is the work folder, a local path or an fsspec URL. A builder may cap the
    records per unit (``max_records_per_unit``): a YouTube-8M record is a whole shard.
    Records with the same :meth:`~SourceBuilder.pass_key` that follow each other in id
    order (the windows of one video) stay in one unit, so they are cut in one pass; such
    a unit may exceed ``part_size``. Records are cut in id order (so a part's name depends
    only on its records and options, and a resumed build finds it); the units are then
    ordered by :func:`expected_seconds`, longest first, so that the last units of a build
    are short ones and no worker is left alone with a long unit while the others idle.
    """
    if builder.max_records_per_unit is not None:
        part_size = min(part_size, builder.max_records_per_unit)
    by_split: dict[str, list[ClipRecord]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r.id):
        by_split[r.split].append(r)
    units = []
    for split in sorted(by_split):
        for chunk in _chunks(builder, by_split[split], part_size):
            key = _unit_key(builder, chunk)
            path = parts.join(work, "parts", builder.config_name, f"{split}-{key}.parquet")
            units.append(WorkUnit(builder, builder.config_name, split, chunk, path))
    cost = expected_seconds(records)
    # sorted() is stable: units of equal cost keep the (split, id) order.
    return sorted(units, key=lambda u: -sum(cost(r) for r in u.records))


def expected_seconds(records: list[ClipRecord]) -> Callable[[ClipRecord], float]:
    """How long each record's clip is expected to be, in seconds, as the plan knows it:
    ``end_time - start_time`` where both are known, else the mean of the records that
    have both (1 when none has: every record then weighs the same). The unit cost this
    gives is the work of the unit at one resolution; a plan does not know pixels."""
    known = [r.end_time - r.start_time for r in records if r.start_time is not None and r.end_time is not None]
    default = sum(known) / len(known) if known else 1.0

    def cost(r: ClipRecord) -> float:
        if r.start_time is not None and r.end_time is not None:
            return max(0.0, r.end_time - r.start_time)
        return default

    return cost


def _chunks(builder: SourceBuilder, records: list[ClipRecord], size: int) -> list[list[ClipRecord]]:
    """``records`` in runs of ``size``, a run running on while the next record shares the
    last one's pass key."""
    chunks: list[list[ClipRecord]] = []
    chunk: list[ClipRecord] = []
    last_key: str | None = None
    for r in records:
        key = builder.pass_key(r)
        if len(chunk) >= size and (key is None or key != last_key):
            chunks.append(chunk)
            chunk = []
        chunk.append(r)
        last_key = key
    if chunk:
        chunks.append(chunk)
    return chunks


def finished_result(unit: WorkUnit) -> UnitResult | None:
    """The result an earlier run left for ``unit``, or ``None`` when it must (re)run
    (not finished, or finished with exclusions the builder wants to retry)."""
    if not unit.is_done():
        return None
    done = parts.read_manifest(unit.path)
    excl = [Exclusion(**e) for e in done["exclusions"]]
    if unit.builder.should_redo(excl):
        return None
    read = done.get("read", done["rows"] + sum(e.count for e in excl))
    return UnitResult(unit.path, unit.split, done["rows"], excl, skipped=True, read=read, planned=len(unit.records),
                      truncated=done.get("truncated", []), silent_audio=done.get("silent_audio", []))


def run_unit(unit: WorkUnit) -> UnitResult:
    """Encode one unit into its part (skip when already done). Runs in a worker."""
    earlier = finished_result(unit)
    if earlier is not None:
        return earlier
    rows: list[dict[str, Any]] = []
    exclusions: list[Exclusion] = []
    failed: Counter[str] = Counter()
    truncated: list[dict[str, Any]] = []
    silent_audio: list[dict[str, Any]] = []
    read = 0
    for record, produced in zip(unit.records, unit.builder.produce_many(unit.records), strict=True):
        if isinstance(produced, Exception):
            exclusions.append(_excluded(record, produced))
            failed[exclusions[-1].reason] += 1
            read += 1
            continue
        rows.extend(produced.rows)
        exclusions.extend(produced.exclusions)
        truncated.extend(produced.truncated)
        # A row carries its silent-audio note (clip_row) only until here: it is no column.
        silent_audio.extend(n for n in (row.pop(SILENT_AUDIO_NOTE, None) for row in produced.rows) if n)
        read += produced.read
    table = rows_to_table(rows) if rows else arrow_schema().empty_table()
    # Part first, manifest last: a worker killed in between leaves no manifest, so the
    # unit is redone (by the engine's retry or the next run), never counted twice.
    parts.write_part(table, unit.path)
    manifest = {"rows": len(rows), "read": read, "exclusions": [e.to_dict() for e in exclusions], "truncated": truncated,
                "silent_audio": silent_audio}
    parts.write_manifest(unit.path, manifest)
    return UnitResult(
        unit.path, unit.split, len(rows), exclusions, read=read, planned=len(unit.records), failed=dict(failed),
        truncated=truncated, silent_audio=silent_audio,
    )


def _excluded(record: ClipRecord, exc: Exception) -> Exclusion:
    """The exclusion of a record whose production raised ``exc`` (never fatal), except a
    full disk, which every other record would meet too: that stops the unit."""
    if isinstance(exc, DiskFullError):
        raise exc
    if is_disk_full(exc):
        raise disk_full_error(exc, f"producing {record.id}") from exc
    if isinstance(exc, MediaError):
        logger.warning("%s: excluded (%s): %s", record.id, exc.reason, exc, extra={"clip": record.id})
        return Exclusion(record.id, exc.reason, str(exc), record.split, record.source_label)
    if isinstance(exc, DanceAggregateError):
        logger.warning("%s: excluded: %s", record.id, exc, extra={"clip": record.id})
        return Exclusion(record.id, "error", str(exc), record.split, record.source_label)
    # One line per clip (the failure cap stops a config where every clip fails); the
    # traceback, for a bug report, with -vv.
    logger.error("%s: unexpected error, clip excluded: %s: %s", record.id, type(exc).__name__, exc, extra={"clip": record.id})
    logger.debug("%s: traceback:\n%s", record.id, "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return Exclusion(record.id, "unexpected error", f"{type(exc).__name__}: {exc}", record.split, record.source_label)
