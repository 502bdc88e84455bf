"""Building one config: plan -> units -> runner -> final shards -> reports.

1. the source builder parses its raw files into records and exclusions (its *plan*), each
   record with a typed media plan;
2. records are cut into units (:mod:`.units`); units an earlier run finished are skipped;
3. a runner carries out the other units' plans (:mod:`.execute`: fetch, cut, encode) into
   Parquet parts;
4. the parts become the config's final shards, swapped in atomically, after the split rule
   (a duplicate cluster or a group of the config never straddles splits);
5. the pipeline writes the config's reports: ``reports/<config>.json``, the excluded
   records, and for sources that download, the download ledger.

The reports are written in full before the shards are swapped in and renamed into place
right after, so a full disk at any step leaves the previous build of the config as it was.

**The failure cap** (:mod:`.failures`) stops a config whose records mostly fail for one reason.
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
from dance_aggregate.builders import registry
from dance_aggregate.builders.annotations import UNEXPECTED
from dance_aggregate.builders.base import SourceBuilder
from dance_aggregate.builders.classlist import warn_unknown_classes
from dance_aggregate.dedup import KEY_COLUMNS, Analysis, split_rule_on_keys, thresholds
from dance_aggregate.dedup.pretraining import PretrainingSet, overlap_column
from dance_aggregate.errors import ConfigError, EmptyConfig
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.media.clip import EncodeOptions
from dance_aggregate.output import parts
from dance_aggregate.output.assemble import assemble
from dance_aggregate.output.layout import WORK_DIR, ledger_path
from dance_aggregate.output.reports import Accounting, ConfigReport, PretrainingSection, accounting_from
from dance_aggregate.output.shards import Decisions, InputFile
from dance_aggregate.pipeline.defaults import (
    DEFAULT_OUTPUT,
    DEFAULT_PART_SIZE,
)
from dance_aggregate.pipeline.execute import ProduceContext, sorted_requests
from dance_aggregate.pipeline.failures import FailureCap
from dance_aggregate.pipeline.runners import LocalRunner, Runner
from dance_aggregate.pipeline.units import UnitResult, finished_result, plan_units, run_unit
from dance_aggregate.progress import progress_bar
from dance_aggregate.records import ClipRecord, Exclusion, Plan, RemoteCut
from dance_aggregate.schema import SPLITS, arrow_schema, encode_id_list, features

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
        failure_cap: When the config stops early because most records fail for one reason.
        pretraining: Sets of YouTube ids (:mod:`dance_aggregate.dedup.pretraining`) that
            fill each row's ``pretraining_overlap`` as the shards are written.
        shards: Shards per split of the final output (``None``: sized automatically).
        fetch: How videos missing from a mirror are fetched (configs that download only).
        max_short_side: Short side of the stored clips (``None``: each source's default;
            ``0``: the source size).
        politeness: The pause shared by downloaders (``None``: each machine's file lock; a
            cluster build passes a Ray actor).
        sample: The data is the built-in sample (synthetic clips): the reports say so, the
            card says so first, and ``publish`` refuses it unless told.
    """

    output: Path = DEFAULT_OUTPUT
    part_size: int = DEFAULT_PART_SIZE
    progress: bool = True
    runner: Runner | None = None
    work_dir: str | None = None
    failure_cap: FailureCap = field(default_factory=FailureCap)
    pretraining: Sequence[PretrainingSet] = ()
    shards: int | None = None
    fetch: FetchOptions = field(default_factory=FetchOptions)
    max_short_side: int | None = None
    politeness: Any = None
    sample: bool = False

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

    def fetch_folder(self, source: str) -> Path:
        """Cache, ledger and locks of a source's downloads (``<output>/.work/fetch/<source>``,
        always local: locks and the cache need a file system)."""
        return self.output / WORK_DIR / "fetch" / source

    def context(self, builder: SourceBuilder) -> ProduceContext:
        """What a worker needs to carry out ``builder``'s plans."""
        short = builder.default_max_short_side if self.max_short_side is None else (self.max_short_side or None)
        fetches = type(builder).fetches
        reader = type(builder).read_features
        return ProduceContext(
            config=builder.config_name,
            source=builder.source,
            encode=EncodeOptions(max_short_side=builder.max_short_side(short)),
            features=features(),
            options=builder.options,
            read_features=None if reader is SourceBuilder.read_features else reader,
            fetch=self.fetch if fetches else None,
            fetch_folder=str(self.fetch_folder(builder.source)) if fetches else None,
            politeness=self.politeness if fetches else None,
        )


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
        if res.rows:  # a part of no rows adds nothing to the shards: never read it again
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
    ctx = settings.context(builder)
    try:
        _run_units(builder, ctx, plan.records, settings, tally)
    finally:
        # Also after an interruption: the ledger says what was fetched so far.
        if ctx.fetch_folder is not None:
            offline = ctx.fetch is not None and ctx.fetch.offline
            _write_download_ledger(config, Path(ctx.fetch_folder), plan.records, folder, local_roots, offline)
    timings["units"] = time.monotonic() - t0 - timings["plan"]
    # One warning naming the labels that are no class of the source (typos, another release).
    warn_unknown_classes(config, _source_title(builder.source), tally.exclusions)
    inputs, decisions, dedup, overlap = _decide(tally.parts_by_split, settings.pretraining)
    acc = accounting_from(config, tally.read, decisions.rows_by_split(), tally.exclusions)
    acc.truncated = len(tally.truncated)
    acc.silent_audio = len(tally.silent_audio)
    elapsed = time.monotonic() - t0
    timings["split_rule"] = elapsed - timings["plan"] - timings["units"]
    report = ConfigReport(
        config=config,
        accounting=acc,
        source=builder.source,
        shards=settings.shards,
        builder_options=_without_local_paths(asdict(builder.options)),
        encode_options=asdict(ctx.encode),
        # The folder's name only: reports are published, local paths are not.
        data_dir=Path(builder.data_dir).name,
        dedup=dedup.summary(),
        thresholds=thresholds(),
        split_moves=[m.to_dict() for m in dedup.moves],
        pretraining=_pretraining_section(settings.pretraining, overlap, decisions.splits),
        # Rows whose media covers less than their annotated range, stored with their
        # true times (README: "Times that match the media").
        truncated=sorted(tally.truncated, key=lambda t: t["id"]),
        # Rows whose source audio track is digital silence (or has no samples in the
        # clip): stored with has_audio false and no audio (docs/audio.md).
        silent_audio=sorted(tally.silent_audio, key=lambda t: t["id"]),
        sample=settings.sample,
        dance_aggregate_version=__version__,
        elapsed_seconds=round(elapsed, 2),
        # Where the time went: parsing the plan, running the units (the runner's part,
        # parallel), reading the parts' key columns for the split rule (serial). Writing
        # the final shards comes after the report is made; the log line has it.
        timings={f"{k}_seconds": round(v, 2) for k, v in timings.items()},
    )
    acc.check()
    if acc.records_read and not acc.rows_written:
        raise EmptyConfig(_empty_message(config, acc, tally.exclusions), acc)
    shards = assemble(
        folder, report, tally.exclusions, inputs, lambda p: parts.read_part(p, arrow_schema()), decisions,
        local_roots=local_roots, progress=settings.progress, shards=settings.shards,
    )
    timings["shards"] = time.monotonic() - t0 - elapsed
    logger.info("%s: %s", config, ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return ConfigResult(config, acc, shards, elapsed)


def _empty_message(config: str, acc: Accounting, exclusions: list[Exclusion]) -> str:
    """Why a config that read records wrote no row: its main reasons, an example of each,
    and the usual fix."""
    lines = [f"{config}: {acc.records_read} records read, 0 rows written; nothing was written for it. Main reasons:"]
    for reason, n in sorted(acc.excluded.items(), key=lambda kv: (-kv[1], kv[0]))[:4]:
        example = next((e.detail for e in exclusions if e.reason == reason), "")
        lines.append(f"  {n} {reason}" + (f" (e.g. {example[:200]})" if example else ""))
    if any(r.startswith(("missing video", "download failed")) for r in acc.excluded):
        lines.append("Fix: give the videos (--video-dir SOURCE=PATH), or let the build download them (no --offline)")
    elif "not a dance class" in acc.excluded or "unknown class" in acc.excluded:
        lines.append("Fix: check that --data-dir names this source's files (no record of a dance class was found)")
    return "\n".join(lines)


def _source_title(name: str) -> str:
    """The display name of a registered source (its name for a builder of no registered source)."""
    try:
        return registry.source(name).title
    except ConfigError:
        return name


def _local_roots(builder: SourceBuilder, settings: RunSettings) -> list[Path]:
    """The local folders a report's details may name, and which it must not publish."""
    roots = [builder.data_dir, builder.video_dir, settings.output / WORK_DIR, settings.work_dir]
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


def _run_units(
    builder: SourceBuilder, ctx: ProduceContext, records: list[ClipRecord], settings: RunSettings, tally: _Tally
) -> None:
    """Run every unit of the plan not finished by an earlier run, with a progress bar."""
    config = builder.config_name
    planned_exclusions = sum(e.count for e in tally.exclusions)
    todo = []
    for unit in plan_units(ctx, records, settings.get_work_dir(), settings.part_size):
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
                if not ctx.expected_failure(reason):
                    failed[reason] += n
                    examples.setdefault(reason, next((e.detail for e in res.exclusions if e.reason == reason), ""))
            settings.failure_cap.check(config, tried, failed, examples, len(records) - n_done, noun)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()  # stop handing out units when the cap (or an error) stops the config
        bar.close()


def _write_download_ledger(
    config: str, fetch_folder: Path, records: list[ClipRecord], folder: Path, local_roots: list[Path], offline: bool
) -> None:
    """``reports/<config>.download_ledger.csv``: one row per range the plan downloads, in key
    order, with no local path of ``local_roots`` or ``folder`` in it."""
    if not any(isinstance(r.media, RemoteCut) for r in records):
        return
    from dance_aggregate.fetch.ledger import Ledger, report_rows, write_ledger_report

    rows = report_rows(Ledger(fetch_folder / "ledger"), sorted_requests(records), offline=offline)
    with_url = any(isinstance(r.media, RemoteCut) and r.media.url is not None for r in records)
    counts = write_ledger_report(ledger_path(folder, config), rows, [*local_roots, folder], with_url=with_url)
    logger.info("%s: download ledger: %s", config, ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


def _decide(
    parts_by_split: dict[str, list[str]], pretraining: Sequence[PretrainingSet]
) -> tuple[list[InputFile], Decisions, Analysis, list[list[str] | None]]:
    """The config's final split of every row, decided from the parts' key columns only (a
    duplicate cluster or a group of the config never straddles splits), each row's
    ``duplicate_ids`` and its ``pretraining_overlap`` (from its YouTube id and the sets; also
    returned as lists, the decisions hold the stored text)."""
    part_list = [(p, split) for split in SPLITS for p in sorted(parts_by_split.get(split, []))]
    key_columns = [*KEY_COLUMNS, "duplicate_ids"]
    schema = arrow_schema()
    keys = [parts.read_part(p, schema, columns=key_columns) for p, _ in part_list]
    current = [split for (_, split), k in zip(part_list, keys, strict=True) for _ in range(k.num_rows)]
    all_keys = pa.concat_tables(keys) if keys else arrow_schema().empty_table().select(key_columns)
    dedup, dup_ids = split_rule_on_keys(all_keys, current)
    inputs = [InputFile(p, k.num_rows, parts.size(p)) for (p, _), k in zip(part_list, keys, strict=True)]
    overlap = overlap_column(all_keys.column("youtube_id").to_pylist(), pretraining)
    decisions = Decisions(
        dedup.new_splits,
        all_keys.column("id").to_pylist(),
        {
            "duplicate_ids": [encode_id_list(d) for d in dup_ids],
            "pretraining_overlap": [encode_id_list(v) for v in overlap],
            # The split its source gave it (before the split rule joined duplicates and groups).
            "official_split": current,
        },
    )
    return inputs, decisions, dedup, overlap


def _pretraining_section(sets: Sequence[PretrainingSet], overlap: Sequence[list[str] | None],
                         splits: Sequence[str | None]) -> PretrainingSection:
    """The sets the rows were checked against and the rows found in each, per split."""
    found: dict[str, Counter[str]] = {s.name: Counter() for s in sets}
    for names, split in zip(overlap, splits, strict=True):
        for name in names or []:
            found[name][split] += 1
    return PretrainingSection(
        sets=[s.describe() for s in sets],
        rows_checked=sum(1 for v in overlap if v is not None),
        rows_overlapping={name: dict(c) for name, c in found.items()},
    )
