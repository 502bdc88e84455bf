"""Building one config: plan -> units -> runner -> final shards -> reports.

1. the source builder parses its raw files into records and exclusions (its *plan*);
2. records are cut into units (:mod:`.units`); units an earlier run finished are skipped;
3. a runner encodes the other units into Parquet parts;
4. the parts become the config's final shards, swapped in atomically, after the split rule
   (a duplicate cluster or a group of the config never straddles splits);
5. the pipeline writes the config's reports: ``reports/<config>.json``, the excluded
   records, and for sources that download, the download ledger.

The reports are written in full before the shards are swapped in and renamed into place
right after, so a full disk at any step leaves the previous build of the config as it was.

**The failure cap** (:class:`FailureCap`): one bad record costs only itself, but when most
records of a config fail for the *same* reason, the cause is not the data: a missing codec,
a bug, a blocked network, expired cookies. Once ``min_records`` plan records have been
tried, if more than ``max_share`` of them failed with one reason (``unexpected error``, one
media error reason, one download failure), the config stops with
:class:`~dance_aggregate.errors.TooManyFailures` instead of writing a near-empty dataset.
Reasons that are facts about single records (a removed or private video, a clip missing
from an offline mirror: :meth:`~dance_aggregate.builders.base.SourceBuilder.expected_failure`)
never count. The same cap applies to ``unexpected error`` exclusions of the plan.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from dance_aggregate import __version__
from dance_aggregate.builders.annotations import UNEXPECTED
from dance_aggregate.builders.base import SourceBuilder
from dance_aggregate.builders.youtube import YouTubeSourceBuilder, fetch_requests
from dance_aggregate.dedup import KEY_COLUMNS, Analysis, split_rule_on_keys
from dance_aggregate.dedup.pretraining import PretrainingSet, overlap_column
from dance_aggregate.errors import TooManyFailures
from dance_aggregate.output import parts
from dance_aggregate.output.atomic import staged_writes
from dance_aggregate.output.layout import WORK_DIR, ledger_path
from dance_aggregate.output.reports import Accounting, accounting_from, report_files
from dance_aggregate.output.shards import write_config_from_parts
from dance_aggregate.pipeline.defaults import (
    DEFAULT_FAILURE_MIN_RECORDS,
    DEFAULT_MAX_FAILURE_SHARE,
    DEFAULT_OUTPUT,
    DEFAULT_PART_SIZE,
)
from dance_aggregate.pipeline.runners import LocalRunner, Runner
from dance_aggregate.pipeline.units import UnitResult, finished_result, plan_units, run_unit
from dance_aggregate.progress import progress_bar
from dance_aggregate.records import ClipRecord, Exclusion, Plan
from dance_aggregate.schema import SPLITS, arrow_schema

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class FailureCap:
    """When a config stops early because most of its records fail for one reason.

    Attributes:
        min_records: Plan records tried before the cap is looked at (small configs are
            never stopped by it).
        max_share: Stop when more than this share of the records tried failed with one
            reason; ``1.0`` turns the cap off.
    """

    min_records: int = DEFAULT_FAILURE_MIN_RECORDS
    max_share: float = DEFAULT_MAX_FAILURE_SHARE

    def __post_init__(self) -> None:
        if self.min_records < 1:
            raise ValueError(f"the failure cap's min_records must be >= 1, got {self.min_records}")
        if not 0.0 < self.max_share <= 1.0:
            raise ValueError(f"the failure cap's max_share must be in (0, 1], got {self.max_share}")

    def check(self, config: str, tried: int, failed: Counter[str], examples: dict[str, str], total: int, noun: str) -> None:
        """Raise :class:`TooManyFailures` when ``failed`` (reason -> records) crosses the cap."""
        if tried < self.min_records or not failed:
            return
        reason, n = failed.most_common(1)[0]
        if n / tried <= self.max_share:
            return
        raise TooManyFailures(
            f"{config}: stopped after {tried} of {total} {noun}s: {n} ({100 * n / tried:.0f}%) failed with "
            f"{reason!r}, e.g. {examples.get(reason, '')[:300]}\n"
            f"So many failures for one reason are not bad records but a broken setup (a missing codec, a bug, "
            f"a blocked network, expired cookies). Fix the cause and run the same command again (finished "
            f"{noun}s are kept), or raise the cap: --max-failure-share 1 turns it off"
        )


@dataclass
class RunSettings:
    """How one config's units run and where its output goes.

    Attributes:
        output: The output folder.
        part_size: Clips per unit of work (the resume granularity).
        progress: Show progress bars.
        runner: The runner (``None``: units run in this process).
        work_dir: Where units write their parts: a local path or an fsspec URL every
            worker reaches (``None``: ``<output>/.work``).
        failure_cap: When the config stops early because most records fail for one reason.
        pretraining: Sets of YouTube ids (:mod:`dance_aggregate.dedup.pretraining`) that
            fill each row's ``pretraining_overlap`` as the shards are written.
        shards: Shards per split of the final output (``None``: sized automatically).
    """

    output: Path = DEFAULT_OUTPUT
    part_size: int = DEFAULT_PART_SIZE
    progress: bool = True
    runner: Runner | None = None
    work_dir: str | None = None
    failure_cap: FailureCap = field(default_factory=FailureCap)
    pretraining: Sequence[PretrainingSet] = ()
    shards: int | None = None

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        if self.part_size < 1:
            raise ValueError(f"part_size must be >= 1, got {self.part_size}")
        if self.shards is not None and self.shards < 1:
            raise ValueError(f"shards must be >= 1, got {self.shards}")

    def get_runner(self) -> Runner:
        """The runner to use."""
        return self.runner or LocalRunner(1)

    def get_work_dir(self) -> str:
        """The work folder (local path or URL) that holds the parts."""
        return str(self.work_dir) if self.work_dir else str(self.output / WORK_DIR)


@dataclass
class ConfigResult:
    """The outcome of building one config."""

    config: str
    accounting: Accounting
    shards: dict[str, list[str]]
    elapsed: float


@dataclass
class _Tally:
    """What the units of a config produced so far."""

    read: int = 0
    rows_by_split: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    parts_by_split: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    exclusions: list[Exclusion] = field(default_factory=list)
    truncated: list[dict[str, Any]] = field(default_factory=list)
    silent_audio: list[dict[str, Any]] = field(default_factory=list)

    def add(self, res: UnitResult) -> None:
        self.read += res.read
        self.rows_by_split[res.split] += res.rows
        self.parts_by_split[res.split].append(res.path)
        self.exclusions.extend(res.exclusions)
        self.truncated.extend(res.truncated)
        self.silent_audio.extend(res.silent_audio)


def build_config(builder: SourceBuilder, settings: RunSettings) -> ConfigResult:
    """Build one config into ``settings.output``.

    Args:
        builder: The configured source builder.
        settings: Where and how its units run.

    Returns:
        The accounting and the shards written.

    Raises:
        DanceAggregateError: for bad input that stops this config (wrong data dir,
            unreadable annotation file), :class:`TooManyFailures` when the failure cap
            stops it, :class:`~dance_aggregate.errors.DiskFullError` on a full disk.
            Single broken records never raise.
    """
    t0 = time.monotonic()
    config = builder.config_name
    logger.info("%s: reading annotations from %s", config, builder.data_dir)
    plan = builder.plan()
    timings = {"plan": time.monotonic() - t0}
    _check_plan(plan, settings.failure_cap, config)
    tally = _Tally(read=sum(e.count for e in plan.exclusions), exclusions=list(plan.exclusions))
    folder = settings.output
    local_roots = _local_roots(builder, settings)
    try:
        _run_units(builder, plan.records, settings, tally)
    finally:
        # Also after an interruption: the ledger says what was fetched so far.
        if isinstance(builder, YouTubeSourceBuilder):
            _write_download_ledger(builder, plan.records, folder, local_roots)
    timings["units"] = time.monotonic() - t0 - timings["plan"]
    final = _SplitRule.of(tally.parts_by_split)
    acc = accounting_from(config, tally.read, final.rows_by_split(), tally.exclusions)
    acc.truncated = len(tally.truncated)
    acc.silent_audio = len(tally.silent_audio)
    elapsed = time.monotonic() - t0
    timings["split_rule"] = elapsed - timings["plan"] - timings["units"]
    extra = {
        "config": config,
        "source": builder.source,
        "builder_options": _without_local_paths(asdict(builder.options)),
        "encode_options": asdict(builder.encode),
        # The folder's name only: reports are published, local paths are not.
        "data_dir": Path(builder.data_dir).name,
        "dance_aggregate_version": __version__,
        "elapsed_seconds": round(elapsed, 2),
        # Where the time went: parsing the plan, running the units (the runner's part,
        # parallel), reading the parts' key columns for the split rule (serial). Writing
        # the final shards comes after the report is made; the log line has it.
        "timings": {f"{k}_seconds": round(v, 2) for k, v in timings.items()},
        "dedup": final.dedup.summary(),
        "split_moves": [m.to_dict() for m in final.dedup.moves],
        "pretraining": [s.describe() for s in settings.pretraining],
        # Rows whose media covers less than their annotated range, stored with their
        # true times (README: "Times that match the media").
        "truncated": sorted(tally.truncated, key=lambda t: t["id"]),
        # Rows whose source audio track is digital silence (or has no samples in the
        # clip): stored with has_audio false and no audio (docs/audio.md).
        "silent_audio": sorted(tally.silent_audio, key=lambda t: t["id"]),
    }
    # Reports are written first under temporary names and renamed once the shards are in.
    files = report_files(folder, acc, tally.exclusions, extra, local_roots)
    with staged_writes(files, "report"):
        shards = final.write(folder, config, settings.progress, settings.pretraining, settings.shards)
    timings["shards"] = time.monotonic() - t0 - elapsed
    logger.info("%s: %s", config, ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    acc.check()
    return ConfigResult(config, acc, shards, elapsed)


def _local_roots(builder: SourceBuilder, settings: RunSettings) -> list[Path]:
    """The local folders a report's details may name, and which it must not publish."""
    roots = [builder.data_dir, builder.video_dir, builder.work_dir, settings.work_dir]
    return [Path(r) for r in roots if r is not None and "://" not in str(r)]


def _without_local_paths(options: dict[str, object]) -> dict[str, object]:
    """Options as published in the reports: a path value (``-o letsdance.splits=DIR``) keeps
    only its last component, so no local path of the builder's machine is published."""
    return {k: Path(v).name if isinstance(v, str) and Path(v).is_absolute() else v for k, v in options.items()}


def _check_plan(plan: Plan, cap: FailureCap, config: str) -> None:
    """The failure cap on the plan: a parser that fails most records unexpectedly is a bug."""
    unexpected = [e for e in plan.exclusions if e.reason == UNEXPECTED]
    if unexpected:
        counts = Counter({UNEXPECTED: sum(e.count for e in unexpected)})
        cap.check(config, plan.records_read, counts, {UNEXPECTED: unexpected[0].detail}, plan.records_read, "record")


def _run_units(builder: SourceBuilder, records: list[ClipRecord], settings: RunSettings, tally: _Tally) -> None:
    """Run every unit of the plan not finished by an earlier run, with a progress bar."""
    config = builder.config_name
    planned_exclusions = sum(e.count for e in tally.exclusions)
    todo = []
    for unit in plan_units(builder, records, settings.get_work_dir(), settings.part_size):
        res = finished_result(unit)
        if res is None:
            todo.append(unit)
        else:
            tally.add(res)
    n_done = len(records) - sum(len(u.records) for u in todo)
    if n_done:
        logger.info("%s: %d %ss already encoded by an earlier run; resuming", config, n_done, builder.record_noun)
    noun = builder.record_noun
    bar = progress_bar(len(records), f"{config}: {noun}s", noun, enabled=settings.progress, initial=n_done)
    # Exclusions are records that are not rows (not a dance class, a missing video...): most
    # are expected, so the bar calls them exclusions, never failures. Plan-time ones are not
    # among the bar's records, so only the units' own are counted.
    excluded = sum(e.count for e in tally.exclusions) - planned_exclusions
    tried = 0
    failed: Counter[str] = Counter()
    examples: dict[str, str] = {}
    results = settings.get_runner().run(run_unit, todo)
    try:
        for res in results:
            tally.add(res)
            excluded += sum(e.count for e in res.exclusions)
            bar.set_postfix({"rows": sum(tally.rows_by_split.values()), "excluded": excluded})  # in this order
            bar.update(res.planned)
            tried += res.planned
            for reason, n in res.failed.items():
                if not builder.expected_failure(reason):
                    failed[reason] += n
                    examples.setdefault(reason, next((e.detail for e in res.exclusions if e.reason == reason), ""))
            settings.failure_cap.check(config, tried, failed, examples, len(records) - n_done, noun)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()  # stop handing out units when the cap (or an error) stops the config
        bar.close()


def _write_download_ledger(
    builder: YouTubeSourceBuilder, records: list[ClipRecord], folder: Path, local_roots: list[Path]
) -> None:
    """``reports/<config>.download_ledger.csv``: one row per range the plan downloads, with
    no local path of ``local_roots`` or ``folder`` in it."""
    requests = fetch_requests(records)
    if not requests or builder.work_dir is None:
        return
    from dance_aggregate.fetch.ledger import Ledger, write_ledger_csv

    ledger = Ledger(builder.fetch_folder() / "ledger")
    entries = ledger.entries([r.key for r in requests])
    seen = {e.key for e in entries}
    counts = write_ledger_csv(
        ledger_path(folder, builder.config_name),
        entries,
        [(r.key, r.youtube_id) for r in requests if r.key not in seen],
        local_roots=[*local_roots, folder],
    )
    logger.info("%s: download ledger: %s", builder.config_name, ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


@dataclass
class _SplitRule:
    """The config's final split of every row, decided from the parts' key columns only
    (a duplicate cluster or a group of this config never straddles splits)."""

    part_list: list[tuple[str, str]]
    keys: list[pa.Table]
    all_keys: pa.Table
    dedup: Analysis
    dup_ids: list

    @classmethod
    def of(cls, parts_by_split: dict[str, list[str]]) -> _SplitRule:
        """Read the key columns of every part and apply the split rule."""
        part_list = [(p, split) for split in SPLITS for p in sorted(parts_by_split.get(split, []))]
        key_columns = [*KEY_COLUMNS, "duplicate_ids"]
        keys = [parts.read_part(p, arrow_schema(), columns=key_columns) for p, _ in part_list]
        current = [split for (_, split), k in zip(part_list, keys, strict=True) for _ in range(k.num_rows)]
        all_keys = _concat_keys(keys, key_columns)
        dedup, dup_ids = split_rule_on_keys(all_keys, current)
        return cls(part_list, keys, all_keys, dedup, dup_ids)

    def rows_by_split(self) -> dict[str, int]:
        """Rows per final split."""
        return dict(Counter(self.dedup.new_splits))

    def write(
        self,
        folder: Path,
        config: str,
        progress: bool = False,
        pretraining: Sequence[PretrainingSet] = (),
        num_shards: int | None = None,
    ) -> dict[str, list[str]]:
        """Copy the rows part by part into the config's final shards (bounded memory), each
        split ordered by id, with ``duplicate_ids`` and ``pretraining_overlap`` (from the
        YouTube ids and the ``pretraining`` sets) filled in, and swap them in; ``num_shards``
        per split when given (``--shards``)."""
        return write_config_from_parts(
            folder,
            config,
            [p for p, _ in self.part_list],
            lambda p: parts.read_part(p, arrow_schema()),
            [k.num_rows for k in self.keys],
            [parts.size(p) for p, _ in self.part_list],
            self.dedup.new_splits,
            self.all_keys.column("id").to_pylist(),
            overrides={
                "duplicate_ids": self.dup_ids,
                "pretraining_overlap": overlap_column(self.all_keys.column("youtube_id").to_pylist(), pretraining),
            },
            progress=progress,
            shards=num_shards,
        )


def _concat_keys(tables: list[pa.Table], columns: list[str]) -> pa.Table:
    """Concatenate key-column tables (an empty one with those columns when there are none)."""
    if tables:
        return pa.concat_tables(tables)
    return arrow_schema().empty_table().select(columns)
