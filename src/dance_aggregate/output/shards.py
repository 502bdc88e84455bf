"""Parquet writing: work parts and the final shards of a config.

Shards are written to a temporary name and renamed into place (:mod:`.atomic`), so a killed
build never leaves a half-written shard where a reader would find it. A config's shards are
swapped in as a whole folder. Where they go is :mod:`.layout`; reading a built folder back is
:mod:`.folder`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dance_aggregate.errors import OutputError
from dance_aggregate.files.atomic import make_temp_dir, mark_temp_dir, remove_temp_dir, replacing, write_error
from dance_aggregate.output.layout import DATA_DIR, shard_name, shard_path
from dance_aggregate.records import SPLITS

logger = logging.getLogger(__name__)

#: Largest final shard, in bytes of Parquet (streaming readers and the Hub like <= 500 MB).
MAX_SHARD_BYTES = 500 * 1024 * 1024
#: Streaming readers spread shards over DataLoader workers and nodes: aim for at least this
#: many shards per split (e.g. 2 nodes x 8 workers) ...
MIN_SHARDS_PER_SPLIT = 16
#: ... but never shards smaller than this many rows (a few dozen MB of video).
MIN_ROWS_PER_SHARD = 32
#: Target uncompressed size of one row group: far below the viewer's ~286 MiB read limit.
ROW_GROUP_BYTES = 64 * 1024 * 1024
#: Media columns are already compressed (H.264, FLAC): store them as they are.
_UNCOMPRESSED = ("video.bytes", "audio.bytes")
#: A shard file of a config folder (:func:`~dance_aggregate.output.layout.shard_name`).
_SHARD_FILE = re.compile(rf"^(?:{'|'.join(SPLITS)})-\d{{5}}-of-\d{{5}}\.parquet$")


def _row_group_rows(table: pa.Table) -> int:
    if table.num_rows == 0:
        return 1
    per_row = max(1, table.nbytes // table.num_rows)
    return max(1, min(table.num_rows, ROW_GROUP_BYTES // per_row))


def _write_table(table: pa.Table, where: Any) -> None:
    compression: dict[str, str] = {}
    for name in _flat_column_names(table.schema):
        compression[name] = "none" if name in _UNCOMPRESSED else "zstd"
    pq.write_table(
        table,
        where,
        row_group_size=_row_group_rows(table),
        compression=compression,
        write_page_index=True,
        use_dictionary=[c for c in _flat_column_names(table.schema) if c not in _UNCOMPRESSED],
    )


def write_parquet(table: pa.Table, path: Path, what: str = "Parquet file") -> None:
    """Write ``table`` as Parquet atomically, with page indexes and small row groups.

    Raises:
        OutputError: the file system refused the write (:class:`~dance_aggregate.errors.DiskFullError`
            when the disk is full); ``path`` is untouched.
    """
    with replacing(path, what) as tmp:
        _write_table(table, tmp)


def parquet_bytes(table: pa.Table) -> bytes:
    """``table`` as the bytes of a Parquet file written like :func:`write_parquet` writes it."""
    sink = pa.BufferOutputStream()
    _write_table(table, sink)
    return sink.getvalue().to_pybytes()


def _flat_column_names(schema: pa.Schema) -> list[str]:
    names: list[str] = []

    def walk(prefix: str, t: pa.DataType) -> None:
        if pa.types.is_struct(t):
            for i in range(t.num_fields):
                f = t.field(i)
                walk(f"{prefix}.{f.name}", f.type)
        elif pa.types.is_list(t) or pa.types.is_large_list(t):
            walk(f"{prefix}.list.element", t.value_type)
        else:
            names.append(prefix)

    for f in schema:
        walk(f.name, f.type)
    return names


def shard_count(
    total_bytes: int,
    num_rows: int,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    min_shards: int = MIN_SHARDS_PER_SPLIT,
    min_rows_per_shard: int = MIN_ROWS_PER_SHARD,
    shards: int | None = None,
) -> int:
    """How many shards a split of ``total_bytes`` and ``num_rows`` gets.

    By default: enough that no shard exceeds ``max_shard_bytes``, and at least ``min_shards``
    when the split has ``min_shards * min_rows_per_shard`` rows or more (fewer, never below
    ``min_rows_per_shard`` rows each, for smaller splits): ``datasets`` streaming hands whole
    shards to DataLoader workers and nodes, so a split in one big shard streams on one worker.

    ``shards`` (``dance-aggregate build --shards N``) asks for exactly that many, e.g. a
    multiple of nodes x DataLoader workers; a split with fewer rows gets one row per shard.
    """
    if num_rows == 0:
        return 1
    if shards is not None:
        n = max(1, min(num_rows, shards))
        if total_bytes // n > max_shard_bytes:
            logger.warning(
                "--shards %d gives shards of about %d MB, above the %d MB that streaming readers and the Hub handle "
                "well; ask for more shards", n, total_bytes // n // 2**20, max_shard_bytes // 2**20,
            )
        return n
    by_size = -(-total_bytes // max_shard_bytes)
    by_parallelism = min(min_shards, num_rows // max(1, min_rows_per_shard))
    return max(1, min(num_rows, max(by_size, by_parallelism)))


@contextlib.contextmanager
def _config_swap(folder: Path, config: str) -> Iterator[Path]:
    """Yield a staging folder for ``config``'s shards; on success swap it in as
    ``data/<config>`` in one rename (the old folder is removed), on failure drop it.

    The shards are staged in ``data/.<config>.<hex>.staging/<config>``, a marked temporary
    folder (:func:`~dance_aggregate.files.atomic.make_temp_dir`) that a killed build leaves
    and the next one removes (:mod:`.leftovers`). The old copy goes to
    ``data/.<config>.<hex>.old/<config>``, marked only once whatever in it is not a shard (a
    file the build did not write) was moved into the new folder: a build killed before that
    leaves an unmarked ``.old`` folder, reported and never removed."""
    data = folder / DATA_DIR
    try:
        staging_dir = make_temp_dir(data, f".{config}.", ".staging")
        staging = staging_dir / config
        staging.mkdir()
    except OSError as exc:
        raise write_error(exc, data / config, f"the shards of {config}") from exc
    try:
        yield staging
        target = data / config
        old_dir: Path | None = None
        try:
            if os.path.lexists(target):
                if target.is_symlink() or not target.is_dir():
                    raise OutputError(
                        f"{target} is {'a link' if target.is_symlink() else 'a file'}, not a folder of shards: the build "
                        f"writes the shards of {config} there. Move it elsewhere and run the build again"
                    )
                old_dir = make_temp_dir(data, f".{config}.", ".old", marked=False)
                os.replace(target, old_dir / config)
            try:
                os.replace(staging, target)
            except OSError:
                if old_dir is not None:
                    os.replace(old_dir / config, target)  # the previous build stays in place
                    os.rmdir(old_dir)
                raise
            if old_dir is not None:
                _carry_foreign(old_dir / config, target)
                mark_temp_dir(old_dir)
        except OSError as exc:
            raise write_error(exc, target, f"the shards of {config}") from exc
        if old_dir is not None:
            remove_temp_dir(old_dir)
    finally:
        remove_temp_dir(staging_dir)


def _carry_foreign(old: Path, new: Path) -> None:
    """Move into ``new`` every entry of the replaced config folder ``old`` that is not a
    shard file: replacing the folder never removes a file the build did not write."""
    kept = []
    for entry in sorted(os.scandir(old), key=lambda e: e.name):
        if not (_SHARD_FILE.match(entry.name) and entry.is_file(follow_symlinks=False)):
            os.replace(entry.path, new / entry.name)
            kept.append(entry.name)
    if kept:
        shown = ", ".join(kept[:10]) + (f" and {len(kept) - 10} more" if len(kept) > 10 else "")
        logger.warning(
            "%s holds %d entr%s the build did not write (%s); kept there. Only shards belong in a config folder: "
            "move them elsewhere", new, len(kept), "y" if len(kept) == 1 else "ies", shown,
        )


def write_config(folder: Path, config: str, splits: dict[str, pa.Table], max_shard_bytes: int = MAX_SHARD_BYTES) -> dict[str, list[str]]:
    """Write the final shards of ``config`` from in-memory tables and swap them in as a whole.

    Args:
        folder: The output folder.
        config: Config name (``data/<config>/``).
        splits: Split name -> table in the shared schema. Empty splits are not written.
        max_shard_bytes: Largest shard.

    Returns:
        Split -> list of shard paths relative to ``folder``.
    """
    written: dict[str, list[str]] = {}
    with _config_swap(folder, config) as staging:
        for split in SPLITS:
            table = splits.get(split)
            if table is None or table.num_rows == 0:
                continue
            n = shard_count(table.nbytes, table.num_rows, max_shard_bytes)
            bounds = [round(i * table.num_rows / n) for i in range(n + 1)]
            names = []
            for i in range(n):
                name = shard_name(split, i, n)
                write_parquet(table.slice(bounds[i], bounds[i + 1] - bounds[i]), staging / name, "shard")
                names.append(shard_path(config, name))
            written[split] = names
    return written


@dataclass(frozen=True)
class InputFile:
    """A Parquet file whose rows a config is assembled from (a work part or another
    config's shard).

    Attributes:
        path: A local path or an fsspec URL.
        rows: Its rows.
        bytes: Its size (to size the shards).
    """

    path: str
    rows: int
    bytes: int


@dataclass
class Decisions:
    """What becomes of every input row; rows are numbered across the inputs, in order.

    Attributes:
        splits: The split of every row (``None`` drops it).
        ids: The id of every row (the order within a split).
        columns: Column -> the value of every row (``duplicate_ids``, ``pretraining_overlap``...).
    """

    splits: Sequence[str | None]
    ids: Sequence[str]
    columns: dict[str, Sequence[Any]] = field(default_factory=dict)

    def rows_by_split(self) -> dict[str, int]:
        """Rows kept per split."""
        return dict(Counter(s for s in self.splits if s is not None))


def write_shards(
    folder: Path,
    config: str,
    inputs: Sequence[InputFile],
    read: Callable[[str], pa.Table],
    decisions: Decisions,
    *,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    progress: bool = False,
    shards: int | None = None,
) -> dict[str, list[str]]:
    """Write ``config``'s final shards from Parquet inputs without holding the config in
    memory, and swap them in as a whole.

    Each row goes to its split of ``decisions``; within a split rows are ordered by id. At
    most one shard's rows (plus two cached inputs) are in memory at a time, so a config of
    any size builds in bounded memory.

    Args:
        folder: The output folder.
        config: Config name.
        inputs: The files, in the order their rows are numbered.
        read: Reads one whole input (shared schema).
        decisions: Every row's split, id and replaced column values.
        max_shard_bytes: Largest shard.
        progress: Show a progress bar over the rows copied.
        shards: Shards per split (``None``: sized by :func:`shard_count`).

    Returns:
        Split -> list of shard paths relative to ``folder``.
    """
    from dance_aggregate.progress import progress_bar

    row_splits, row_ids, overrides = decisions.splits, decisions.ids, decisions.columns
    bar = progress_bar(sum(1 for s in row_splits if s is not None), f"{config}: writing", "row", enabled=progress)
    where: list[tuple[int, int]] = [(p, r) for p, f in enumerate(inputs) for r in range(f.rows)]
    row_bytes = [inputs[p].bytes // max(1, inputs[p].rows) for p, _ in where]
    cache: dict[int, pa.Table] = {}

    def part(p: int) -> pa.Table:
        if p not in cache:
            if len(cache) >= 2:
                cache.pop(next(iter(cache)))
            cache[p] = read(inputs[p].path)
        return cache[p]
    written: dict[str, list[str]] = {}
    with _config_swap(folder, config) as staging:
        for split in SPLITS:
            rows = sorted((g for g, s in enumerate(row_splits) if s == split), key=lambda g: row_ids[g])
            if not rows:
                continue
            n = shard_count(sum(row_bytes[g] for g in rows), len(rows), max_shard_bytes, shards=shards)
            bounds = [round(i * len(rows) / n) for i in range(n + 1)]
            names = []
            for i in range(n):
                chunk = rows[bounds[i] : bounds[i + 1]]
                pieces, order = [], []
                for p in sorted({where[g][0] for g in chunk}):
                    mine = [g for g in chunk if where[g][0] == p]
                    pieces.append(part(p).take([where[g][1] for g in mine]))
                    order.extend(mine)
                table = pa.concat_tables(pieces)
                position = {g: k for k, g in enumerate(order)}
                table = table.take([position[g] for g in chunk])
                for name, values in overrides.items():
                    idx = table.schema.get_field_index(name)
                    f = table.schema.field(idx)
                    table = table.set_column(idx, f, pa.array([values[g] for g in chunk], type=f.type))
                shard = shard_name(split, i, n)
                write_parquet(table, staging / shard, "shard")
                names.append(shard_path(config, shard))
                bar.update(len(chunk))
            written[split] = names
    bar.close()
    return written
