"""Card summaries read from other steps' reports: deduplication and the download ledger.

Both reports are written by other parts of the pipeline, and either may be absent (a build
from local mirrors has no ledger; a single-source build has no dedup). Every reader here
returns ``None`` or an empty list when its report is missing or unreadable, and the card
says so instead of failing.

- Dedup: the ``dedup`` section of ``reports/all.json`` (its plain numbers and strings),
  ``reports/duplicates*.csv`` / ``.jsonl`` (one line per duplicate;
  a ``cluster`` / ``cluster_id`` column is counted when present), and the ``duplicate_ids``
  column of the ``all`` config itself.
- Ledger: ``reports/*ledger*.csv`` / ``.jsonl`` with columns ``source`` (or ``config``),
  ``split`` and ``status`` (and optionally ``reason``). A row whose status is one of
  :data:`SUCCESS_STATUSES` was downloaded; every other row is missing.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dance_aggregate.fetch.ledger import FAILED_PREFIX, LEGACY_REASONS, MISSING_OFFLINE
from dance_aggregate.files.csvfiles import read_rows
from dance_aggregate.output.folder import BuiltFolder
from dance_aggregate.output.layout import LEDGER_SUFFIX
from dance_aggregate.records import ALL_CONFIG

logger = logging.getLogger(__name__)

#: Ledger statuses that mean the media is there.
SUCCESS_STATUSES = frozenset({"ok", "downloaded", "success", "succeeded", "cached", "done", "present", "exists", "local"})


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a CSV or JSON-lines file (nothing when it cannot be read)."""
    try:
        if path.suffix == ".csv":
            yield from read_rows(path)  # cells as the build wrote them, formula escapes undone
        elif path.suffix in (".jsonl", ".ndjson"):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        obj = json.loads(line)
                        if isinstance(obj, dict):
                            yield obj
    except (OSError, ValueError, csv.Error) as exc:
        logger.warning("cannot read %s for the card: %s", path, exc)


def dedup_summary(folder: Path | BuiltFolder) -> list[dict[str, str]]:
    """``[{"what", "value"}]`` lines about deduplication (empty when nothing is known)."""
    built = BuiltFolder.of(folder)
    out: list[dict[str, str]] = []
    report = built.report(ALL_CONFIG)
    for k, v in sorted(report.dedup.items() if report is not None else []):
        if isinstance(v, (int, float, str, bool)):  # the summary's numbers, not its nested tables
            out.append({"what": k.replace("_", " "), "value": str(v)})
    for path in built.report_files("duplicates*"):
        if path.suffix not in (".csv", ".jsonl", ".ndjson"):
            continue
        n = 0
        clusters: set[str] = set()
        for row in _rows(path):
            n += 1
            c = row.get("cluster") or row.get("cluster_id")
            if c not in (None, ""):
                clusters.add(str(c))
        what = f"lines in `reports/{path.name}`"
        out.append({"what": what, "value": f"{n}" + (f" ({len(clusters)} clusters)" if clusters else "")})
    if ALL_CONFIG in built.configs:
        rows = with_dups = 0
        for col in built.column(ALL_CONFIG, "duplicate_ids").values():
            rows += len(col)
            with_dups += sum(1 for v in col if v)
        out.append({"what": "rows of `all` that list other copies in `duplicate_ids`", "value": f"{with_dups} of {rows}"})
    return out


#: Exclusion reasons that mean "the clip had no video" (local mirror miss or failed download).
_MISSING_PREFIXES = (MISSING_OFFLINE, FAILED_PREFIX)


def ledger_summary(folder: Path | BuiltFolder) -> list[dict[str, Any]]:
    """Missing rates per source and split (empty when nothing was fetched).

    Two inputs are understood:

    - ``reports/<config>.download_ledger.csv`` as the fetcher writes it (one row per clip
      that was not in the local mirror, no split column): the rate is taken over every clip
      of the config, per split, from its shards (clips with video) and its
      ``<config>.excluded.csv`` (clips excluded as missing or failed downloads);
    - any other ``reports/*ledger*`` CSV / JSON-lines with ``source`` (or ``config``),
      ``split`` and ``status`` columns, counted row by row.
    """
    built = BuiltFolder.of(folder)
    out: list[dict[str, Any]] = []
    totals: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    reasons: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for path in built.report_files("*ledger*"):
        if path.name.endswith(LEDGER_SUFFIX):
            out.extend(_fetch_missing_rates(built, path.name[: -len(LEDGER_SUFFIX)], path))
            continue
        for row in _rows(path):
            source = str(row.get("source") or row.get("config") or "?")
            split = str(row.get("split") or "-")
            status = str(row.get("status") or row.get("outcome") or "").strip().lower()
            key = (source, split)
            totals[key]["requested"] += 1
            if status in SUCCESS_STATUSES:
                totals[key]["ok"] += 1
            else:
                reasons[key][_reason_name(str(row.get("reason") or status or "unknown"))] += 1
    for (source, split), c in sorted(totals.items()):
        out.append(_rate_row(source, split, c["requested"], c["ok"], reasons[(source, split)]))
    return out


def _rate_row(source: str, split: str, wanted: int, present: int, why: Counter[str]) -> dict[str, Any]:
    missing = wanted - present
    return {
        "source": source,
        "split": split,
        "requested": wanted,
        "downloaded": present,
        "missing": missing,
        "rate": f"{100.0 * missing / wanted:.1f}%" if wanted else "-",
        "reasons": ", ".join(f"{r} {n}" for r, n in why.most_common(3)) or "-",
    }


def _fetch_missing_rates(folder: BuiltFolder, config: str, ledger: Path) -> list[dict[str, Any]]:
    """Per split: clips of ``config`` with video (its shards) against clips without (its
    exclusions for missing or undownloadable video), with the ledger's reasons."""
    ledger_reason = {str(r.get("key") or ""): _reason_name(str(r.get("reason") or "")) for r in _rows(ledger)}
    present: Counter[str] = Counter(folder.rows(config))
    missing: Counter[str] = Counter()
    why: dict[str, Counter[str]] = defaultdict(Counter)
    for row in _rows(folder.excluded_csv(config)):
        reason = str(row.get("reason") or "")
        if not reason.startswith(_MISSING_PREFIXES):
            continue
        split = str(row.get("split") or "-")
        n = int(row.get("count") or 1)
        missing[split] += n
        short = reason[len(FAILED_PREFIX):] if reason.startswith(FAILED_PREFIX) else reason
        if short == MISSING_OFFLINE:
            key = str(row.get("id") or "").split("/", 1)[-1]
            short = ledger_reason.get(key) or short
        why[split][short] += n
    splits = [s for s in ("train", "validation", "test") if present[s] or missing[s]]
    splits += sorted(s for s in set(present) | set(missing) if s not in splits)
    return [_rate_row(config, s, present[s] + missing[s], present[s], why[s]) for s in splits]


def _reason_name(reason: str) -> str:
    """A ledger reason under its current name (a ledger of an earlier version said ``offline``
    where reports say ``missing video``)."""
    return LEGACY_REASONS.get(reason, reason)
