"""What may be published: each source's licence decides (``Source.redistributable``).

A source whose media may not be redistributed (the AIST Dance Video Database: academic
research only, no redistribution without AIST's authorisation) is built locally like any
other, but ``publish`` never pushes its media:

- its own configs are held back whole (shards and reports);
- ``all`` is published without its rows: the rows of ``all`` are copied into new shards
  without them (media bytes as stored; nothing is re-encoded), and ``reports/all.json``
  counts them as excluded (``held back: not redistributable``), so the published accounting
  still adds up;
- the published card says what was held back, why, and the command that rebuilds it from
  one's own copy.

:func:`published_view` makes that copy of the folder in a marked temporary folder of
``.work/`` (shards of the other configs are hard links, not copies), and publish checks and
uploads the view, so what is checked is exactly what goes up. ``--include-restricted
SOURCE`` publishes a source anyway, with a warning naming its terms: only for a user who has
AIST's written authorisation.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from dance_aggregate.builders import registry
from dance_aggregate.errors import ConfigError
from dance_aggregate.files.atomic import make_temp_dir, remove_temp_dir
from dance_aggregate.output.folder import BuiltFolder
from dance_aggregate.output.layout import REPORTS_DIR, WORK_DIR
from dance_aggregate.output.reports import read_report, write_reports
from dance_aggregate.output.shards import Decisions, InputFile, write_shards
from dance_aggregate.records import ALL_CONFIG, Exclusion
from dance_aggregate.schema import arrow_schema, source_names

logger = logging.getLogger(__name__)

#: The exclusion reason of a row of ``all`` left out of the published copy.
HELD_BACK = "held back: not redistributable"


@dataclass
class HeldBack:
    """A source whose media the published copy leaves out, and what that removes.

    Attributes:
        source: The source name.
        title: Its display name.
        terms_url: Its terms of use.
        terms_in_short: The terms in one line.
        configs: Its configs in the folder -> their rows (not published).
        all_rows: Split -> its rows of ``all`` (not published).
        rebuild: The command that builds it from one's own copy.
    """

    source: str
    title: str
    terms_url: str | None
    terms_in_short: str
    configs: dict[str, int] = field(default_factory=dict)
    all_rows: dict[str, int] = field(default_factory=dict)
    rebuild: str = ""

    @property
    def all_total(self) -> int:
        """Its rows of ``all``, every split."""
        return sum(self.all_rows.values())

    def describe(self) -> str:
        """One line for the dry run."""
        configs = ", ".join(f"{c} ({n} rows)" for c, n in self.configs.items()) or "no config of its own"
        return (f"{self.source}: not redistributable ({self.terms_in_short}); held back: {configs}, and "
                f"{self.all_total} rows of `all`. Terms: {self.terms_url}")


def held_back(built: BuiltFolder, include: Sequence[str] = ()) -> list[HeldBack]:
    """The sources present in ``built`` whose media may not be published, less those the
    user publishes anyway (``include``).

    Raises:
        ConfigError: a name of ``include`` is not a source that is held back.
    """
    restricted = [s for s in registry.sources() if not s.redistributable]
    for name in include:
        if name not in {s.name for s in restricted}:
            raise ConfigError(
                f"--include-restricted {name}: {name} is not a source whose media are held back "
                f"(those are: {', '.join(s.name for s in restricted) or 'none'})"
            )
    names = source_names()
    out = []
    for src in restricted:
        if src.name in include:
            logger.warning(
                "%s: publishing its media although its terms forbid redistribution without authorisation (%s; %s). "
                "Do this only with the written authorisation of its owners",
                src.name, src.terms_in_short, src.terms_url,
            )
            continue
        configs = {c.name: built.total_rows(c.name) for c in src.configs if c.name in built.configs}
        all_rows: Counter[str] = Counter()
        if ALL_CONFIG in built.configs:
            index = names.index(src.name)
            for split, values in built.column(ALL_CONFIG, "source").items():
                all_rows[split] += sum(1 for v in values if v == index)
        if configs or sum(all_rows.values()):
            data_dir = f"{src.name}=/path/to/your/{src.name}"
            accept = f" --accept-terms {src.name}" if src.terms_url else ""
            out.append(HeldBack(
                src.name, src.title, src.terms_url, src.terms_in_short, configs, dict(all_rows),
                rebuild=f"dance-aggregate build {' '.join(c.name for c in src.configs if c.default_build)} "
                        f"--data-dir {data_dir}{accept}",
            ))
    return out


def published_view(built: BuiltFolder, held: list[HeldBack]) -> BuiltFolder:
    """A copy of ``built`` without the media of the ``held`` sources (see the module doc),
    in a marked temporary folder of ``.work/`` (remove it with :func:`discard_view`).

    The card, chart and licence of the view are not written here (the caller renders them
    for what is published).
    """
    held_sources = {h.source for h in held}
    held_configs = {c for h in held for c in h.configs}
    view = make_temp_dir(built.path / WORK_DIR, "publish-", ".view")
    try:
        for config in built.configs:
            if config in held_configs or config == ALL_CONFIG:
                continue
            for in_split in built.shards(config).values():
                for shard in in_split:
                    _link(built.path / shard.path, view / shard.path)
        reports = built.path / REPORTS_DIR
        for path in sorted(reports.iterdir()) if reports.is_dir() else []:
            config = path.name.split(".", 1)[0]
            if path.is_file() and config not in held_configs and config != ALL_CONFIG and not path.name.startswith("."):
                _link(path, view / REPORTS_DIR / path.name)
        if ALL_CONFIG in built.configs:
            _all_without(built, view, held_sources)
    except BaseException:
        remove_temp_dir(view)
        raise
    return BuiltFolder.open(view)


def discard_view(view: BuiltFolder) -> None:
    """Remove a view made by :func:`published_view` (nothing else is ever removed)."""
    remove_temp_dir(view.path)


def _link(src: Path, dst: Path) -> None:
    """``dst`` the same file as ``src`` (a hard link; a copy across file systems)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _all_without(built: BuiltFolder, view: Path, held_sources: set[str]) -> None:
    """``all``'s shards without the rows of ``held_sources``, and its reports saying so."""
    names = source_names()
    held_index = {names.index(s) for s in held_sources}
    inputs, splits, ids, exclusions = [], [], [], []
    for split, in_split in built.shards(ALL_CONFIG).items():
        for shard in in_split:
            t = built.read_columns(shard, ["id", "source", "source_label"])
            inputs.append(InputFile(str(built.path / shard.path), shard.rows, shard.file_bytes))
            for rid, src, label in zip(t.column("id").to_pylist(), t.column("source").to_pylist(),
                                       t.column("source_label").to_pylist(), strict=True):
                held = src in held_index
                splits.append(None if held else split)
                ids.append(rid)
                if held:
                    exclusions.append(Exclusion(rid, HELD_BACK, f"{names[src]}: its terms forbid redistribution", split, label))
    report = built.report(ALL_CONFIG) or read_report(built.path, ALL_CONFIG)
    write_shards(view, ALL_CONFIG, inputs, lambda p: pq.read_table(p, schema=arrow_schema()), Decisions(splits, ids),
                 shards=report.shards if report is not None else None)
    if report is None:
        return
    kept = Counter(s for s in splits if s is not None)
    acc = replace(report.accounting, rows_written=sum(kept.values()), rows_by_split=dict(kept),
                  excluded={**report.accounting.excluded, HELD_BACK: len(exclusions)})
    write_reports(view, replace(report, accounting=acc), _local_exclusions(built) + exclusions)


def _local_exclusions(built: BuiltFolder) -> list[Exclusion]:
    """The exclusions of ``all`` as the local build wrote them (``reports/all.excluded.csv``)."""
    from dance_aggregate.files.csvfiles import read_rows

    path = built.excluded_csv(ALL_CONFIG)
    if not path.is_file():
        return []
    out = []
    for row in read_rows(path):
        out.append(Exclusion(str(row.get("id") or ""), str(row.get("reason") or ""), str(row.get("detail") or ""),
                             row.get("split") or None, row.get("source_label") or None, int(row.get("count") or 1)))
    return out


def held_back_summary(held: list[HeldBack]) -> list[dict[str, Any]]:
    """The card's lines about what the published copy leaves out."""
    return [{"source": h.source, "title": h.title, "terms_url": h.terms_url, "terms": h.terms_in_short,
             "configs": ", ".join(f"`{c}` ({n} rows)" for c, n in h.configs.items()) or "-",
             "all_rows": h.all_total, "rebuild": h.rebuild} for h in held]
