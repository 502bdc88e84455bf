"""Checks a dataset folder must pass before anything is uploaded to the Hub.

Each check returns a :class:`CheckResult`; a failed one says what is wrong, the value
seen, what was expected and the command that fixes it. :func:`run_checks` runs them all
(it never stops at the first failure, so one run shows every problem) and
:func:`require_passed` turns failures into one :class:`PublishError`.

What is checked, and why:

- ``card``: the README front matter parses with the ``datasets`` metadata classes
  (``MetadataConfigs``, ``DatasetInfosDict``) exactly as ``load_dataset`` and the viewer
  parse it; every ``data_files`` pattern matches shards, every shard is covered by exactly
  one split, ``dataset_info`` has the shared features and the real row counts.
- ``shards``: every shard's footer has exactly the declared Arrow schema (the viewer breaks
  on any difference), its light columns read back, and every media cell has a path ending
  ``.mp4`` / ``.flac`` (the viewer types media by that suffix).
- ``row_groups``: every row group stays far under what the viewer reads at once, every
  column chunk has a page index, and no shard exceeds the shard size limit.
- ``streaming``: enough shards per split for several DataLoader workers (warning only).
- ``leakage``: no group or YouTube id in two splits of ``all``
  (:func:`dance_aggregate.leakage.check_no_leaks`).
- ``accounting``: each config's report adds up and matches the rows in its shards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from datasets import Features
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard

from dance_aggregate.dedup.leakage import check_no_leaks
from dance_aggregate.errors import DanceAggregateError, OutputError
from dance_aggregate.output.folder import BuiltFolder, Shard
from dance_aggregate.output.shards import MAX_SHARD_BYTES, MIN_ROWS_PER_SHARD, MIN_SHARDS_PER_SPLIT
from dance_aggregate.records import ALL_CONFIG
from dance_aggregate.schema import features

logger = logging.getLogger(__name__)

#: The viewer refuses single reads above 300,000,000 bytes (~286 MiB); one row group is one read.
VIEWER_READ_LIMIT = 300_000_000

OK, WARN, FAIL = "ok", "warn", "fail"


class PublishError(DanceAggregateError):
    """The folder cannot be published (a check failed, no token, the Hub refused)."""


@dataclass
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: Check name (``card``, ``shards``, ...).
        status: ``ok``, ``warn`` (published anyway) or ``fail`` (nothing is uploaded).
        detail: One line when it passed; the problems and the fix when it did not.
    """

    name: str
    status: str
    detail: str

    @property
    def ok(self) -> bool:
        """Passed (possibly with a warning)."""
        return self.status != FAIL

    def __str__(self) -> str:
        mark = {OK: "PASS", WARN: "WARN", FAIL: "FAIL"}[self.status]
        return f"[{mark}] {self.name}: {self.detail}"


_REBUILD = "Rebuild the folder with `dance-aggregate build ...` (or `dance-aggregate build --sample`)"


def _fail(name: str, problems: list[str], fix: str) -> CheckResult:
    shown = "\n    ".join(problems[:20])
    more = f"\n    ... and {len(problems) - 20} more" if len(problems) > 20 else ""
    return CheckResult(name, FAIL, f"{len(problems)} problem(s):\n    {shown}{more}\n  Fix: {fix}")


def check_card(folder: Path | BuiltFolder, card_text: str | None = None) -> CheckResult:
    """README YAML ``configs:`` and ``dataset_info`` parse and match the shards."""
    name = "card"
    built = BuiltFolder.of(folder)
    root = built.path
    if card_text is None:
        readme = root / "README.md"
        if not readme.is_file():
            return _fail(name, [f"{readme} does not exist"], f"{_REBUILD}; it writes the card")
        card_text = readme.read_text(encoding="utf-8")
    fix = f"re-render the card: {_REBUILD} (the card is written from the shards present)"
    try:
        data = DatasetCard(card_text).data
        meta = MetadataConfigs.from_dataset_card_data(data)
        infos = DatasetInfosDict.from_dataset_card_data(data)
    except Exception as exc:  # noqa: BLE001 - any parse error is the finding
        return _fail(name, [f"the README front matter does not parse: {type(exc).__name__}: {exc}"], fix)
    problems: list[str] = []
    present = built.configs
    if sorted(meta) != present:
        problems.append(f"configs in the card {sorted(meta)} != configs with shards in data/ {present}")
    defaults = [c for c, v in meta.items() if v.get("default")]
    if len(defaults) != 1:
        problems.append(f"expected exactly one config with `default: true`, got {defaults or 'none'}")
    elif ALL_CONFIG in present and defaults != [ALL_CONFIG]:
        problems.append(f"the default config is {defaults[0]!r}, expected 'all'")
    expected = features()
    for config in present:
        if config not in meta:
            continue
        shards = {p for paths in built.shard_paths(config).values() for p in paths}
        covered: dict[str, str] = {}
        for entry in _data_files(meta[config].get("data_files")):
            split, patterns = entry
            for pattern in patterns:
                matched = sorted(str(p.relative_to(root)) for p in root.glob(pattern) if p.is_file())
                if not matched:
                    problems.append(f"{config}/{split}: data_files pattern {pattern!r} matches no file")
                for m in matched:
                    if m in covered and covered[m] != split:
                        problems.append(f"{config}: {m} is matched by splits {covered[m]} and {split}")
                    covered[m] = split
        for s in sorted(shards - set(covered)):
            problems.append(f"{config}: shard {s} is not covered by any data_files pattern")
        info = infos.get(config)
        if info is None:
            problems.append(f"{config}: no dataset_info entry")
            continue
        if info.features != expected:
            problems.append(f"{config}: dataset_info features differ from the shared schema (dance_aggregate.schema.features())")
        rows = built.rows(config)
        declared = {s: v.num_examples for s, v in (info.splits or {}).items()}
        if declared != rows:
            problems.append(f"{config}: dataset_info split sizes {declared} != rows in the shards {rows}")
    if problems:
        return _fail(name, problems, fix)
    return CheckResult(name, OK, f"{len(present)} config(s) {', '.join(present)}; data_files and dataset_info match the shards")


def _data_files(value: object) -> list[tuple[str, list[str]]]:
    """``data_files`` of a config as (split, patterns) pairs, in every form the card allows."""
    if value is None:
        return []
    if isinstance(value, str):
        return [("train", [value])]
    if isinstance(value, dict):
        return [(k, [v] if isinstance(v, str) else list(v)) for k, v in value.items()]
    out = []
    for item in value:  # list of {"split", "path"} or of strings
        if isinstance(item, str):
            out.append(("train", [item]))
        else:
            p = item["path"]
            out.append((item.get("split", "train"), [p] if isinstance(p, str) else list(p)))
    return out


def check_shards(folder: Path | BuiltFolder) -> CheckResult:
    """Every shard has exactly the declared schema, reads back, and names its media cells."""
    name = "shards"
    built = BuiltFolder.of(folder)
    problems: list[str] = []
    n = 0
    for shard in built.all_shards():
        n += 1
        try:
            problems += _shard_problems(built, shard)
        except Exception as exc:  # noqa: BLE001 - an unreadable shard is the finding
            problems.append(f"{shard.path}: cannot be read: {type(exc).__name__}: {exc}")
    if n == 0:
        return _fail(name, [f"no shards under {built.path}/data/<config>/"], _REBUILD)
    if problems:
        return _fail(name, problems, _REBUILD)
    return CheckResult(name, OK, f"{n} shard(s) have the declared features; media cells end in .mp4 / .flac")


def _shard_problems(built: BuiltFolder, shard: Shard) -> list[str]:
    """What is wrong with one shard's schema and media cell names (raises when unreadable)."""
    expected = features()
    schema = expected.arrow_schema
    rel = shard.path
    if shard.footer is None:
        return [f"{rel}: cannot be read: {shard.error}"]
    got = shard.footer.schema
    if not got.equals(schema, check_metadata=False):
        diff = [f"{fld.name}: {fld.type}" for fld in got if fld.name not in schema.names or schema.field(fld.name).type != fld.type]
        missing = [x for x in schema.names if x not in got.names]
        return [f"{rel}: Arrow schema differs from features().arrow_schema (differs: {diff or '-'}, missing: {missing or '-'})"]
    if Features.from_arrow_schema(got) != expected:
        return [f"{rel}: the `huggingface` schema metadata does not hold the shared features"]
    # Light columns only: the footer schema is what readers see, and reading
    # terabytes of video bytes again would check nothing more.
    t = built.read_columns(shard, ["id", "label", "video.path", "audio.path"])
    problems = []
    for rid, video, audio in zip(t.column("id").to_pylist(), t.column("video.path").to_pylist(), t.column("audio.path").to_pylist(), strict=True):
        vpath = (video or {}).get("path") if video is not None else None
        if video is not None and not (vpath or "").endswith(".mp4"):
            problems.append(f"{rel}: row {rid}: video cell path {vpath!r} does not end in .mp4 (the viewer shows it as video.unknown)")
        apath = (audio or {}).get("path") if audio is not None else None
        if audio is not None and not (apath or "").endswith(".flac"):
            problems.append(f"{rel}: row {rid}: audio cell path {apath!r} does not end in .flac")
    return problems


def check_row_groups(
    folder: Path | BuiltFolder, read_limit: int = VIEWER_READ_LIMIT, max_shard_bytes: int = MAX_SHARD_BYTES
) -> CheckResult:
    """Row groups far below the viewer's read limit, page indexes present, shards not too large."""
    name = "row_groups"
    problems: list[str] = []
    largest = 0
    for shard in BuiltFolder.of(folder).all_shards():
        rel = shard.path
        if shard.file_bytes > max_shard_bytes:
            problems.append(f"{rel}: {shard.file_bytes:,} bytes, above the {max_shard_bytes:,}-byte shard limit")
        for i, rg in enumerate(shard.require_footer().row_groups):
            big = max(rg.total_byte_size, rg.compressed_bytes)
            largest = max(largest, big)
            if big > read_limit:
                problems.append(f"{rel}: row group {i} is {big:,} bytes, above the viewer's {read_limit:,}-byte read limit")
            # The offset index is what lets a reader fetch single pages. (Media byte
            # columns carry no column index: their values are too large for statistics.)
            no_index = rg.without_offset_index
            if no_index:
                problems.append(f"{rel}: row group {i} has no page (offset) index for {', '.join(no_index[:3])}{' ...' if len(no_index) > 3 else ''}")
    if problems:
        return _fail(name, problems, f"{_REBUILD}; the writer keeps row groups small and writes page indexes")
    return CheckResult(name, OK, f"largest row group {largest:,} bytes (limit {read_limit:,}); page indexes present")


def check_shard_counts(folder: Path | BuiltFolder) -> CheckResult:
    """Enough shards per split for streaming readers to spread over workers (a warning only)."""
    name = "streaming"
    built = BuiltFolder.of(folder)
    few = []
    splits = single = 0
    for config in built.configs:
        for split, shards in built.shards(config).items():
            rows = sum(s.rows for s in shards)
            want = min(MIN_SHARDS_PER_SPLIT, rows // MIN_ROWS_PER_SHARD)
            splits += 1
            single += len(shards) == 1
            if len(shards) < want:
                few.append(f"{config}/{split}: {len(shards)} shard(s) for {rows} rows (want {want})")
    if few:
        return CheckResult(
            name,
            WARN,
            "few shards, streaming will use few workers: " + "; ".join(few[:5]) + ". Fix: rerun the build of those "
            f"configs with --shards {MIN_SHARDS_PER_SPLIT} (e.g. dance-aggregate build CONFIG --data-dir SOURCE=PATH "
            f"--shards {MIN_SHARDS_PER_SPLIT}); finished clips are reused, only the shards are rewritten",
        )
    rule = f"one shard per {MIN_ROWS_PER_SHARD} rows, up to {MIN_SHARDS_PER_SPLIT}"
    if single:  # small splits: one shard, so one streaming worker each (as the card says)
        return CheckResult(
            name, OK,
            f"every split has the shards its rows call for ({rule}); {single} of {splits} split(s) hold fewer than "
            f"{2 * MIN_ROWS_PER_SHARD} rows and are a single shard, read by one DataLoader worker (--shards N writes more)",
        )
    return CheckResult(name, OK, f"every split has several shards for parallel streaming ({rule})")


def check_leakage(folder: Path | BuiltFolder) -> CheckResult:
    """No group / YouTube id in two splits of ``all``."""
    name = "leakage"
    built = BuiltFolder.of(folder)
    if ALL_CONFIG not in built.configs:
        return CheckResult(name, WARN, "no `all` config in the folder: nothing to check")
    try:
        check_no_leaks(built, ALL_CONFIG)
    except OutputError as exc:
        return CheckResult(name, FAIL, str(exc))
    return CheckResult(name, OK, "no group or YouTube id in two splits of `all`")


def check_accounting(folder: Path | BuiltFolder) -> CheckResult:
    """Each config's accounting adds up and matches its shards."""
    name = "accounting"
    built = BuiltFolder.of(folder)
    problems: list[str] = []
    missing: list[str] = []
    for config in built.configs:
        acc = built.accounting(config)
        if acc is None:
            missing.append(config)
            continue
        if not acc.adds_up:
            problems.append(
                f"{config}: {acc.records_read} records read != {acc.rows_written} rows written + {acc.excluded_total} excluded"
            )
        rows = {k: v for k, v in built.rows(config).items() if v}
        reported = {k: v for k, v in acc.rows_by_split.items() if v}
        if rows != reported:
            problems.append(f"{config}: reports/{config}.json says rows {reported}, the shards hold {rows}")
    if problems:
        return _fail(name, problems, f"{_REBUILD} (shards and reports are written by the same build)")
    if missing:
        return CheckResult(name, WARN, f"no reports/<config>.json for {', '.join(missing)}: accounting not checked there")
    return CheckResult(name, OK, "records read = rows written + excluded, for every config")


#: Rules of the viewer's statistics job that trip on valid data (its own bugs, fixed in
#: dataset-viewer PR 3440, closed unmerged, and open issue 2653): a warning, not a failure.
_UPSTREAM_RULES = frozenset({"adjacent", "one value"})


def check_viewer_statistics(folder: Path | BuiltFolder) -> CheckResult:
    """Whether the Hub viewer's statistics job can describe every split (:mod:`.viewer_stats`).

    A problem the data can avoid (an integer JSON would round, a date-like digit string, an
    infinite float...) fails the check; the two rules that are the viewer's own bugs (a list
    column whose lengths take two adjacent values, a column with a single value in a split)
    only warn: the data loads, streams and previews; only that split's statistics tab errs.
    """
    from dance_aggregate.hub.viewer_stats import split_problems

    name = "viewer statistics"
    built = BuiltFolder.of(folder)
    fatal: list[str] = []
    upstream: list[str] = []
    for config in built.configs:
        for split, shards in built.shards(config).items():
            if any(s.footer is None for s in shards):
                continue  # an unreadable shard: the shards check fails it, naming the file
            footers = {built.path / s.path: s.require_footer().metadata for s in shards}
            problems = built.derived("viewer statistics", shards, lambda f=footers: split_problems(list(f), footers=f))
            for problem in problems:
                (upstream if problem.rule in _UPSTREAM_RULES else fatal).append(f"{config}/{split}: {problem}")
    if fatal:
        return _fail(name, fatal, "the Hub's statistics tab would fail on these splits")
    if upstream:
        splits = sorted({p.split(":", 1)[0] for p in upstream})
        return CheckResult(
            name, WARN,
            f"the Hub's statistics tab will show an error for {len(splits)} split(s) ({', '.join(splits[:6])}"
            f"{', ...' if len(splits) > 6 else ''}) because of the viewer's own bugs (list lengths that take two "
            f"adjacent values: dataset-viewer PR 3440, closed unmerged; a single value in a split: issue 2653); "
            f"the data loads, streams and previews. First: {upstream[0]}",
        )
    return CheckResult(name, OK, "the Hub viewer's statistics job can describe every split")


#: The checks in the order they run.
CHECKS: tuple[Callable[[BuiltFolder], CheckResult], ...] = (
    check_shards,
    check_row_groups,
    check_shard_counts,
    check_leakage,
    check_accounting,
    check_viewer_statistics,
)


def run_checks(folder: Path | BuiltFolder, card_text: str | None = None) -> list[CheckResult]:
    """Run every check on ``folder`` (the card as ``card_text`` when given, else its README).

    The folder is read once (:class:`BuiltFolder`) and every check shares that model.
    """
    if not isinstance(folder, BuiltFolder):
        folder = Path(folder)
        if not folder.is_dir():
            return [CheckResult("folder", FAIL, f"{folder} is not a directory. Build one with: dance-aggregate build --sample --output {folder}")]
    built = BuiltFolder.of(folder)
    results = [check_card(built, card_text)]
    for check in CHECKS:
        results.append(check(built))
    for r in results:
        logger.debug("%s", r)
    return results


def require_passed(results: list[CheckResult], folder: Path) -> None:
    """Raise :class:`PublishError` listing every failed check."""
    failed = [r for r in results if not r.ok]
    if failed:
        body = "\n".join(str(r) for r in failed)
        raise PublishError(f"{folder}: {len(failed)} check(s) failed; nothing was uploaded.\n{body}")
