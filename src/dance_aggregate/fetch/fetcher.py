"""Fetch one clip's video: cache, per-clip lock, retries with backoff, ledger.

A clip is fetched at most once: the finished file stays in the cache (the work folder)
and its ledger row says ``ok``, so reruns and other workers use it. A per-clip lock
stops two workers fetching the same range at once. Transient failures are retried with
exponential backoff and jitter; a rate limit or a bot check also starts the shared pause
(:mod:`.politeness`). Permanent failures are never retried unless asked
(``retry_failed``).
"""

from __future__ import annotations

import fcntl
import logging
import random
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dance_aggregate.errors import MediaError
from dance_aggregate.fetch import ledger as L
from dance_aggregate.fetch.ledger import Ledger, LedgerEntry, now_iso
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.fetch.politeness import FilePoliteness, Politeness
from dance_aggregate.files.atomic import make_temp_dir, remove_temp_dir
from dance_aggregate.files.names import safe_stem
from dance_aggregate.ids import is_youtube_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipRequest:
    """A time range of a YouTube video that a builder needs.

    Attributes:
        youtube_id: The video id (may begin with ``-``).
        start: Start (s) of the range, or None for the whole video.
        end: End (s) of the range, or None.
    """

    youtube_id: str
    start: float | None = None
    end: float | None = None

    @property
    def key(self) -> str:
        """Stable key, the Kinetics mirror naming: ``<id>_<start:06d>_<end:06d>`` (a ledger
        key; the files named after it use :func:`~dance_aggregate.files.names.safe_stem`)."""
        if self.start is None or self.end is None:
            return f"{self.youtube_id}_full"
        return f"{self.youtube_id}_{int(self.start):06d}_{round(self.end):06d}"


@dataclass
class Fetched:
    """A local file holding a requested clip.

    Attributes:
        path: The file.
        offset: The time in the original video at the file's t=0 (s).
    """

    path: Path
    offset: float


class ClipFetcher:
    """Gets clips with yt-dlp into a cache, keeping the ledger.

    Args:
        folder: The source's fetch folder (``<work>/fetch/<source>``): cache, ledger, locks.
        options: Fetch options.
        politeness: The shared pause (default: a :class:`FilePoliteness` in ``folder/..``
            with the pause lengths of ``options``; on Ray, a ``RayPoliteness``).
    """

    def __init__(self, folder: str | Path, options: FetchOptions, politeness: Politeness | None = None) -> None:
        self.folder = Path(folder)
        self.options = options
        self.ledger = Ledger(self.folder / "ledger")
        self.cache = self.folder / "cache"
        self.politeness = politeness or FilePoliteness.from_options(self.folder.parent, options)
        self._retried: set[str] = set()
        self._remove_stale_temp()
        if options.cookies and options.range_download:
            logger.info(
                "with --cookies, whole videos are downloaded and cut locally: a range download would hand "
                "the cookies to ffmpeg on its command line, visible to every local user"
            )

    def _remove_stale_temp(self, max_age: float = 6 * 3600) -> None:
        """Remove download folders left by a killed process (old enough to be nobody's):
        only folders marked as made by a download (:func:`make_temp_dir`), never a
        user's ``.dl-*`` look-alike."""
        for d in self.folder.glob(".dl-*") if self.folder.is_dir() else ():
            try:
                if time.time() - d.lstat().st_mtime > max_age:
                    remove_temp_dir(d)
            except OSError:
                pass

    @contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        locks = self.folder / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{safe_stem(key)}.lock", "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def cached(self, request: ClipRequest) -> Fetched | None:
        """The cached file of ``request``, if it was fetched before."""
        entry = self.ledger.get(request.key)
        if entry and entry.status == "ok" and entry.file and (self.cache / entry.file).is_file():
            return Fetched(self.cache / entry.file, entry.offset)
        return None

    def get(self, request: ClipRequest) -> Fetched:
        """The local file of ``request``: from the cache, or downloaded now.

        Raises:
            MediaError: the clip cannot be had; ``reason`` is ``missing video`` (offline)
                or ``download failed: <normalised reason>``.
        """
        if not is_youtube_id(request.youtube_id):  # builders exclude these; never put one in a URL
            raise MediaError(f"{request.youtube_id!r} is not a YouTube id (11 characters of A-Za-z0-9_-)", reason="invalid id")
        hit = self.cached(request)
        if hit:
            return hit
        key = request.key
        with self._lock(key):
            hit = self.cached(request)  # another worker may have fetched it meanwhile
            if hit:
                return hit
            entry = self.ledger.get(key) or LedgerEntry(key, request.youtube_id, request.start, request.end)
            if self.options.offline:
                if entry.status in ("pending", "missing"):
                    entry.status, entry.reason = "missing", L.MISSING_OFFLINE  # one cause, one name everywhere
                    self.ledger.put(entry)
                raise MediaError(
                    f"{request.youtube_id}: not in the local mirror, and nothing is downloaded offline "
                    f"({self.options.offline_hint})",
                    reason=L.MISSING_OFFLINE,
                )
            if entry.permanent_failure and not (self.options.retry_failed and key not in self._retried):
                raise MediaError(
                    f"{request.youtube_id}: {entry.reason} (failed {entry.attempts} time(s), last {entry.last_try}; "
                    f"not retried: rerun with --retry-failed to try again): {entry.detail}",
                    reason=L.exclusion_reason(entry.reason),
                )
            self._retried.add(key)
            return self._download(request, entry)

    def _download(self, request: ClipRequest, entry: LedgerEntry) -> Fetched:
        from dance_aggregate.fetch.ytdlp import DownloadFailure, download, ranges_allowed, ytdlp_version

        opts = self.options
        url = opts.url(request.youtube_id)
        ranged = ranges_allowed(opts) and request.start is not None and request.end is not None
        failure: DownloadFailure | None = None
        for attempt in range(opts.max_attempts):
            self.politeness.wait()
            entry.attempts += 1
            entry.first_try = entry.first_try or now_iso()
            entry.last_try = now_iso()
            entry.ytdlp_version = ytdlp_version()
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = make_temp_dir(self.folder, ".dl-")
            try:
                start = max(0.0, request.start - opts.margin) if ranged else None
                end = request.end + opts.margin if ranged else None
                files = tmp / "files"  # yt-dlp's folder: it holds nothing but what it wrote
                files.mkdir()
                path = download(url, files, opts, self.folder.parent, start, end)
                self.cache.mkdir(parents=True, exist_ok=True)
                final = self.cache / f"{safe_stem(request.key)}{_suffix(path)}"
                shutil.move(str(path), final)
                entry.status, entry.reason, entry.detail, entry.transient = "ok", "", "", False
                entry.method = "range" if ranged else "full"
                entry.file, entry.offset = final.name, float(start or 0.0)
                entry.bytes = final.stat().st_size
                self.ledger.put(entry)
                self.politeness.relax()
                return Fetched(final, entry.offset)
            except DownloadFailure as exc:
                failure = exc
                entry.status, entry.reason, entry.transient, entry.detail = "failed", exc.reason, exc.transient, exc.detail
                self.ledger.put(entry)
                logger.info("%s: attempt %d failed: %s", request.key, attempt + 1, exc)
                if exc.range_failed:
                    ranged = False  # ffmpeg could not read the range: try the whole file next
                    continue
                if not exc.transient:
                    break
                if exc.pause_all:
                    self.politeness.penalize(f"{request.key}: {exc.reason}")
                elif attempt + 1 < opts.max_attempts:
                    delay = min(opts.backoff_max, opts.backoff_base * 2**attempt)
                    time.sleep(delay * random.uniform(0.5, 1.0))
            finally:
                remove_temp_dir(tmp)
        assert failure is not None
        raise MediaError(
            f"{request.youtube_id}: download failed ({failure.reason}) after {entry.attempts} attempt(s): {failure.detail}",
            reason=L.exclusion_reason(failure.reason),
        )

    def report_unreadable(self, request: ClipRequest, detail: str) -> None:
        """The fetched file cannot be decoded: drop it from the cache and record a permanent failure."""
        with self._lock(request.key):
            entry = self.ledger.get(request.key)
            if entry is None:
                return
            if entry.file:
                (self.cache / entry.file).unlink(missing_ok=True)
            entry.status, entry.reason, entry.transient, entry.detail = "failed", L.UNREADABLE, False, detail[:500]
            entry.file, entry.bytes = "", 0
            self.ledger.put(entry)


def _suffix(path: Path) -> str:
    """The extension of a downloaded file, or ``.bin`` when it is not a short plain one
    (the media readers probe the content, not the name)."""
    suffix = path.suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin"
