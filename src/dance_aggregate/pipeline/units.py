"""Units of work: a few plan records of one split, encoded into one Parquet part.

A unit's part name holds a hash of its records and options, so a rerun with the same input
finds the parts an earlier run finished (part and manifest both present) and skips them.
:func:`run_unit` is what a runner calls in a worker process: it carries out the media plans
of its records (:mod:`.execute`), excludes a broken record with its reason (never fatal; only a
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
from dance_aggregate.errors import DanceAggregateError, DiskFullError, MediaError
from dance_aggregate.files.atomic import disk_full_error, is_disk_full
from dance_aggregate.output import parts
from dance_aggregate.pipeline.execute import ProduceContext, produce_records
from dance_aggregate.records import ClipRecord, Exclusion, FeatureShard
from dance_aggregate.schema import arrow_schema, rows_to_table

logger = logging.getLogger(__name__)


@dataclass
class WorkUnit:
    """One unit of work: carry out the plans of ``records`` into the part at ``path``."""

    context: ProduceContext
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


def _unit_key(ctx: ProduceContext, records: list[ClipRecord], settings: hashlib._Hash | None = None) -> str:
    """The hash naming a unit's part: the version, schema and options (``settings``: their
    hash, made once by :func:`_settings_hash` for all the units of a plan), then the records."""
    h = (settings or _settings_hash(ctx)).copy()
    for r in records:
        h.update(json.dumps(r.to_dict(), sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _settings_hash(ctx: ProduceContext) -> hashlib._Hash:
    h = hashlib.sha1()
    h.update(__version__.encode())
    # Parts written under another schema (e.g. float32 frame features) are not reused.
    h.update(_schema(ctx.features).to_string(show_schema_metadata=False).encode())
    h.update(repr(ctx.options).encode())
    h.update(repr(ctx.encode).encode())
    return h


_last_schema: tuple[Any, Any] = (None, None)


def _schema(feats: Any) -> Any:
    """``arrow_schema(feats)``, remembered for the last ``feats`` (5 ms each time otherwise:
    minutes over the tens of thousands of units of a big plan)."""
    global _last_schema
    if _last_schema[0] is not feats:
        _last_schema = (feats, arrow_schema(feats))
    return _last_schema[1]


def plan_units(ctx: ProduceContext, records: list[ClipRecord], work: str | Path, part_size: int) -> list[WorkUnit]:
    """Cut records into units of at most ``part_size`` records per split (deterministic),
    longest first.

    ``work`` is the work folder, a local path or an fsspec URL. A feature shard is a unit
    on its own (it stands for thousands of rows). Records with the same
    :meth:`~.execute.ProduceContext.pass_key` that follow each other in id order (the
    windows of one video) stay in one unit, so they are cut in one pass; such a unit may
    exceed ``part_size``. Records are cut in id order (so a part's name depends
    only on its records and options, and a resumed build finds it); the units are then
    ordered by :func:`expected_seconds`, longest first, so that the last units of a build
    are short ones and no worker is left alone with a long unit while the others idle.
    """
    if any(isinstance(r.media, FeatureShard) for r in records):
        part_size = 1
    by_split: dict[str, list[ClipRecord]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r.id):
        by_split[r.split].append(r)
    units = []
    settings = _settings_hash(ctx)
    for split in sorted(by_split):
        for chunk in _chunks(ctx, by_split[split], part_size):
            key = _unit_key(ctx, chunk, settings)
            path = parts.join(work, "parts", ctx.config, f"{split}-{key}.parquet")
            units.append(WorkUnit(ctx, ctx.config, split, chunk, path))
    cost = expected_seconds(records)
    # sorted() is stable: units of equal cost keep the (split, id) order.
    return sorted(units, key=lambda u: -sum(cost(r) for r in u.records))


def expected_seconds(records: list[ClipRecord]) -> Callable[[ClipRecord], float]:
    """How long each record's clip is expected to be, in seconds, as the plan knows it:
    ``end_time - start_time`` where both are known, else the mean of the records that
    have both (1 when none has: every record then weighs the same). The unit cost this
    gives is the work of the unit at one resolution; a plan does not know pixels."""
    total, n = 0.0, 0  # summed in order, as sum() of the list would (no list of a million floats)
    for r in records:
        if r.start_time is not None and r.end_time is not None:
            total += r.end_time - r.start_time
            n += 1
    default = total / n if n else 1.0

    def cost(r: ClipRecord) -> float:
        if r.start_time is not None and r.end_time is not None:
            return max(0.0, r.end_time - r.start_time)
        return default

    return cost


def _chunks(ctx: ProduceContext, records: list[ClipRecord], size: int) -> list[list[ClipRecord]]:
    """``records`` in runs of ``size``, a run running on while the next record shares the
    last one's pass key."""
    chunks: list[list[ClipRecord]] = []
    chunk: list[ClipRecord] = []
    last_key: str | None = None
    for r in records:
        key = ctx.pass_key(r)
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
    (not finished, or finished with exclusions worth retrying, such as transient download failures)."""
    if not unit.is_done():
        return None
    done = parts.read_manifest(unit.path)
    excl = [Exclusion(**e) for e in done["exclusions"]]
    if unit.context.should_redo(excl):
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
    for record, produced in zip(unit.records, produce_records(unit.records, unit.context), strict=True):
        if isinstance(produced, Exception):
            exclusions.append(_excluded(record, produced))
            failed[exclusions[-1].reason] += 1
            read += 1
            continue
        rows.extend(produced.rows)
        exclusions.extend(produced.exclusions)
        truncated.extend(produced.truncated)
        silent_audio.extend(produced.silent_audio)
        read += produced.read
    feats = unit.context.features
    table = rows_to_table(rows, feats) if rows else _schema(feats).empty_table()
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
