"""Building one config: plan -> units -> runner -> final shards -> reports.

1. the source builder parses its raw files into records and exclusions (its *plan*);
2. records are cut into units (:mod:`.units`); units an earlier run finished are skipped;
3. a runner encodes the other units into Parquet parts;
4. the parts become the config's final shards, swapped in atomically, after the split rule
   (a duplicate cluster or a group of the config never straddles splits);
5. the pipeline writes the config's reports: ``reports/<config>.json``, the excluded
   records, and for sources that download, the download ledger.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
from tqdm.auto import tqdm

from dance_aggregate import __version__
from dance_aggregate.builders.base import SourceBuilder
from dance_aggregate.builders.youtube import YouTubeSourceBuilder, fetch_requests
from dance_aggregate.dedup import KEY_COLUMNS, Analysis, split_rule_on_keys
from dance_aggregate.output import parts
from dance_aggregate.output.layout import WORK_DIR, ledger_path
from dance_aggregate.output.reports import Accounting, accounting_from, write_reports
from dance_aggregate.output.shards import write_config_from_parts
from dance_aggregate.pipeline.defaults import DEFAULT_OUTPUT, DEFAULT_PART_SIZE
from dance_aggregate.pipeline.runners import LocalRunner, Runner
from dance_aggregate.pipeline.units import UnitResult, finished_result, plan_units, run_unit
from dance_aggregate.records import ClipRecord, Exclusion
from dance_aggregate.schema import SPLITS, arrow_schema

logger = logging.getLogger(__name__)

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
    """

    output: Path = DEFAULT_OUTPUT
    part_size: int = DEFAULT_PART_SIZE
    progress: bool = True
    runner: Runner | None = None
    work_dir: str | None = None

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        if self.part_size < 1:
            raise ValueError(f"part_size must be >= 1, got {self.part_size}")

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

    def add(self, res: UnitResult) -> None:
        self.read += res.read
        self.rows_by_split[res.split] += res.rows
        self.parts_by_split[res.split].append(res.path)
        self.exclusions.extend(res.exclusions)


def build_config(builder: SourceBuilder, settings: RunSettings) -> ConfigResult:
    """Build one config into ``settings.output``.

    Args:
        builder: The configured source builder.
        settings: Where and how its units run.

    Returns:
        The accounting and the shards written.

    Raises:
        DanceAggregateError: for bad input that stops this config (wrong data dir,
            unreadable annotation file). Single broken clips never raise.
    """
    t0 = time.monotonic()
    config = builder.config_name
    logger.info("%s: reading annotations from %s", config, builder.data_dir)
    plan = builder.plan()
    timings = {"plan": time.monotonic() - t0}
    tally = _Tally(read=sum(e.count for e in plan.exclusions), exclusions=list(plan.exclusions))
    folder = settings.output
    try:
        _run_units(builder, plan.records, settings, tally)
    finally:
        # Also after an interruption: the ledger says what was fetched so far.
        if isinstance(builder, YouTubeSourceBuilder):
            _write_download_ledger(builder, plan.records, folder)
    timings["units"] = time.monotonic() - t0 - timings["plan"]
    shards, rows_by_split, dedup = _write_shards(folder, config, tally.parts_by_split, settings.progress)
    acc = accounting_from(config, tally.read, rows_by_split, tally.exclusions)
    elapsed = time.monotonic() - t0
    timings["shards"] = elapsed - timings["plan"] - timings["units"]
    logger.info("%s: %s", config, ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    write_reports(
        folder,
        acc,
        tally.exclusions,
        {
            "config": config,
            "source": builder.source,
            "builder_options": asdict(builder.options),
            "encode_options": asdict(builder.encode),
            "data_dir": str(builder.data_dir),
            "dance_aggregate_version": __version__,
            "elapsed_seconds": round(elapsed, 2),
            # Where the time went: parsing the plan, running the units (the runner's
            # part, parallel), assembling the final shards from the parts (serial).
            "timings": {f"{k}_seconds": round(v, 2) for k, v in timings.items()},
            "dedup": dedup.summary(),
            "split_moves": [m.to_dict() for m in dedup.moves],
        },
    )
    acc.check()
    return ConfigResult(config, acc, shards, elapsed)


def _run_units(builder: SourceBuilder, records: list[ClipRecord], settings: RunSettings, tally: _Tally) -> None:
    """Run every unit of the plan not finished by an earlier run, with a progress bar."""
    config = builder.config_name
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
    bar = tqdm(total=len(records), initial=n_done, desc=f"{config}: {noun}s", unit=noun, disable=not settings.progress)
    excluded = 0
    try:
        for res in settings.get_runner().run(run_unit, todo):
            tally.add(res)
            excluded += sum(e.count for e in res.exclusions)
            bar.update(res.planned)
            bar.set_postfix(ok=sum(tally.rows_by_split.values()), failed=excluded, pending=bar.total - bar.n)
    finally:
        bar.close()


def _write_download_ledger(builder: YouTubeSourceBuilder, records: list[ClipRecord], folder: Path) -> None:
    """``reports/<config>.download_ledger.csv``: one row per range the plan downloads."""
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
    )
    logger.info("%s: download ledger: %s", builder.config_name, ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


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
    all_keys = _concat_keys(keys, key_columns)
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
    return shards, dict(Counter(dedup.new_splits)), dedup


def _concat_keys(tables: list[pa.Table], columns: list[str]) -> pa.Table:
    """Concatenate key-column tables (an empty one with those columns when there are none)."""
    if tables:
        return pa.concat_tables(tables)
    return arrow_schema().empty_table().select(columns)
