"""The download ledger: what happened to every clip the build asked for, and why.

The truth is a :class:`~dance_aggregate.fetch.journal.Journal` in the source's ledger folder:
append-only JSON lines in at most 256 shard files, one line per change of an entry, the last
line of a key winning. Workers on one machine append to it at once (each line under a lock
of its shard); a worker killed mid-line leaves a torn line that readers skip. So the files
stay few whatever the number of clips, and a clip missing offline writes nothing at all (the
report knows it is missing: see :func:`report_rows`). Versions before this one kept one JSON
file per clip (``<ledger>/<key>.json``); those are still read, never written, and a line
for the same key wins over them.

:func:`write_ledger_report` renders the rows of one config as
``reports/<config>.download_ledger.csv``, streamed to a temporary file and renamed.

Statuses: ``ok`` (the file is in the cache), ``failed`` (with a normalised ``reason``
and whether it is ``transient``), ``missing`` (not in the mirror and ``--offline``; its
reason is :data:`MISSING_OFFLINE`, ``missing video``, the name the build's reports, summary
and card give the same cause), ``pending`` (not tried yet).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from dance_aggregate.fetch.journal import Journal
from dance_aggregate.files.atomic import replacing
from dance_aggregate.files.csvfiles import csv_text
from dance_aggregate.files.names import safe_stem, without_local_paths

#: Exclusion reason prefix of a clip whose download failed ("download failed: removed").
FAILED_PREFIX = "download failed: "
#: Exclusion reason of a clip not in the mirror while offline, and the ledger's reason for it.
MISSING_OFFLINE = "missing video"
#: The ledger report's reason for such a clip (status ``missing``): the same name.
OFFLINE_REASON = MISSING_OFFLINE
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
#: A server that refuses the request for another reason (HTTP 400, 405, 451...): permanent.
REFUSED = "refused by the server"
OTHER = "download error"
#: Reasons worth retrying later without being asked (on a rerun, with backoff in a run).
TRANSIENT = frozenset({SIGN_IN, RATE_LIMITED, NETWORK, SERVER_ERROR, OTHER})
#: Reasons that are facts about one video (many old ids are gone), not signs of a broken
#: setup: they never count towards a build's failure cap.
PER_VIDEO = frozenset({REMOVED, PRIVATE, COPYRIGHT, GEO_BLOCKED, AGE_RESTRICTED, NOT_FOUND, NO_FORMAT})


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class LedgerEntry:
    """One requested clip (or file).

    Attributes:
        key: The fetch key (``<youtube_id>_<start:06d>_<end:06d>``, or a file's name for a
            URL download), also the cache file stem (escaped).
        youtube_id: The video id ("" for a URL download).
        start: Start of the requested range in the video (s), or None for the whole video.
        end: End of the requested range (s), or None.
        status: ``pending``, ``ok``, ``failed`` or ``missing``.
        reason: Normalised reason of the last failure ("" when ok).
        transient: Whether the last failure is worth retrying without ``--retry-failed``.
        detail: The last error message (secrets removed).
        attempts: Download attempts over all runs.
        first_try: UTC time of the first attempt.
        last_try: UTC time of the last attempt.
        ytdlp_version: yt-dlp version of the last attempt ("" for a URL download).
        method: ``range`` or ``full`` (how the cached file was downloaded); ``resumed`` for a
            URL download finished with HTTP Range requests.
        file: Cache file name, when ok.
        offset: Time in the video of the cached file's t=0 (s).
        bytes: Size of the cached file.
        url: The URL of a URL download ("" for a YouTube clip).
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
    url: str = ""

    @property
    def permanent_failure(self) -> bool:
        """Failed for a reason that retrying will not fix."""
        return self.status == "failed" and not self.transient

    @classmethod
    def from_dict(cls, data: Any) -> LedgerEntry | None:
        """The entry of a stored JSON object (unknown members ignored), or ``None`` when it is
        not one."""
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        try:
            entry = cls(**{k: v for k, v in data.items() if k in _NAMES})
        except TypeError:
            return None
        entry.reason = LEGACY_REASONS.get(entry.reason, entry.reason)  # one cause, one name
        return entry


_NAMES = frozenset(f.name for f in fields(LedgerEntry))


class Ledger:
    """The download ledger of one source, in ``folder`` (``<work>/fetch/<source>/ledger``).

    Args:
        folder: The ledger folder.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.journal = Journal(self.folder)
        self._legacy: bool | None = None

    def get(self, key: str) -> LedgerEntry | None:
        """The latest entry of ``key``, or None when it was never recorded."""
        entry = LedgerEntry.from_dict(self.journal.get(key))
        if entry is None and self.has_legacy():
            entry = self._legacy_entry(key)
        return entry if entry is not None and entry.key == key else None

    def put(self, entry: LedgerEntry, *, sync: bool = False) -> None:
        """Record ``entry`` (one line appended; ``sync``: to the disk before returning)."""
        self.journal.append(asdict(entry), sync=sync)

    def entries(self, keys: Iterable[str] | None = None) -> list[LedgerEntry]:
        """Entries of ``keys`` (every entry when None), in key order."""
        found: dict[str, LedgerEntry] = {}
        if keys is None:
            if self.has_legacy():
                for path in self.folder.glob("*.json"):
                    old = _read_legacy(path)
                    if old is not None:
                        found[old.key] = old
            for key, data in self.journal.items():
                entry = LedgerEntry.from_dict(data)
                if entry is not None:
                    found[key] = entry
            return [found[k] for k in sorted(found)]
        out = []
        for key in sorted(set(keys)):
            entry = self.get(key)
            if entry is not None:
                out.append(entry)
        return out

    # -- the per-clip files of earlier versions (read only) ---------------------------------
    def has_legacy(self) -> bool:
        """Whether the folder holds per-clip files of an earlier version (looked up once)."""
        if self._legacy is None:
            self._legacy = False
            try:
                with os.scandir(self.folder) as it:
                    self._legacy = any(e.name.endswith(".json") for e in it)
            except OSError:
                pass
        return self._legacy

    def _legacy_entry(self, key: str) -> LedgerEntry | None:
        return _read_legacy(self.folder / f"{safe_stem(key)}.json")


def _read_legacy(path: Path) -> LedgerEntry | None:
    try:
        return LedgerEntry.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


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


#: Columns of the ledger report (``url`` comes after ``youtube_id`` when a config downloads URLs).
LEDGER_COLUMNS = [f.name for f in fields(LedgerEntry) if f.name not in ("file", "offset", "url")]


def ledger_columns(with_url: bool) -> list[str]:
    """The report's columns; ``url`` only for a config that downloads URLs (a YouTube
    config's report keeps the columns it always had)."""
    if not with_url:
        return list(LEDGER_COLUMNS)
    i = LEDGER_COLUMNS.index("youtube_id") + 1
    return [*LEDGER_COLUMNS[:i], "url", *LEDGER_COLUMNS[i:]]


class Requested(Protocol):
    """What the report needs of one download a plan asks for (a ``ClipRequest``)."""

    @property
    def key(self) -> str: ...

    youtube_id: str
    start: float | None
    end: float | None
    url: str | None


def report_rows(ledger: Ledger, requests: Iterable[Requested], *, offline: bool) -> Iterator[LedgerEntry]:
    """The report row of each request, in the order given: its ledger entry, or for a key
    never recorded a ``pending`` row (a ``missing`` one, reason ``offline``, in an offline
    build: nothing is fetched, and the fetcher writes nothing for such a clip)."""
    for req in requests:
        entry = ledger.get(req.key)
        if offline and (entry is None or entry.status in ("pending", "missing")):
            if entry is None:
                entry = LedgerEntry(req.key, req.youtube_id, req.start, req.end, url=req.url or "")
            entry.status, entry.reason = "missing", OFFLINE_REASON
        elif entry is None:
            entry = LedgerEntry(key=req.key, youtube_id=req.youtube_id, url=req.url or "")
        yield entry


def write_ledger_report(
    path: Path, rows: Iterable[LedgerEntry], local_roots: Sequence[Path] = (), *, with_url: bool = False
) -> dict[str, int]:
    """Write ledger rows (already in key order) as CSV, streamed into a temporary file
    renamed into place (cells escaped against spreadsheet formulas: an id beginning with
    ``-`` is written ``'-...``, see :mod:`dance_aggregate.files.csvfiles`), with no local
    path of ``local_roots`` or the home folder in it (it is published with the reports).

    Returns:
        Counts per status.
    """
    columns = ledger_columns(with_url)
    counts: dict[str, int] = {}
    with replacing(path, "download ledger") as tmp, open(tmp, "x", encoding="utf-8", newline="") as f:
        chunk: list[LedgerEntry] = []
        header = True
        for entry in rows:
            counts[entry.status] = counts.get(entry.status, 0) + 1
            chunk.append(entry)
            if len(chunk) >= _CHUNK:
                f.write(_csv_chunk(columns, chunk, local_roots, header))
                chunk, header = [], False
        f.write(_csv_chunk(columns, chunk, local_roots, header))
        f.flush()
        os.fsync(f.fileno())
    return counts


#: Rows rendered at a time (the text of a chunk is scrubbed of local paths in one pass).
_CHUNK = 10_000


def _csv_chunk(columns: list[str], rows: list[LedgerEntry], local_roots: Sequence[Path], header: bool) -> str:
    text = csv_text(columns, ([getattr(e, c) for c in columns] for e in rows))
    if not header:
        text = text.split("\n", 1)[1]
    return without_local_paths(text, local_roots) if text else text


def write_ledger_csv(
    path: Path, entries: list[LedgerEntry], pending: Iterable[tuple[str, str]] = (), local_roots: Sequence[Path] = ()
) -> dict[str, int]:
    """Write the ledger rows (plus never-tried ``(key, youtube_id)`` pairs) as CSV, sorted
    by key (see :func:`write_ledger_report`).

    Returns:
        Counts per status.
    """
    rows = [*entries, *(LedgerEntry(key=k, youtube_id=y) for k, y in pending)]
    rows.sort(key=lambda e: e.key)
    return write_ledger_report(path, rows, local_roots, with_url=any(e.url for e in rows))
