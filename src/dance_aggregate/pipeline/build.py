"""The build pipeline: builder plan -> work units -> Parquet parts -> shards, reports, card.

``build_config`` is what ``dance-aggregate build CONFIG`` runs for each config:

1. the source builder parses its raw files into records and exclusions (its *plan*);
2. records are cut into units of ``part_size`` clips per split; a unit's key is a hash of
   its record ids and options, so a rerun with the same input finds the parts it already
   wrote in ``.work/`` and skips them (resume after a crash or Ctrl-C);
3. a runner encodes each unit into one Parquet part plus a manifest of what it excluded
   (one broken clip is excluded with its reason, never fatal);
4. the parts become the config's final shards, swapped in atomically, with its report;
5. the card (``README.md``) is rendered from every config present in the folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from tqdm.auto import tqdm

from dance_aggregate import __version__
from dance_aggregate.output import parts
from dance_aggregate.builders.base import SourceBuilder
from dance_aggregate.dedup import KEY_COLUMNS, Analysis, split_rule_on_keys
from dance_aggregate.errors import DanceAggregateError, MediaError
from dance_aggregate.records import ClipRecord, Exclusion
from dance_aggregate.output.reports import Accounting, accounting_from, write_reports
from dance_aggregate.pipeline.runners import LocalRunner, Runner
from dance_aggregate.schema import SPLITS, arrow_schema, rows_to_table
from dance_aggregate.output.layout import WORK_DIR
from dance_aggregate.output.shards import write_config_from_parts

logger = logging.getLogger(__name__)

#: Default output folder of a build.
DEFAULT_OUTPUT = Path("dance_aggregate")
#: Default number of clips per unit of work (one Parquet part).
DEFAULT_PART_SIZE = 32


@dataclass
class BuildOptions:
    """Options of a build, from the CLI down to the pipeline (defaults live here).

    Attributes:
        output: The output folder.
        workers: Worker processes.
        part_size: Clips per unit of work.
        progress: Show progress bars.
        runner: The runner (``None``: a :class:`LocalRunner` with ``workers``).
        work_dir: Where units write their parts: a local path or an fsspec URL every
            worker reaches (``None``: ``<output>/.work``).
    """

    output: Path = DEFAULT_OUTPUT
    workers: int = 1
    part_size: int = DEFAULT_PART_SIZE
    progress: bool = True
    runner: Runner | None = None
    work_dir: str | None = None

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.part_size < 1:
            raise ValueError(f"part_size must be >= 1, got {self.part_size}")

    def get_runner(self) -> Runner:
        """The runner to use."""
        return self.runner or LocalRunner(self.workers)

    def get_work_dir(self) -> str:
        """The work folder (local path or URL) that holds the parts."""
        return str(self.work_dir) if self.work_dir else str(self.output / WORK_DIR)


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
    """What a unit produced."""

    path: str
    split: str
    rows: int
    exclusions: list[Exclusion] = field(default_factory=list)
    skipped: bool = False
    #: Input records read (``rows + excluded``; more than the unit's plan records when
    #: the builder expands them, as YouTube-8M shards do).
    read: int = 0
    #: Plan records in the unit (for progress).
    planned: int = 0


@dataclass
class ConfigResult:
    """The outcome of building one config."""

    config: str
    accounting: Accounting
    shards: dict[str, list[str]]
    elapsed: float


def _unit_key(builder: SourceBuilder, records: list[ClipRecord]) -> str:
    h = hashlib.sha1()
    h.update(__version__.encode())
    h.update(repr(builder.options).encode())
    h.update(repr(builder.encode).encode())
    for r in records:
        h.update(json.dumps(r.to_dict(), sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def plan_units(builder: SourceBuilder, records: list[ClipRecord], work: str | Path, part_size: int) -> list[WorkUnit]:
    """Cut records into units of at most ``part_size`` clips per split (deterministic).

    ``work`` is the work folder, a local path or an fsspec URL. A builder whose records
    expand into many rows (``expands_records``) gets one record per unit, so a worker holds
    one shard's rows at a time.
    """
    if builder.expands_records:
        part_size = 1
    by_split: dict[str, list[ClipRecord]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r.id):
        by_split[r.split].append(r)
    units = []
    for split in sorted(by_split):
        recs = by_split[split]
        for i in range(0, len(recs), part_size):
            chunk = recs[i : i + part_size]
            key = _unit_key(builder, chunk)
            path = parts.join(work, "parts", builder.config_name, f"{split}-{key}.parquet")
            units.append(WorkUnit(builder, builder.config_name, split, chunk, path))
    return units


def run_unit(unit: WorkUnit) -> UnitResult:
    """Encode one unit into its part (skip when already done). Runs in a worker."""
    if unit.is_done():
        done = parts.read_manifest(unit.path)
        excl = [Exclusion(**e) for e in done["exclusions"]]
        if not unit.builder.should_redo(excl):
            return UnitResult(
                unit.path,
                unit.split,
                done["rows"],
                excl,
                skipped=True,
                read=done.get("read", done["rows"] + sum(e.count for e in excl)),
                planned=len(unit.records),
            )
    rows: list[dict[str, Any]] = []
    exclusions: list[Exclusion] = []
    read = 0
    for record in unit.records:
        read += 1
        try:
            if unit.builder.expands_records:
                many, excl, n_read = unit.builder.materialize_many(record)
                rows.extend(many)
                exclusions.extend(excl)
                read += n_read - 1
            else:
                rows.append(unit.builder.materialize(record))
        except MediaError as exc:
            logger.warning("%s: excluded (%s): %s", record.id, exc.reason, exc)
            exclusions.append(Exclusion(record.id, exc.reason, str(exc), record.split, record.source_label))
        except DanceAggregateError as exc:
            logger.warning("%s: excluded: %s", record.id, exc)
            exclusions.append(Exclusion(record.id, "error", str(exc), record.split, record.source_label))
        except Exception as exc:  # noqa: BLE001 - one broken clip never kills a build
            logger.error("%s: unexpected error, clip excluded:\n%s", record.id, traceback.format_exc())
            exclusions.append(
                Exclusion(record.id, "unexpected error", f"{type(exc).__name__}: {exc}", record.split, record.source_label)
            )
    table = rows_to_table(rows) if rows else arrow_schema().empty_table()
    # Part first, manifest last: a worker killed in between leaves no manifest, so the
    # unit is redone (by the engine's retry or the next run), never counted twice.
    parts.write_part(table, unit.path)
    parts.write_manifest(unit.path, {"rows": len(rows), "read": read, "exclusions": [e.to_dict() for e in exclusions]})
    return UnitResult(unit.path, unit.split, len(rows), exclusions, read=read, planned=len(unit.records))


def build_config(builder: SourceBuilder, options: BuildOptions) -> ConfigResult:
    """Build one config into ``options.output``.

    Args:
        builder: The configured source builder.
        options: Build options.

    Returns:
        The accounting and the shards written.

    Raises:
        DanceAggregateError: for bad input that stops this config (wrong data dir,
            unreadable annotation file). Single broken clips never raise.
    """
    t0 = time.monotonic()
    config = builder.config_name
    folder = options.output
    work = options.get_work_dir()
    logger.info("%s: reading annotations from %s", config, builder.data_dir)
    plan = builder.plan()
    units = plan_units(builder, plan.records, work, options.part_size)
    exclusions = list(plan.exclusions)
    records_read = sum(e.count for e in plan.exclusions)
    rows_by_split: dict[str, int] = defaultdict(int)
    parts_by_split: dict[str, list[str]] = defaultdict(list)
    todo = []
    for unit in units:
        res = _finished(unit)
        if res is not None:
            _collect(res, rows_by_split, parts_by_split, exclusions)
            records_read += res.read
        else:
            todo.append(unit)
    n_done = len(plan.records) - sum(len(u.records) for u in todo)
    if n_done:
        logger.info("%s: %d clips already encoded by an earlier run; resuming", config, n_done)
    unit_name = "shard" if builder.expands_records else "clip"
    bar = tqdm(
        total=len(plan.records),
        initial=n_done,
        desc=f"{config}: {unit_name}s",
        unit=unit_name,
        disable=not options.progress,
    )
    failed = 0
    try:
        for res in options.get_runner().run(run_unit, todo):
            _collect(res, rows_by_split, parts_by_split, exclusions)
            records_read += res.read
            failed += sum(e.count for e in res.exclusions)
            bar.update(res.planned)
            bar.set_postfix(ok=sum(rows_by_split.values()), failed=failed, pending=bar.total - bar.n)
    finally:
        bar.close()
        builder.finish(folder)
    shards, rows_by_split, dedup = _write_shards(folder, config, parts_by_split, options.progress)
    acc = accounting_from(config, records_read, rows_by_split, exclusions)
    elapsed = time.monotonic() - t0
    write_reports(
        folder,
        acc,
        exclusions,
        {
            "config": config,
            "source": builder.source,
            "builder_options": asdict(builder.options),
            "encode_options": asdict(builder.encode),
            "data_dir": str(builder.data_dir),
            "dance_aggregate_version": __version__,
            "elapsed_seconds": round(elapsed, 2),
            "dedup": dedup.summary(),
            "split_moves": [m.to_dict() for m in dedup.moves],
        },
    )
    acc.check()
    return ConfigResult(config, acc, shards, elapsed)


def _write_shards(
    folder: Path, config: str, parts_by_split: dict[str, list[str]], progress: bool = False
) -> tuple[dict[str, list[str]], dict[str, int], Analysis]:
    """Assemble the config's final shards from its parts in bounded memory.

    Only the small key columns of every part are read at once (for the split rule: a
    duplicate cluster or a group of this config never straddles splits); rows are then
    copied part by part into shards, each split ordered by id.
    """
    part_list = [(p, split) for split in SPLITS for p in sorted(parts_by_split.get(split, []))]
    key_columns = [*KEY_COLUMNS, "duplicate_ids"]
    keys = [parts.read_part(p, arrow_schema(), columns=key_columns) for p, _ in part_list]
    current = [split for (_, split), k in zip(part_list, keys, strict=True) for _ in range(k.num_rows)]
    all_keys = concat_keys(keys, key_columns)
    dedup, dup_ids = split_rule_on_keys(all_keys, current)
    shards = write_config_from_parts(
        folder,
        config,
        [p for p, _ in part_list],
        lambda p: parts.read_part(p, arrow_schema()),
        [k.num_rows for k in keys],
        [parts.size(p) for p, _ in part_list],
        dedup.new_splits,
        all_keys.column("id").to_pylist(),
        overrides={"duplicate_ids": dup_ids},
        progress=progress,
    )
    rows_by_split = dict(Counter(dedup.new_splits))
    return shards, rows_by_split, dedup


def concat_keys(tables: list[pa.Table], columns: list[str]) -> pa.Table:
    """Concatenate key-column tables (an empty one with those columns when there are none)."""
    if tables:
        return pa.concat_tables(tables)
    return arrow_schema().empty_table().select(columns)


def _finished(unit: WorkUnit) -> UnitResult | None:
    """The result of a unit an earlier run finished, or None when it must (re)run."""
    if not unit.is_done():
        return None
    if unit.builder.should_redo(_manifest_exclusions(unit)):
        return None
    return run_unit(unit)


def _manifest_exclusions(unit: WorkUnit) -> list[Exclusion]:
    done = parts.read_manifest(unit.path)
    return [Exclusion(**e) for e in done["exclusions"]]


def _collect(
    res: UnitResult,
    rows_by_split: dict[str, int],
    parts_by_split: dict[str, list[str]],
    exclusions: list[Exclusion],
) -> None:
    rows_by_split[res.split] += res.rows
    parts_by_split[res.split].append(res.path)
    exclusions.extend(res.exclusions)


def finalize_folder(folder: Path, progress: bool = False) -> Accounting | None:
    """Steps that span configs, run after every build: the deduplicated ``all`` config
    (rebuilt from the pixel configs present, leakage-checked), then the dataset card.

    The folder is read once into a :class:`~dance_aggregate.output.folder.BuiltFolder`:
    ``build_all`` reads the configs through it and refreshes it after rewriting ``all``
    (only the new shards are read), and the card is written from that same model.

    Returns:
        The accounting of ``all`` (``None`` when the folder has no pixel config).
    """
    from dance_aggregate.dedup.combine import build_all
    from dance_aggregate.hub.card import write_card
    from dance_aggregate.output.folder import BuiltFolder

    built = BuiltFolder.open(folder)
    acc = build_all(built, progress=progress)
    write_card(built)
    return acc
