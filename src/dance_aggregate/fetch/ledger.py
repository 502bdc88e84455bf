"""The download ledger: what happened to every clip the build asked for, and why.

The truth is one small JSON file per requested clip in the work folder, written
atomically (write a temporary file, then rename), so worker processes never contend on
one file and a crash never leaves a half-written row. :func:`write_ledger_csv` renders
the rows of one config as ``reports/<config>.download_ledger.csv``, also atomically.

Statuses: ``ok`` (the file is in the cache), ``failed`` (with a normalised ``reason``
and whether it is ``transient``), ``missing`` (not in the mirror and ``--offline``; its
reason is :data:`MISSING_OFFLINE`, ``missing video``, the name the build's reports, summary
and card give the same cause).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dance_aggregate.files.atomic import atomic_write_text
from dance_aggregate.files.csvfiles import csv_text
from dance_aggregate.files.names import safe_stem, without_local_paths

#: Exclusion reason prefix of a clip whose download failed ("download failed: removed").
FAILED_PREFIX = "download failed: "
#: Exclusion reason of a clip not in the mirror while offline, and the ledger's reason for it.
MISSING_OFFLINE = "missing video"
#: Reasons earlier versions wrote in the ledger, and their name now (read back as the latter).
LEGACY_REASONS = {"offline": MISSING_OFFLINE}

# Normalised reasons.
REMOVED = "removed"
PRIVATE = "private"
COPYRIGHT = "copyright"
GEO_BLOCKED = "geo-blocked"
SIGN_IN = "sign-in or bot check"
AGE_RESTRICTED = "age-restricted"
RATE_LIMITED = "rate-limited"
NETWORK = "network"
UNREADABLE = "unreadable media"
NOT_FOUND = "not found"
FORBIDDEN = "forbidden"
NO_FORMAT = "no suitable format"
UNSUPPORTED = "unsupported url"
SERVER_ERROR = "server error"
OTHER = "download error"
#: Reasons worth retrying later without being asked (on a rerun, with backoff in a run).
TRANSIENT = frozenset({SIGN_IN, RATE_LIMITED, NETWORK, SERVER_ERROR, OTHER})
#: Reasons that are facts about one video (many old ids are gone), not signs of a broken
#: setup: they never count towards a build's failure cap.
PER_VIDEO = frozenset({REMOVED, PRIVATE, COPYRIGHT, GEO_BLOCKED, AGE_RESTRICTED, NOT_FOUND, NO_FORMAT})


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class LedgerEntry:
    """One requested clip.

    Attributes:
        key: The fetch key (``<youtube_id>_<start:06d>_<end:06d>``), also the cache file stem.
        youtube_id: The video id.
        start: Start of the requested range in the video (s), or None for the whole video.
        end: End of the requested range (s), or None.
        status: ``pending``, ``ok``, ``failed`` or ``missing``.
        reason: Normalised reason of the last failure ("" when ok).
        transient: Whether the last failure is worth retrying without ``--retry-failed``.
        detail: The last error message (secrets removed).
        attempts: Download attempts over all runs.
        first_try: UTC time of the first attempt.
        last_try: UTC time of the last attempt.
        ytdlp_version: yt-dlp version of the last attempt.
        method: ``range`` or ``full`` (how the cached file was downloaded).
        file: Cache file name, when ok.
        offset: Time in the video of the cached file's t=0 (s).
        bytes: Size of the cached file.
    """

    key: str
    youtube_id: str
    start: float | None = None
    end: float | None = None
    status: str = "pending"
    reason: str = ""
    transient: bool = False
    detail: str = ""
    attempts: int = 0
    first_try: str = ""
    last_try: str = ""
    ytdlp_version: str = ""
    method: str = ""
    file: str = ""
    offset: float = 0.0
    bytes: int = 0

    @property
    def permanent_failure(self) -> bool:
        """Failed for a reason that retrying will not fix."""
        return self.status == "failed" and not self.transient


class Ledger:
    """The per-clip state files of one source, in ``folder``.

    Args:
        folder: The ledger folder (``<work>/fetch/<source>/ledger``).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        """The state file of ``key`` (its name escaped: a key never names a path elsewhere)."""
        return self.folder / f"{safe_stem(key)}.json"

    def get(self, key: str) -> LedgerEntry | None:
        """The entry of ``key``, or None when it was never requested."""
        entry = self._read(self.path(key))
        return entry if entry is not None and entry.key == key else None

    @staticmethod
    def _read(path: Path) -> LedgerEntry | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            return None  # cannot happen with atomic writes; treat as never requested
        names = {f.name for f in fields(LedgerEntry)}
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        entry = LedgerEntry(**{k: v for k, v in data.items() if k in names})
        entry.reason = LEGACY_REASONS.get(entry.reason, entry.reason)
        return entry

    def put(self, entry: LedgerEntry) -> None:
        """Write ``entry`` atomically."""
        atomic_write_text(self.path(entry.key), json.dumps(asdict(entry), sort_keys=True), "download ledger entry")

    def entries(self, keys: list[str] | None = None) -> list[LedgerEntry]:
        """Entries of ``keys`` (every entry when None), in key order."""
        if keys is None:
            files = sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []
            found = [e for e in map(self._read, files) if e is not None]
            return sorted(found, key=lambda e: e.key)
        out = []
        for key in sorted(set(keys)):
            entry = self.get(key)
            if entry is not None:
                out.append(entry)
        return out


def exclusion_reason(reason: str) -> str:
    """The build-report reason of a failed download."""
    return f"{FAILED_PREFIX}{reason}"


def is_per_video(exclusion_reason_: str) -> bool:
    """Whether a clip excluded with this reason failed for a fact about its own video (gone,
    private, not in the offline mirror...) rather than a problem every clip would share."""
    if exclusion_reason_ == MISSING_OFFLINE:
        return True
    return exclusion_reason_.startswith(FAILED_PREFIX) and exclusion_reason_[len(FAILED_PREFIX) :] in PER_VIDEO


def needs_retry(exclusion_reason_: str, *, offline: bool, retry_failed: bool) -> bool:
    """Whether a clip excluded with this reason by an earlier run should be tried again."""
    if offline:
        return False
    if exclusion_reason_ == MISSING_OFFLINE:
        return True
    if exclusion_reason_.startswith(FAILED_PREFIX):
        return retry_failed or exclusion_reason_[len(FAILED_PREFIX) :] in TRANSIENT
    return False


LEDGER_COLUMNS = [f.name for f in fields(LedgerEntry) if f.name not in ("file", "offset")]


def write_ledger_csv(
    path: Path, entries: list[LedgerEntry], pending: list[tuple[str, str]] = (), local_roots: Sequence[Path] = ()
) -> dict[str, int]:
    """Write the ledger rows (plus never-tried ``(key, youtube_id)`` pairs) as CSV, atomically
    (cells escaped against spreadsheet formulas: an id beginning with ``-`` is written
    ``'-...``, see :mod:`dance_aggregate.files.csvfiles`), with no local path of
    ``local_roots`` or the home folder in it (it is published with the reports).

    Returns:
        Counts per status.
    """
    counts: dict[str, int] = {}
    rows: list[dict[str, Any]] = [asdict(e) for e in entries]
    rows += [asdict(LedgerEntry(key=k, youtube_id=y)) for k, y in pending]
    rows.sort(key=lambda r: r["key"])
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    text = csv_text(LEDGER_COLUMNS, ([row[c] for c in LEDGER_COLUMNS] for row in rows))
    atomic_write_text(path, without_local_paths(text, local_roots), "download ledger")
    return counts
