"""Will the Hub dataset viewer's statistics job succeed on a split? A local, exact-enough check.

The viewer computes per-column statistics for every split ("split-descriptive-statistics")
and a single column that trips it fails the whole split: the split's statistics tab shows
an error instead of any column's histogram. This module re-derives, with pyarrow only,
what that job computes for each column, and says which column would trip it, why, and
what would avoid it. The logic is ported (not copied) from huggingface/dataset-viewer at
commit ``f62009e0555b1274e7f6ddc7058dc796993f28b6`` (2026-08-20):

- ``services/worker/src/worker/job_runners/split/descriptive_statistics.py``: which files
  are read (in order, until their row groups' uncompressed bytes pass
  ``MAX_SPLIT_SIZE_BYTES``; ``services/worker/src/worker/config.py``) and which column
  becomes which statistic: any ``List``/``LargeList`` whose Arrow type is a variable list
  (whatever its items) -> list lengths; ``ClassLabel``; ``Value`` int/float/string/bool/
  timestamp; ``Audio``/``Video`` (durations) and ``Image`` (widths). Fixed-size lists,
  structs, ``binary``, ``Array2D``-``Array5D`` and the rest are skipped.
- ``libs/libcommon/src/libcommon/statistics_utils.py``: integers, list lengths, text
  lengths, image widths and datetime seconds all go through one integer statistic whose
  ``generate_bins`` returns ``[min, max]`` when ``max - min == 1`` and whose
  ``compute_histogram`` then raises, because two edges are only expected when
  ``min == max`` (the fix, dataset-viewer PR 3440, was closed unmerged); every numeric
  statistic raises when the standard deviation is null but the minimum is not, which
  polars 1.39.3 (the worker's lock file) gives for exactly one non-null value
  (dataset-viewer issue 2653, open); a string column is first sniffed for dates with
  ``dateutil`` catching only ``ValueError``.

Rules checked (each one raises in the viewer and fails the split):

- ``adjacent``: the integers of a column take exactly two values ``a`` and ``a + 1``.
- ``one value``: exactly one non-null value in a numeric, list, text-length or media column.
- ``date sniff``: ``dateutil`` raises something other than ``ValueError`` (an ``OverflowError``
  for a long all-digit string) on a value it reaches among the first 100 non-null strings.
- ``class label``: more distinct ``ClassLabel`` values than names (+ ``-1`` + null).
- ``infinite``: ``inf`` in a float column whose values are not all equal (``numpy.arange`` cannot
  size the bins).
- ``big integer``: an integer column beyond 2**53: its statistics go through float64
  (wrong bins or an ``OverflowError`` at 2**63).
- ``empty media``: a non-null ``Audio``/``Video``/``Image`` cell with neither bytes nor path.
- ``empty split``: a split of no rows with a string column (the viewer divides by 0 rows).

Not checked: whether a media header has a duration (the job decodes with torchcodec) and
the date statistics of strings that all look like dates (they are skipped here).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets import Audio, ClassLabel, Features, Image, LargeList, List, Value, Video
from datasets.features.features import _ArrayXD

logger = logging.getLogger(__name__)

#: The dataset-viewer commit these rules were read from.
VIEWER_COMMIT = "f62009e0555b1274e7f6ddc7058dc796993f28b6"
#: Statistics read a split's files in order until their uncompressed bytes pass this.
MAX_SPLIT_SIZE_BYTES = 100_000_000
#: A string column is a category when it has at most this many distinct values (null counts)...
MAX_LABELS_ALWAYS = 10
#: ... or at most this share of distinct values and at most ``MAX_NUM_STRING_LABELS`` of them.
MAX_PROPORTION_STRING_LABELS = 0.2
MAX_NUM_STRING_LABELS = 1000
#: How many non-null strings the date sniff looks at.
DATE_SNIFF_VALUES = 100
#: Largest integer float64 holds exactly.
EXACT_FLOAT_INT = 2**53

_INT_DTYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
_FLOAT_DTYPES = {"float16", "float32", "float64"}

_FIX = {
    "adjacent": "store the column in a form the job skips or cannot trip on (a fixed-length list, a string "
    "whose lengths differ by more than 1), or publish it knowing the split's statistics tab shows an error "
    "until the viewer takes the fix of dataset-viewer PR 3440",
    "one value": "give at least two rows of the split a value in this column (or none), e.g. publish no "
    "one-row splits; the viewer's bug is dataset-viewer issue 2653",
    "date sniff": "make sure the split's first non-null value of this column is not a long all-digit string "
    "(reorder rows or prefix such values)",
    "class label": "keep the column's values within the ClassLabel's names (or -1 for no label)",
    "infinite": "store a finite value or null instead of inf",
    "big integer": "store integers above 2**53 as strings (hex) or bytes",
    "empty media": "write the media bytes (or a path) into every non-null media cell, or make the cell null",
    "no columns": "add a column of a type the statistics job supports",
    "empty split": "publish no split without rows",
}


@dataclass(frozen=True)
class Problem:
    """One reason the viewer's statistics job would fail a split.

    Attributes:
        column: The column that trips it ("" when the split as a whole does).
        rule: Which rule (a key of the module's rule list: ``adjacent``, ``one value``, ...).
        detail: What was seen, with the values.
    """

    column: str
    rule: str
    detail: str

    def __str__(self) -> str:
        where = f"column {self.column!r}" if self.column else "the split"
        return f"{where}: {self.rule}: {self.detail}; fix: {_FIX[self.rule]}"


class _SplitFiles:
    """The shards of one split as the check reads them: each footer parsed once (or handed
    in, already parsed), the columns the rules need read in one pass per shard, the media
    columns streamed a batch at a time (their bytes are large)."""

    def __init__(self, paths: Sequence[Path], footers: Mapping[Path, pq.FileMetaData] | None = None) -> None:
        self._footers: dict[Path, pq.FileMetaData] = dict(footers or {})
        self.paths = [Path(p) for p in paths]
        self._columns: dict[str, pa.ChunkedArray] = {}

    def footer(self, path: Path) -> pq.FileMetaData:
        if path not in self._footers:
            self._footers[path] = pq.read_metadata(path)
        return self._footers[path]

    def _open(self, path: Path) -> pq.ParquetFile:
        return pq.ParquetFile(path, metadata=self.footer(path))

    def viewer_files(self, max_split_size_bytes: int | None) -> _SplitFiles:
        """The shards the statistics job reads: in name order, up to and including the
        first whose cumulative uncompressed row-group bytes pass ``max_split_size_bytes``
        (``None``: all of them)."""
        chosen: list[Path] = []
        total = 0
        for path in sorted(self.paths, key=lambda p: p.name):
            chosen.append(path)
            if max_split_size_bytes is None:
                continue
            meta = self.footer(path)
            total += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            if total > max_split_size_bytes:
                break
        return _SplitFiles(chosen, {p: self.footer(p) for p in chosen if p in self._footers})

    @property
    def rows(self) -> int:
        return sum(self.footer(p).num_rows for p in self.paths)

    @property
    def schema(self) -> pa.Schema:
        return self.footer(self.paths[0]).schema.to_arrow_schema()

    def preload(self, names: Sequence[str]) -> None:
        """Read ``names`` from every shard, one read per shard."""
        names = [n for n in dict.fromkeys(names) if n not in self._columns]
        if not names:
            return
        tables = []
        for path in self.paths:
            with self._open(path) as f:
                tables.append(f.read(columns=names))
        for name in names:
            chunks = [c for t in tables for c in t.column(name).chunks]
            self._columns[name] = pa.chunked_array(chunks, type=tables[0].schema.field(name).type)

    def column(self, name: str) -> pa.ChunkedArray:
        self.preload([name])
        return self._columns[name]

    def media_batches(self, names: Sequence[str]) -> Iterator[pa.RecordBatch]:
        for path in self.paths:
            with self._open(path) as f:
                yield from f.iter_batches(batch_size=64, columns=list(names))


def viewer_files(paths: Sequence[Path], max_split_size_bytes: int | None = MAX_SPLIT_SIZE_BYTES) -> list[Path]:
    """The shards of a split that the statistics job reads: in name order, up to and including
    the first whose cumulative uncompressed row-group bytes pass ``max_split_size_bytes``
    (``None``: all of them)."""
    return _SplitFiles(paths).viewer_files(max_split_size_bytes).paths


def _integers(column: str, what: str, values: pa.ChunkedArray, problems: list[Problem]) -> None:
    """The viewer's integer statistic (``IntColumn``) over ``values`` (nulls ignored)."""
    count = len(values) - values.null_count
    if count == 0:
        return
    bounds = pc.min_max(values)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if count == 1:
        problems.append(Problem(column, "one value", f"{what} has one non-null value ({low}) in the rows read"))
    elif high - low == 1:
        problems.append(Problem(column, "adjacent", f"{what} take exactly two adjacent values, {low} and {high}, "
                                f"so the integer histogram gets the edges [{low}, {high}]"))
    if max(abs(low), abs(high)) > EXACT_FLOAT_INT and float(low) != float(high):
        problems.append(Problem(column, "big integer", f"{what} reach {max(abs(low), abs(high))}, above 2**53"))


def _floats(column: str, values: pa.ChunkedArray, problems: list[Problem]) -> None:
    """The viewer's float statistic: NaN counts as null, one value or inf raises."""
    if pa.types.is_null(values.type) or len(values) == 0:
        return
    real = pc.drop_null(values)
    real = real.filter(pc.invert(pc.is_nan(real)))
    if len(real) == 1:
        problems.append(Problem(column, "one value", f"one non-null value ({real[0].as_py()}) in the rows read"))
    elif len(real) and pc.any(pc.is_inf(real)).as_py():
        bounds = pc.min_max(real)
        if bounds["min"].as_py() != bounds["max"].as_py():  # all the same inf gives one bin and passes
            problems.append(Problem(column, "infinite", f"the column holds inf (range {bounds['min']} to {bounds['max']})"))


def _date_sniff(column: str, values: pa.ChunkedArray, problems: list[Problem]) -> str:
    """The viewer's date sniff: ``"dates"`` when every sniffed value parses, ``"raises"`` when
    ``dateutil`` raises what the viewer does not catch, else ``"text"``."""
    from dateutil import parser  # a dependency of pandas, hence of datasets

    sniffed = pc.drop_null(values)[:DATE_SNIFF_VALUES].to_pylist()
    for text in sniffed:
        try:
            parser.parse(text)
        except ValueError:
            return "text"
        except Exception as error:  # anything else escapes the viewer's sniff and fails the job
            problems.append(Problem(column, "date sniff", f"dateutil raises {type(error).__name__} on {text!r}"))
            return "raises"
    return "dates" if sniffed else "text"


def _strings(column: str, values: pa.ChunkedArray, n_rows: int, problems: list[Problem]) -> None:
    """The viewer's string statistic: a category (frequencies, safe), dates, or text lengths."""
    if _date_sniff(column, values, problems) != "text":
        return  # failed, or all dates: the date statistics apply instead (not checked here)
    n_unique = pc.count_distinct(values, mode="all").as_py()
    if n_rows == 0:  # the viewer divides by the row count here
        problems.append(Problem(column, "empty split", "a string column in a split of 0 rows"))
        return
    category = n_unique / n_rows <= MAX_PROPORTION_STRING_LABELS and n_unique <= MAX_NUM_STRING_LABELS
    if category or n_unique <= MAX_LABELS_ALWAYS:
        return
    _integers(column, "text lengths", pc.utf8_length(values), problems)


def _class_label(column: str, feature: ClassLabel, values: pa.ChunkedArray, problems: list[Problem]) -> None:
    n_unique = pc.count_distinct(values, mode="all").as_py()
    no_label = pc.any(pc.equal(values, -1)).as_py() or False
    allowed = feature.num_classes + int(no_label) + int(values.null_count > 0)
    if n_unique > allowed:
        outside = sorted(v for v in pc.unique(pc.drop_null(values)).to_pylist() if not -1 <= v < feature.num_classes)
        problems.append(Problem(column, "class label", f"{n_unique} distinct values for {feature.num_classes} names "
                                f"(outside the names: {outside[:5]})"))


def _media(names: Sequence[str], files: _SplitFiles, problems: list[Problem]) -> None:
    """Media cells, a batch at a time (the bytes are large): one duration fails, and so does a
    non-null cell the viewer cannot open (neither bytes nor path)."""
    present = dict.fromkeys(names, 0)
    empty = dict.fromkeys(names, 0)
    for batch in files.media_batches(names):
        for name in names:
            cells = pc.drop_null(batch.column(name))
            present[name] += len(cells)
            if len(cells) and pa.types.is_struct(cells.type):
                none = pc.and_(pc.is_null(pc.struct_field(cells, "bytes")), pc.is_null(pc.struct_field(cells, "path")))
                empty[name] += pc.sum(none).as_py() or 0
    for name in names:
        if present[name] == 1:
            problems.append(Problem(name, "one value", "one non-null media cell in the rows read (one duration)"))
        if empty[name]:
            problems.append(Problem(name, "empty media", f"{empty[name]} cells with neither bytes nor path"))


def _timestamps(column: str, values: pa.ChunkedArray, problems: list[Problem]) -> None:
    """Dates become whole seconds since the column's minimum, then the integer statistic."""
    ticks = values.cast(pa.int64())
    if len(ticks) == ticks.null_count:
        return
    per_second = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}[values.type.unit]
    since_min = pc.divide(pc.subtract(ticks, pc.min(ticks)), per_second)  # integer division truncates
    _integers(column, "seconds since the earliest date", since_min, problems)


def _kind(feature: Any, field: pa.Field) -> str | None:
    """Which statistic the job computes for a column, or ``None`` when it skips it."""
    if isinstance(feature, (List, LargeList)):
        # a fixed-size list is skipped
        return "list" if pa.types.is_list(field.type) or pa.types.is_large_list(field.type) else None
    if isinstance(feature, ClassLabel):
        return "class label"
    if isinstance(feature, (Audio, Video, Image)):
        return "media"
    if not isinstance(feature, Value):
        return None
    dtype = feature.dtype
    if dtype in _INT_DTYPES:
        return "int"
    if dtype in _FLOAT_DTYPES:
        return "float"
    if dtype in ("string", "large_string"):
        return "string"
    if dtype.startswith("timestamp"):
        return "timestamp"
    return "bool" if dtype == "bool" else None


def _check_column(name: str, kind: str, feature: Any, files: _SplitFiles, n_rows: int,
                  problems: list[Problem]) -> None:
    """Check one column of statistic ``kind`` (media columns: :func:`_media`; bools pass)."""
    if kind == "list":
        _integers(name, "list lengths", pc.list_value_length(files.column(name)), problems)
    elif kind == "class label":
        _class_label(name, feature, files.column(name), problems)
    elif kind == "int":
        _integers(name, "values", files.column(name), problems)
    elif kind == "float":
        _floats(name, files.column(name), problems)
    elif kind == "string":
        _strings(name, files.column(name), n_rows, problems)
    elif kind == "timestamp":
        _timestamps(name, files.column(name), problems)


def split_problems(paths: Sequence[Path], features: Features | None = None,
                   max_split_size_bytes: int | None = MAX_SPLIT_SIZE_BYTES,
                   footers: Mapping[Path, pq.FileMetaData] | None = None) -> list[Problem]:
    """Why the viewer's statistics job would fail one split (empty when it would succeed).

    Args:
        paths: The split's Parquet shards (any order; the viewer reads them by name).
        features: The split's features; default: those in the first shard's schema metadata
            (the card's ``dataset_info`` must equal them anyway).
        max_split_size_bytes: Read only the shards the viewer reads; ``None`` checks all.
        footers: Footers already parsed (path -> metadata), so they are not parsed again.

    Returns:
        One :class:`Problem` per column and rule that fails, in column order.

    Raises:
        ValueError: ``paths`` is empty.
    """
    if not paths:
        raise ValueError("split_problems got no Parquet file; pass the shards of one split")
    files = _SplitFiles(paths, footers).viewer_files(max_split_size_bytes)
    schema = files.schema
    features = features if features is not None else Features.from_arrow_schema(schema)
    n_rows = files.rows
    checked: dict[str, str] = {}
    for name, feature in features.items():
        if _has_array_xd(feature):
            continue  # Array2D..5D columns are dropped before anything else
        kind = _kind(feature, schema.field(name))
        if kind is not None:
            checked[name] = kind
    files.preload([n for n, k in checked.items() if k not in ("media", "bool")])  # one read per shard
    media = [n for n, k in checked.items() if k == "media"]
    problems: list[Problem] = []
    for name, kind in checked.items():
        if kind != "media":
            _check_column(name, kind, features[name], files, n_rows, problems)
        elif name == media[0]:  # every media column in one pass, reported in column order
            _media(media, files, problems)
    if not checked:
        problems.append(Problem("", "no columns", "no column of a type the statistics job supports"))
    logger.debug("viewer statistics of %d rows in %d file(s): %d problem(s)", n_rows, len(files.paths), len(problems))
    return problems


def _has_array_xd(feature: Any) -> bool:
    if isinstance(feature, dict):
        return any(_has_array_xd(f) for f in feature.values())
    if isinstance(feature, (List, LargeList)):
        return _has_array_xd(feature.feature)
    return isinstance(feature, _ArrayXD)


def check_split(paths: Sequence[Path], features: Features | None = None,
                max_split_size_bytes: int | None = MAX_SPLIT_SIZE_BYTES) -> list[str]:
    """:func:`split_problems` as sentences naming the column, the reason and the fix."""
    return [str(p) for p in split_problems(paths, features, max_split_size_bytes)]


def check_folder(folder: Path, max_split_size_bytes: int | None = MAX_SPLIT_SIZE_BYTES) -> dict[str, list[str]]:
    """:func:`check_split` for every ``data/<config>/<split>-*.parquet`` split of a built folder.

    Returns:
        ``"<config>/<split>"`` -> its problems (an empty list for a split that passes).
    """
    results: dict[str, list[str]] = {}
    data = Path(folder) / "data"
    for config in sorted(p for p in data.iterdir() if p.is_dir() and not p.name.startswith(".")):
        by_split: dict[str, list[Path]] = {}
        for shard in sorted(config.glob("*.parquet")):
            by_split.setdefault(shard.name.split("-", 1)[0], []).append(shard)
        for split, shards in sorted(by_split.items()):
            results[f"{config.name}/{split}"] = check_split(shards, max_split_size_bytes=max_split_size_bytes)
    return results
