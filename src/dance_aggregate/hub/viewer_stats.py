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
from collections.abc import Sequence
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


def viewer_files(paths: Sequence[Path], max_split_size_bytes: int | None = MAX_SPLIT_SIZE_BYTES) -> list[Path]:
    """The shards of a split that the statistics job reads: in name order, up to and including
    the first whose cumulative uncompressed row-group bytes pass ``max_split_size_bytes``
    (``None``: all of them)."""
    ordered = sorted((Path(p) for p in paths), key=lambda p: p.name)
    if max_split_size_bytes is None:
        return ordered
    chosen: list[Path] = []
    total = 0
    for path in ordered:
        meta = pq.read_metadata(path)
        chosen.append(path)
        total += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if total > max_split_size_bytes:
            break
    return chosen


def _read(paths: Sequence[Path], column: str) -> pa.ChunkedArray:
    tables = [pq.read_table(p, columns=[column]) for p in paths]
    return pa.chunked_array([c for t in tables for c in t.column(0).chunks], type=tables[0].schema.field(0).type)


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


def _media(column: str, paths: Sequence[Path], problems: list[Problem]) -> None:
    """Media cells, a batch at a time (the bytes are large): one duration fails, and so does a
    non-null cell the viewer cannot open (neither bytes nor path)."""
    present = empty = 0
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=64, columns=[column]):
            cells = pc.drop_null(batch.column(0))
            present += len(cells)
            if len(cells) and pa.types.is_struct(cells.type):
                none = pc.and_(pc.is_null(pc.struct_field(cells, "bytes")), pc.is_null(pc.struct_field(cells, "path")))
                empty += pc.sum(none).as_py() or 0
    if present == 1:
        problems.append(Problem(column, "one value", "one non-null media cell in the rows read (one duration)"))
    if empty:
        problems.append(Problem(column, "empty media", f"{empty} cells with neither bytes nor path"))


def _timestamps(column: str, values: pa.ChunkedArray, problems: list[Problem]) -> None:
    """Dates become whole seconds since the column's minimum, then the integer statistic."""
    ticks = values.cast(pa.int64())
    if len(ticks) == ticks.null_count:
        return
    per_second = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}[values.type.unit]
    since_min = pc.divide(pc.subtract(ticks, pc.min(ticks)), per_second)  # integer division truncates
    _integers(column, "seconds since the earliest date", since_min, problems)


def _check_column(name: str, feature: Any, field: pa.Field, paths: Sequence[Path], n_rows: int,
                  problems: list[Problem]) -> bool:
    """Check one column; False when the statistics job skips it."""
    if isinstance(feature, (List, LargeList)):
        if not (pa.types.is_list(field.type) or pa.types.is_large_list(field.type)):
            return False  # a fixed-size list: skipped
        _integers(name, "list lengths", pc.list_value_length(_read(paths, name)), problems)
        return True
    if isinstance(feature, ClassLabel):
        _class_label(name, feature, _read(paths, name), problems)
        return True
    if isinstance(feature, (Audio, Video, Image)):
        _media(name, paths, problems)
        return True
    if not isinstance(feature, Value):
        return False
    dtype = feature.dtype
    if dtype in _INT_DTYPES:
        _integers(name, "values", _read(paths, name), problems)
    elif dtype in _FLOAT_DTYPES:
        _floats(name, _read(paths, name), problems)
    elif dtype in ("string", "large_string"):
        _strings(name, _read(paths, name), n_rows, problems)
    elif dtype.startswith("timestamp"):
        _timestamps(name, _read(paths, name), problems)
    elif dtype != "bool":
        return False
    return True


def split_problems(paths: Sequence[Path], features: Features | None = None,
                   max_split_size_bytes: int | None = MAX_SPLIT_SIZE_BYTES) -> list[Problem]:
    """Why the viewer's statistics job would fail one split (empty when it would succeed).

    Args:
        paths: The split's Parquet shards (any order; the viewer reads them by name).
        features: The split's features; default: those in the first shard's schema metadata
            (the card's ``dataset_info`` must equal them anyway).
        max_split_size_bytes: Read only the shards the viewer reads; ``None`` checks all.

    Returns:
        One :class:`Problem` per column and rule that fails, in column order.

    Raises:
        ValueError: ``paths`` is empty.
    """
    if not paths:
        raise ValueError("split_problems got no Parquet file; pass the shards of one split")
    files = viewer_files(paths, max_split_size_bytes)
    schema = pq.read_schema(files[0])
    features = features if features is not None else Features.from_arrow_schema(schema)
    n_rows = sum(pq.read_metadata(p).num_rows for p in files)
    problems: list[Problem] = []
    checked = 0
    for name, feature in features.items():
        if _has_array_xd(feature):
            continue  # Array2D..5D columns are dropped before anything else
        checked += _check_column(name, feature, schema.field(name), files, n_rows, problems)
    if not checked:
        problems.append(Problem("", "no columns", "no column of a type the statistics job supports"))
    logger.debug("viewer statistics of %d rows in %d file(s): %d problem(s)", n_rows, len(files), len(problems))
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
