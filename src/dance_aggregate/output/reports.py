"""Build accounting and reports.

Every record a builder reads ends in exactly one place: a row of the output, or a line of
``reports/<config>.excluded.csv`` with its reason. :class:`Accounting` holds the counts and
checks that they add up; ``reports/<config>.json`` keeps them for ``stats``, the card and
the publish checks.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dance_aggregate.errors import OutputError
from dance_aggregate.output.atomic import json_text, staged_writes
from dance_aggregate.output.csvfiles import csv_text
from dance_aggregate.output.layout import excluded_path, report_path
from dance_aggregate.records import Exclusion


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


#: Columns of ``reports/<config>.excluded.csv``.
EXCLUDED_COLUMNS = ("id", "split", "source_label", "reason", "detail", "count")


def without_local_paths(text: str, roots: Sequence[str | Path]) -> str:
    """``text`` with every local folder of ``roots`` replaced by its last component
    (``/home/ann/data/ucf101/x.avi`` -> ``ucf101/x.avi``); the home folder becomes ``~``.

    Reports are published with the dataset: the details of an exclusion name files (a
    video that ends early, an unreadable frame), and the machine that built them is
    nobody's business. Longer roots are replaced first, so a data folder under the home
    folder keeps its own name.
    """
    names: dict[str, str] = {}
    for root in roots:
        for form in {str(root), str(Path(root).resolve())}:
            if form not in ("", "/", "."):
                names[form.rstrip("/")] = Path(form).name
    names[str(Path.home())] = "~"
    for form in sorted(names, key=len, reverse=True):
        text = text.replace(form, names[form])
    return text


def report_files(
    folder: Path,
    acc: Accounting,
    exclusions: list[Exclusion],
    extra: dict[str, Any] | None = None,
    local_roots: Sequence[str | Path] = (),
) -> dict[Path, bytes]:
    """The content of ``reports/<config>.json`` and ``reports/<config>.excluded.csv`` (cells
    escaped against spreadsheet formulas, see :mod:`.csvfiles`), by path, with no local
    path of ``local_roots`` or the home folder in them (:func:`without_local_paths`)."""
    report = {"accounting": asdict(acc), **(extra or {})}
    rows = (
        [e.id, e.split or "", e.source_label or "", e.reason, e.detail, e.count]
        for e in sorted(exclusions, key=lambda e: (e.reason, e.id))
    )
    roots = [*local_roots, folder]
    return {
        report_path(folder, acc.config): without_local_paths(json_text(report), roots).encode("utf-8"),
        excluded_path(folder, acc.config): without_local_paths(csv_text(EXCLUDED_COLUMNS, rows), roots).encode("utf-8"),
    }


def write_reports(folder: Path, acc: Accounting, exclusions: list[Exclusion], extra: dict[str, Any] | None = None) -> None:
    """Write ``reports/<config>.json`` and ``reports/<config>.excluded.csv``, both or neither."""
    with staged_writes(report_files(folder, acc, exclusions, extra), "report"):
        pass


def read_report(folder: Path, config: str) -> dict[str, Any] | None:
    """The JSON report of ``config``, or ``None`` when there is none."""
    path = report_path(folder, config)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def read_accounting(folder: Path, config: str) -> Accounting | None:
    """The accounting of ``config`` from its report."""
    report = read_report(folder, config)
    if not report or "accounting" not in report:
        return None
    return Accounting(**report["accounting"])
