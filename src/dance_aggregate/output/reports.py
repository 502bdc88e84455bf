"""Build accounting and reports.

Every record a builder reads ends in exactly one place: a row of the output, or a line of
``reports/<config>.excluded.csv`` with its reason. :class:`Accounting` holds the counts and
checks that they add up. ``reports/<config>.json`` is one :class:`ConfigReport`, the same
shape for every config (a source's or ``all``), read back by ``stats``, the card and the
publish checks.

Report format 3 (:data:`REPORT_FORMAT`): every report has every field (``source``,
``inputs``, ``builder_options``... empty where they do not apply), and ``pretraining`` is
the same mapping everywhere (``sets``, ``rows_checked``, ``rows_overlapping``, ``to_train``,
``moved_to_train``); format 2 wrote a list of sets there for source configs. Reports of
format 2 are still read.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from dance_aggregate.errors import OutputError
from dance_aggregate.files.atomic import Content, json_text, staged_writes
from dance_aggregate.files.csvfiles import csv_text
from dance_aggregate.files.names import without_local_paths
from dance_aggregate.output.layout import excluded_path, report_path
from dance_aggregate.records import ALL_CONFIG, Exclusion

#: Version of the reports' layout (README, "What a build writes"). A folder whose ``all``
#: report is older gets ``all`` rebuilt.
REPORT_FORMAT = 3

logger = logging.getLogger(__name__)


@dataclass
class Accounting:
    """Counts of one config's build.

    Attributes:
        config: Config name.
        records_read: Records the builder read from the raw files.
        rows_written: Rows in the output, all splits.
        rows_by_split: Rows per split.
        excluded: Excluded records per reason.
        truncated: Rows (among those written) whose source ended before their annotated
            range did: stored with their true end, listed in the report's ``truncated``.
        silent_audio: Rows (among those written) whose source has an audio track that
            holds no sound (digital silence, or no samples in the clip): stored with
            ``has_audio`` false and no ``audio``, listed in the report's ``silent_audio``
            with the reason.
    """

    config: str
    records_read: int = 0
    rows_written: int = 0
    rows_by_split: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    truncated: int = 0
    silent_audio: int = 0

    @property
    def excluded_total(self) -> int:
        """All excluded records."""
        return sum(self.excluded.values())

    @property
    def adds_up(self) -> bool:
        """``records_read == rows_written + excluded``."""
        return self.records_read == self.rows_written + self.excluded_total

    def check(self) -> None:
        """Raise :class:`OutputError` when the accounting does not add up."""
        if not self.adds_up:
            raise OutputError(
                f"{self.config}: accounting does not add up: {self.records_read} records read, "
                f"{self.rows_written} rows written + {self.excluded_total} excluded. "
                f"This is a bug; please report it with reports/{self.config}.json"
            )

    def summary(self) -> str:
        """Multi-line human summary, e.g. for the end of a build."""
        splits = ", ".join(f"{k} {v}" for k, v in sorted(self.rows_by_split.items()))
        lines = [
            f"{self.config}: {self.records_read} records read = {self.rows_written} rows written"
            f" ({splits or 'none'}) + {self.excluded_total} excluded"
            + ("" if self.adds_up else "   <-- DOES NOT ADD UP")
        ]
        for reason, n in sorted(self.excluded.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {n:>8}  {reason}")
        if self.truncated:
            rows = "row written holds" if self.truncated == 1 else "rows written hold"
            lines.append(f"    truncated: {self.truncated} {rows} less than the annotated range (the media "
                         f"is shorter); stored with their true times, listed in reports/{self.config}.json")
        if self.silent_audio:
            rows = "row written has" if self.silent_audio == 1 else "rows written have"
            lines.append(f"    silent audio: {self.silent_audio} {rows} a source audio track that is digital silence; "
                         f"stored with has_audio false, listed in reports/{self.config}.json")
        return "\n".join(lines)


def accounting_from(config: str, records_read: int, rows_by_split: dict[str, int], exclusions: list[Exclusion]) -> Accounting:
    """Build an :class:`Accounting` from counts and the exclusion list."""
    return Accounting(
        config=config,
        records_read=records_read,
        rows_written=sum(rows_by_split.values()),
        rows_by_split=dict(rows_by_split),
        excluded=dict(_count_by_reason(exclusions)),
    )


def _count_by_reason(exclusions: list[Exclusion]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for e in exclusions:
        counts[e.reason] += e.count
    return counts


@dataclass
class PretrainingSection:
    """The ``pretraining`` section of a report: the sets of YouTube ids the rows were checked
    against (``--pretraining-ids``) and what was found.

    Attributes:
        sets: Each set's description (``name``, ``file``, ``ids``).
        rows_checked: Rows checked against the sets (rows with a YouTube id).
        rows_overlapping: Set name -> split -> rows whose video is in the set.
        to_train: Whether such rows were moved to train (``all`` with ``--pretraining-to-train``).
        moved_to_train: Split -> rows moved from it into train.
    """

    sets: list[dict[str, Any]] = field(default_factory=list)
    rows_checked: int = 0
    rows_overlapping: dict[str, dict[str, int]] = field(default_factory=dict)
    to_train: bool = False
    moved_to_train: dict[str, int] = field(default_factory=dict)


@dataclass
class ConfigReport:
    """``reports/<config>.json``: what a config is made of and how it was made, one shape for
    every config.

    Attributes:
        config: The config.
        accounting: Records read = rows written + excluded, by reason.
        source: The source it was built from (``None`` for ``all``).
        inputs: Rows of each config it was made from (``all``; empty for a source config).
        inputs_key: A key of the inputs: when it has not changed, ``all`` is kept as it is.
        shards: The ``--shards`` it was written with (``None``: sized automatically).
        builder_options: The source's options (local paths reduced to their names).
        encode_options: How its clips were encoded.
        data_dir: The name of the raw folder (never its path).
        dedup: Duplicate clusters found among its rows (:meth:`dance_aggregate.dedup.Analysis.summary`).
        thresholds: The dedup thresholds in force.
        split_moves: Rows the split rule moved, with why.
        pretraining: The pretraining sets and the overlap found.
        truncated: Rows stored shorter than their annotated range, with both ranges.
        silent_audio: Rows whose source audio is digital silence (stored without audio), with
            the reason and the peak level.
        resplit: ``all`` built with ``--resplit``: the evaluation split, per label
            (:meth:`dance_aggregate.output.resplit_report.ResplitReport.to_dict`); else ``None``.
        dance_aggregate_version: The version that wrote it.
        elapsed_seconds: Wall time of the config.
        timings: Where the time went (seconds per step).
        report_format: :data:`REPORT_FORMAT` when written.
    """

    config: str
    accounting: Accounting
    source: str | None = None
    inputs: dict[str, int] = field(default_factory=dict)
    inputs_key: str | None = None
    shards: int | None = None
    builder_options: dict[str, Any] = field(default_factory=dict)
    encode_options: dict[str, Any] = field(default_factory=dict)
    data_dir: str | None = None
    dedup: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, Any] = field(default_factory=dict)
    split_moves: list[dict[str, Any]] = field(default_factory=list)
    pretraining: PretrainingSection = field(default_factory=PretrainingSection)
    truncated: list[dict[str, Any]] = field(default_factory=list)
    silent_audio: list[dict[str, Any]] = field(default_factory=list)
    resplit: dict[str, Any] | None = None
    sample: bool = False
    dance_aggregate_version: str = ""
    elapsed_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    report_format: int = REPORT_FORMAT

    def to_json(self) -> dict[str, Any]:
        """The JSON form (``accounting`` first, as every format wrote it)."""
        out = asdict(self)
        return {"accounting": out.pop("accounting"), **out}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConfigReport:
        """A report read back (format 2 or 3).

        Raises:
            OutputError: it is not a report (no accounting).
        """
        if not isinstance(data, dict) or not isinstance(data.get("accounting"), dict):
            raise OutputError("not a dance_aggregate report: no 'accounting' mapping")
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["accounting"] = Accounting(**data["accounting"])
        section = data.get("pretraining")
        if data.get("report_format", 2) < 3 and data.get("config") != ALL_CONFIG:
            values["pretraining"] = PretrainingSection(sets=list(section or []))  # format 2: a list of sets
        else:
            values["pretraining"] = PretrainingSection(**(section or {}))
        values["report_format"] = data.get("report_format", 2)
        return cls(**values)


#: Columns of ``reports/<config>.excluded.csv``.
EXCLUDED_COLUMNS = ("id", "split", "source_label", "reason", "detail", "count")


def report_files(
    folder: Path,
    report: ConfigReport,
    exclusions: list[Exclusion],
    local_roots: Sequence[str | Path] = (),
) -> dict[Path, Content]:
    """The content of ``reports/<config>.json`` and ``reports/<config>.excluded.csv`` (cells
    escaped against spreadsheet formulas, see :mod:`dance_aggregate.files.csvfiles`), by
    path, with no local path of ``local_roots`` or the home folder in them
    (:func:`~dance_aggregate.files.names.without_local_paths`). The CSV comes as a function
    that writes it chunk by chunk (:data:`~dance_aggregate.files.atomic.Content`): a config
    of a million excluded records never holds its whole text."""
    config = report.config
    roots = [*local_roots, folder]
    return {
        report_path(folder, config): without_local_paths(json_text(report.to_json()), roots).encode("utf-8"),
        excluded_path(folder, config): partial(_write_excluded, exclusions, roots),
    }


#: Rows of ``excluded.csv`` sorted (and rendered) at a time.
_CHUNK = 50_000


def _write_excluded(exclusions: list[Exclusion], roots: list[str | Path], f: BinaryIO) -> None:
    """Write ``excluded.csv`` (rows by reason, then id) to ``f``, a chunk of rows at a time:
    the same bytes as rendering it whole (a local path never spans two lines)."""
    def key(e: Exclusion) -> tuple[str, str]:
        return e.reason, e.id

    # Sorted in runs, then merged: a sort of a million exclusions at once holds a million keys.
    runs = [sorted(exclusions[i : i + _CHUNK], key=key) for i in range(0, len(exclusions), _CHUNK)]
    ordered = heapq.merge(*runs, key=key)
    first = True
    while True:
        chunk = list(itertools.islice(ordered, _CHUNK))
        if not chunk and not first:
            break
        text = csv_text(EXCLUDED_COLUMNS, ([e.id, e.split or "", e.source_label or "", e.reason, e.detail, e.count]
                                           for e in chunk))
        if not first:
            text = text.split("\n", 1)[1]  # the header once
        f.write(without_local_paths(text, roots).encode("utf-8"))
        first = False


def write_reports(folder: Path, report: ConfigReport, exclusions: list[Exclusion]) -> None:
    """Write ``reports/<config>.json`` and ``reports/<config>.excluded.csv``, both or neither."""
    with staged_writes(report_files(folder, report, exclusions), "report"):
        pass


def read_report(folder: Path, config: str) -> ConfigReport | None:
    """The report of ``config``, or ``None`` when there is none or it cannot be read (a
    warning names the file)."""
    path = report_path(folder, config)
    if not path.is_file():
        return None
    try:
        return ConfigReport.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, OutputError) as exc:
        logger.warning("%s: cannot read this report (%s); it is ignored. Rebuild the config to rewrite it", path, exc)
        return None
