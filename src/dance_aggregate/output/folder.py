"""A built dataset folder, read once: its configs, shards, footers, small columns and reports.

Finishing a build needs the same facts about the folder in many places: ``all`` (which
configs and shards there are, their key columns), the leakage check (a few columns of
``all``), the card (rows and bytes per split, labels, sources, reports), the publish checks
(schemas, row groups, page indexes) and ``stats``. :class:`BuiltFolder` gathers them: it
lists ``data/`` once, reads each shard's Parquet footer at most once (when first needed), and
reads each column of a shard at most once; every consumer of a built folder takes the same
object::

    folder = BuiltFolder.open(Path("dance_aggregate"))
    folder.configs                      # ['activitynet', 'all', 'ucf101', ...]
    folder.shards("all")                # {'train': [Shard, ...], 'validation': [...], ...}
    folder.rows("all")                  # {'train': 120, 'validation': 20, 'test': 30}
    folder.column("all", "label")       # {'train': [3, 3, 7, ...], ...}
    folder.report("all")                # reports/all.json as a ConfigReport

A step that changes the folder (``build_all`` rewriting ``data/all``) calls
:meth:`BuiltFolder.refresh` on it: shards whose file did not change keep their footer and
columns; only new or rewritten shards are read.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from dance_aggregate.errors import OutputError
from dance_aggregate.output.layout import (
    DATA_DIR,
    REPORTS_DIR,
    excluded_path,
    ledger_path,
    shard_path,
    shard_pattern,
)
from dance_aggregate.output.reports import Accounting, ConfigReport, read_report
from dance_aggregate.schema import SPLITS, arrow_schema

T = TypeVar("T")

logger = logging.getLogger(__name__)

#: Small per-row columns that consumers read again and again (card, leakage, dedup, stats):
#: asking for any of them reads all of them that a shard has, in one read.
LIGHT_COLUMNS: tuple[str, ...] = ("id", "source", "label", "group", "youtube_id", "duplicate_ids", "pretraining_overlap")


class ShardReadError(OutputError):
    """A shard of the folder is not a readable Parquet file."""


@dataclass(frozen=True)
class RowGroup:
    """Sizes of one row group, from the shard's footer.

    Attributes:
        total_byte_size: Uncompressed bytes (what ``dataset_info`` counts).
        compressed_bytes: Bytes of its column chunks as stored.
        without_offset_index: Column paths that have no page (offset) index.
    """

    total_byte_size: int
    compressed_bytes: int
    without_offset_index: tuple[str, ...]


@dataclass(frozen=True)
class Footer:
    """What a shard's Parquet footer says.

    Attributes:
        rows: Rows in the shard.
        schema: The Arrow schema (with its ``huggingface`` metadata).
        row_groups: Sizes and page indexes of each row group.
        metadata: The parsed footer, handed back to pyarrow so column reads skip parsing it.
    """

    rows: int
    schema: pa.Schema
    row_groups: tuple[RowGroup, ...]
    metadata: pq.FileMetaData = field(repr=False, compare=False)


@dataclass
class ReadCounts:
    """How often a :class:`BuiltFolder` went to disk (for tests and measurements).

    Attributes:
        footers: Parquet footers parsed.
        column_reads: Column reads (one read of one shard may fetch several columns).
    """

    footers: int = 0
    column_reads: int = 0


@dataclass(frozen=True)
class Shard:
    """One shard of a config: its place, its file and (read on first use, once) its footer.

    Attributes:
        config: The config (``data/<config>/``).
        split: The split its name starts with.
        path: Path relative to the folder, with ``/`` (``data/all/train-00000-of-00004.parquet``).
        file_bytes: Size of the file.
        mtime_ns: Modification time of the file (ns).
        inode: Inode of the file (a rewritten shard is a new file).
        file: Where the file is.
        reads: The counts of the folder model this shard belongs to.
    """

    config: str
    split: str
    path: str
    file_bytes: int
    mtime_ns: int
    inode: int
    file: Path = field(repr=False, compare=False)
    reads: ReadCounts = field(repr=False, compare=False)

    @functools.cached_property
    def _footer_or_error(self) -> tuple[Footer | None, str]:
        self.reads.footers += 1
        return _read_footer(self.file)

    @property
    def footer(self) -> Footer | None:
        """The footer, or ``None`` when the file cannot be read as Parquet."""
        return self._footer_or_error[0]

    @property
    def error(self) -> str:
        """Why the footer could not be read (empty when it could)."""
        return self._footer_or_error[1]

    def require_footer(self) -> Footer:
        """The footer.

        Raises:
            ShardReadError: when the shard cannot be read.
        """
        footer = self.footer
        if footer is None:
            raise ShardReadError(
                f"{self.path}: cannot read this shard as Parquet ({self.error}); expected a shard written by "
                f"dance-aggregate. Rebuild the folder: dance-aggregate build {self.config} ... "
                f"(or dance-aggregate build --sample for the sample)"
            )
        return footer

    @property
    def rows(self) -> int:
        """Rows in the shard (raises :class:`ShardReadError` when unreadable)."""
        return self.require_footer().rows

    @property
    def uncompressed_bytes(self) -> int:
        """Uncompressed bytes of all its row groups (raises when unreadable)."""
        return sum(rg.total_byte_size for rg in self.require_footer().row_groups)

    def same_file(self, st: os.stat_result) -> bool:
        """Whether ``st`` describes the very file this shard was made from."""
        return (self.file_bytes, self.mtime_ns, self.inode) == (st.st_size, st.st_mtime_ns, st.st_ino)


def _read_footer(path: Path) -> tuple[Footer | None, str]:
    """The footer of the Parquet file at ``path``, or ``None`` and why it cannot be read."""
    try:
        md = pq.read_metadata(path)
        schema = md.schema.to_arrow_schema()
    except (OSError, ValueError, pa.ArrowException) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    groups = []
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        chunks = [rg.column(j) for j in range(rg.num_columns)]
        groups.append(
            RowGroup(
                rg.total_byte_size,
                sum(c.total_compressed_size for c in chunks),
                tuple(c.path_in_schema for c in chunks if not c.has_offset_index),
            )
        )
    return Footer(md.num_rows, schema, tuple(groups), md), ""


class BuiltFolder:
    """A dataset folder as built: configs, shards with their footers, cached small columns, reports.

    Open one with :meth:`open` (or :meth:`of`, which passes a model through). Configs are the
    folders of ``data/`` with at least one ``*.parquet`` file, dot-folders (staging) aside;
    a config's shards are its ``<split>-*.parquet`` files, splits in :data:`SPLITS` order.

    Attributes:
        path: The folder.
        reads: What the model has read so far.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.reads = ReadCounts()
        self._configs: dict[str, dict[str, list[Shard]]] = {}
        self._columns: dict[str, dict[str, pa.Table]] = {}
        self._reports: dict[str, ConfigReport | None] = {}
        self._report_names: list[str] | None = None
        self._derived: dict[tuple[str, tuple[Shard, ...]], Any] = {}
        self._scan({})

    @classmethod
    def open(cls, path: Path | str) -> BuiltFolder:
        """List the configs and shards of ``path`` (footers are read when first needed, once)."""
        return cls(Path(path))

    @classmethod
    def of(cls, folder: Path | str | BuiltFolder) -> BuiltFolder:
        """``folder`` itself when it is already a model, else the model of that path."""
        return folder if isinstance(folder, BuiltFolder) else cls.open(folder)

    def __repr__(self) -> str:
        return f"BuiltFolder({str(self.path)!r}, configs={self.configs})"

    def refresh(self) -> BuiltFolder:
        """Rescan after a step changed the folder; unchanged shards keep their footer and columns.

        Returns:
            This model, now describing the folder as it is.
        """
        old = {s.path: s for s in self.all_shards()}
        self._scan(old)
        kept = {s.path for s in self.all_shards() if old.get(s.path) is s}
        self._columns = {p: cols for p, cols in self._columns.items() if p in kept}
        self._derived = {k: v for k, v in self._derived.items() if all(s.path in kept for s in k[1])}
        self._reports.clear()
        self._report_names = None
        return self

    def _scan(self, known: dict[str, Shard]) -> None:
        data = self.path / DATA_DIR
        configs: dict[str, dict[str, list[Shard]]] = {}
        entries = sorted(os.scandir(data), key=lambda e: e.name) if data.is_dir() else []
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            names = sorted(os.listdir(entry.path))
            if not any(fnmatch.fnmatchcase(n, "*.parquet") for n in names):
                continue
            splits: dict[str, list[Shard]] = {}
            for split in SPLITS:
                files = [n for n in names if fnmatch.fnmatchcase(n, shard_pattern(split))]
                if files:
                    splits[split] = [self._shard(entry.name, split, n, known) for n in files]
            configs[entry.name] = splits
        self._configs = configs

    def _shard(self, config: str, split: str, name: str, known: dict[str, Shard]) -> Shard:
        rel = shard_path(config, name)
        st = (self.path / rel).stat()
        before = known.get(rel)
        if before is not None and before.same_file(st):
            return before
        return Shard(config, split, rel, st.st_size, st.st_mtime_ns, st.st_ino, self.path / rel, self.reads)

    @property
    def configs(self) -> list[str]:
        """Configs present (those with at least one shard), sorted."""
        return list(self._configs)

    def shards(self, config: str) -> dict[str, list[Shard]]:
        """Split -> shards of ``config`` (empty when the config is absent)."""
        return {split: list(shards) for split, shards in self._configs.get(config, {}).items()}

    def all_shards(self) -> Iterator[Shard]:
        """Every shard of every config, config by config, split by split."""
        for splits in self._configs.values():
            for shards in splits.values():
                yield from shards

    def shard_paths(self, config: str) -> dict[str, list[str]]:
        """Split -> shard paths of ``config``, relative to the folder."""
        return {split: [s.path for s in shards] for split, shards in self._configs.get(config, {}).items()}

    def rows(self, config: str) -> dict[str, int]:
        """Split -> rows of ``config``, from the footers.

        Raises:
            ShardReadError: when a shard cannot be read.
        """
        return {split: sum(s.rows for s in shards) for split, shards in self._configs.get(config, {}).items()}

    def total_rows(self, config: str) -> int:
        """Rows of ``config``, all splits."""
        return sum(self.rows(config).values())

    def read_columns(self, shard: Shard, names: Sequence[str]) -> pa.Table:
        """Columns ``names`` of one shard, in that order; each is read at most once, then cached.

        A dotted name (``video.path``) reads that field of a struct column: the result has a
        column of that name holding a struct with the field. Asking for any of
        :data:`LIGHT_COLUMNS` also reads the other light columns the shard has.

        Raises:
            ShardReadError: when the shard cannot be read.
        """
        footer = shard.require_footer()
        cache = self._columns.setdefault(shard.path, {})
        missing = [n for n in dict.fromkeys(names) if n not in cache]
        if any(n in LIGHT_COLUMNS for n in missing):
            missing += [n for n in LIGHT_COLUMNS if n in footer.schema.names and n not in cache and n not in missing]
        if missing:
            self.reads.column_reads += 1
            with pq.ParquetFile(self.path / shard.path, metadata=footer.metadata) as f:
                table = f.read(columns=missing)
            for n in missing:
                col = table.column(n.split(".")[0])
                cache[n] = pa.table([col], schema=pa.schema([table.schema.field(n.split(".")[0]).with_name(n)]))
        picked = [cache[n] for n in names]
        return pa.table([t.column(0) for t in picked], schema=pa.schema([t.schema.field(0) for t in picked]))

    def columns(self, config: str, names: Sequence[str]) -> dict[str, pa.Table]:
        """Split -> columns ``names`` of ``config``, its shards concatenated in order."""
        out = {}
        for split, shards in self._configs.get(config, {}).items():
            out[split] = pa.concat_tables([self.read_columns(s, names) for s in shards])
        return out

    def column(self, config: str, name: str) -> dict[str, list[Any]]:
        """Split -> values of column ``name`` of ``config`` (Python objects)."""
        return {split: t.column(name).to_pylist() for split, t in self.columns(config, [name]).items()}

    def derived(self, name: str, shards: Sequence[Shard], compute: Callable[[], T]) -> T:
        """``compute()``, a result of a whole read of ``shards`` (the viewer-statistics check
        reads every column), made once while those shards are unchanged: consumers of one
        model share it as they share footers and columns."""
        key = (name, tuple(shards))
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def read_config(self, config: str) -> dict[str, pa.Table]:
        """Split -> every row of ``config`` in the shared schema (media included; not cached)."""
        return {
            split: pa.concat_tables([pq.read_table(self.path / s.path, schema=arrow_schema()) for s in shards])
            for split, shards in self._configs.get(config, {}).items()
        }

    def report(self, config: str) -> ConfigReport | None:
        """``reports/<config>.json`` read (once), or ``None`` when there is none."""
        if config not in self._reports:
            self._reports[config] = read_report(self.path, config)
        return self._reports[config]

    def accounting(self, config: str) -> Accounting | None:
        """The accounting of ``config`` from its report, or ``None``."""
        report = self.report(config)
        return report.accounting if report is not None else None

    def is_sample(self) -> bool:
        """Whether a config of the folder holds the built-in sample (synthetic clips)."""
        return any(r is not None and r.sample for r in (self.report(c) for c in self.configs))

    def report_files(self, pattern: str) -> list[Path]:
        """Files of ``reports/`` whose name matches the glob ``pattern``, sorted (listed once)."""
        return [self.path / REPORTS_DIR / n for n in self._report_listing() if fnmatch.fnmatchcase(n, pattern)]

    def _report_listing(self) -> list[str]:
        if self._report_names is None:
            reports = self.path / REPORTS_DIR
            self._report_names = sorted(os.listdir(reports)) if reports.is_dir() else []
        return self._report_names

    def excluded_csv(self, config: str) -> Path:
        """``reports/<config>.excluded.csv`` (it may not exist)."""
        return excluded_path(self.path, config)

    def ledger_csv(self, config: str) -> Path | None:
        """``reports/<config>.download_ledger.csv``, or ``None`` when the config fetched nothing."""
        path = ledger_path(self.path, config)
        return path if path.name in self._report_listing() else None


def read_config(folder: Path, config: str) -> dict[str, pa.Table]:
    """Split -> every row of ``config`` of ``folder`` in the shared schema (tests, small folders)."""
    return BuiltFolder.open(folder).read_config(config)
