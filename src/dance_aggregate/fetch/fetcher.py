"""Fetch one clip's video: cache, a lock per download, retries with backoff, ledger.

A clip is fetched at most once: the finished file stays in the cache (the work folder)
and its ledger row says ``ok``, so reruns and other workers use it. A lock per download key
stops two workers fetching the same range at once; its file exists only while the lock is
held (see :meth:`ClipFetcher._lock`), so the work folder holds one lock file per download
running, not one per clip. Transient failures are retried with exponential backoff and
jitter; a rate limit or a bot check also starts the shared pause (:mod:`.politeness`).
Permanent failures are never retried unless asked (``retry_failed``). Offline, nothing is
locked or written: a clip not in the cache is simply missing.

A request names a YouTube range (yt-dlp, :mod:`.ytdlp`) or a plain file URL (downloaded
whole, resumable, :mod:`.httpfile`); both share the cache, the ledger and the pause.
"""

from __future__ import annotations

import fcntl
import logging
import os
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
from dance_aggregate.fetch.httpfile import url_key
from dance_aggregate.fetch.ledger import Ledger, LedgerEntry, now_iso
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.fetch.politeness import FilePoliteness, Politeness
from dance_aggregate.fetch.ytdlp import DownloadFailure
from dance_aggregate.files.atomic import make_temp_dir, remove_temp_dir
from dance_aggregate.files.names import safe_stem
from dance_aggregate.ids import is_youtube_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClipRequest:
    """A time range of a YouTube video, or a file at a URL, that a builder needs.

    Attributes:
        youtube_id: The video id (may begin with ``-``); ``""`` for a URL.
        start: Start (s) of the range, or None for the whole video.
        end: End (s) of the range, or None.
        url: The file's URL (downloaded whole: no range), or None for a YouTube video.
    """

    youtube_id: str
    start: float | None = None
    end: float | None = None
    url: str | None = None

    @property
    def key(self) -> str:
        """Stable key, the Kinetics mirror naming: ``<id>_<start:06d>_<end:06d>`` (a ledger
        key; the files named after it use :func:`~dance_aggregate.files.names.safe_stem`);
        for a URL, the name of the file it ends in (:func:`~.httpfile.url_key`)."""
        if self.url is not None:
            return url_key(self.url)
        if self.start is None or self.end is None:
            return f"{self.youtube_id}_full"
        return f"{self.youtube_id}_{int(self.start):06d}_{round(self.end):06d}"

    @property
    def name(self) -> str:
        """What messages call the download: the URL, or the YouTube id."""
        return self.url if self.url is not None else self.youtube_id


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
        self._offline_text: str | None = None
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
        """Hold the lock of download ``key`` (across the processes of this machine).

        The lock is an ``flock`` on ``locks/<key>.lock``, a file that exists only while it
        is held: the holder removes it before letting go, and a waiter that then holds a
        lock on a removed file (or on another file by that name) tries again on the file
        that is there now. A process killed while holding it leaves the file behind,
        unlocked: the next holder takes it over and removes it.
        """
        locks = self.folder / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        path = locks / f"{safe_stem(key)}.lock"
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                held = os.fstat(fd)
                try:
                    now = os.stat(path)
                except FileNotFoundError:
                    now = None
            except BaseException:
                os.close(fd)
                raise
            if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
                break
            os.close(fd)  # the file we locked was removed by its last holder: lock the new one
        try:
            yield
        finally:
            try:
                path.unlink(missing_ok=True)
            finally:
                os.close(fd)

    def cached(self, request: ClipRequest) -> Fetched | None:
        """The cached file of ``request``, if it was fetched before."""
        return self._cached(self.ledger.get(request.key))

    def _cached(self, entry: LedgerEntry | None) -> Fetched | None:
        if entry and entry.status == "ok" and entry.file and (self.cache / entry.file).is_file():
            return Fetched(self.cache / entry.file, entry.offset)
        return None

    def get(self, request: ClipRequest) -> Fetched:
        """The local file of ``request``: from the cache, or downloaded now.

        Raises:
            MediaError: the clip cannot be had; ``reason`` is ``missing video`` (offline)
                or ``download failed: <normalised reason>``.
        """
        if request.url is None and not is_youtube_id(request.youtube_id):
            # builders exclude these; never put one in a URL
            raise MediaError(f"{request.youtube_id!r} is not a YouTube id (11 characters of A-Za-z0-9_-)", reason="invalid id")
        key = request.key
        entry = self.ledger.get(key)
        hit = self._cached(entry)
        if hit:
            return hit
        if self.options.offline:
            # Nothing is written: the report shows every clip of an offline build that is
            # not in the cache as missing (ledger.report_rows).
            raise MediaError(self._offline_message(request), reason=L.MISSING_OFFLINE)
        with self._lock(key):
            entry = self.ledger.get(key)  # another worker may have fetched it meanwhile
            hit = self._cached(entry)
            if hit:
                return hit
            entry = entry or LedgerEntry(key, request.youtube_id, request.start, request.end, url=request.url or "")
            if entry.permanent_failure and not (self.options.retry_failed and key not in self._retried):
                why = (f"failed {entry.attempts} time(s), last {entry.last_try}; "
                       f"not retried: rerun with --retry-failed to try again")
                if request.url is not None:  # its detail names the URL and the answer
                    text = f"{entry.detail} ({entry.reason}; {why})"
                else:
                    text = f"{request.name}: {entry.reason} ({why}): {entry.detail}"
                raise MediaError(text, reason=L.exclusion_reason(entry.reason))
            self._retried.add(key)
            if request.url is not None:
                return self._download_file(request, entry)
            return self._download(request, entry)

    def _offline_message(self, request: ClipRequest) -> str:
        """Why a clip is missing offline. For a YouTube clip, one text shared by every clip
        (its exclusion line and its log line name the clip): an offline plan of a million
        clips holds a million of these."""
        if request.url is not None:
            return f"{request.url}: not in the local copy, and nothing is downloaded offline ({self.options.offline_hint})"
        if self._offline_text is None:
            self._offline_text = f"not in the local mirror, and nothing is downloaded offline ({self.options.offline_hint})"
        return self._offline_text

    def _attempt(self, entry: LedgerEntry) -> None:
        """Count one attempt in ``entry``, after the shared pause allows it."""
        self.politeness.wait()
        entry.attempts += 1
        entry.first_try = entry.first_try or now_iso()
        entry.last_try = now_iso()

    def _succeeded(self, entry: LedgerEntry, final: Path, method: str, offset: float) -> Fetched:
        entry.status, entry.reason, entry.detail, entry.transient = "ok", "", "", False
        entry.method, entry.file, entry.offset = method, final.name, offset
        entry.bytes = final.stat().st_size
        self.ledger.put(entry, sync=True)  # the cache file is there: never download it again
        self.politeness.relax()
        return Fetched(final, offset)

    def _failed(self, request: ClipRequest, entry: LedgerEntry, exc: DownloadFailure, attempt: int) -> None:
        entry.status, entry.reason, entry.transient, entry.detail = "failed", exc.reason, exc.transient, exc.detail
        self.ledger.put(entry)
        logger.info("%s: attempt %d failed: %s", request.key, attempt + 1, exc)

    def _back_off(self, request: ClipRequest, exc: DownloadFailure, attempt: int) -> None:
        """Wait before the next attempt after the transient failure ``exc``."""
        if exc.pause_all:
            self.politeness.penalize(f"{request.key}: {exc.reason}", getattr(exc, "retry_after", None))
        elif attempt + 1 < self.options.max_attempts:
            delay = min(self.options.backoff_max, self.options.backoff_base * 2**attempt)
            hint = getattr(exc, "retry_after", None) or 0.0
            time.sleep(min(self.options.backoff_max, max(hint, delay * random.uniform(0.5, 1.0))))

    def _download(self, request: ClipRequest, entry: LedgerEntry) -> Fetched:
        from dance_aggregate.fetch.ytdlp import DownloadFailure, download, ranges_allowed, ytdlp_version

        opts = self.options
        url = opts.url(request.youtube_id)
        ranged = ranges_allowed(opts) and request.start is not None and request.end is not None
        failure: DownloadFailure | None = None
        for attempt in range(opts.max_attempts):
            self._attempt(entry)
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
                return self._succeeded(entry, final, "range" if ranged else "full", float(start or 0.0))
            except DownloadFailure as exc:
                failure = exc
                self._failed(request, entry, exc, attempt)
                if exc.range_failed:
                    ranged = False  # ffmpeg could not read the range: try the whole file next
                    continue
                if not exc.transient:
                    break
                self._back_off(request, exc, attempt)
            finally:
                remove_temp_dir(tmp)
        assert failure is not None
        raise MediaError(
            f"{request.youtube_id}: download failed ({failure.reason}) after {entry.attempts} attempt(s): {failure.detail}",
            reason=L.exclusion_reason(failure.reason),
        )

    def _download_file(self, request: ClipRequest, entry: LedgerEntry) -> Fetched:
        """Download the file at ``request.url`` whole, resuming its ``.part`` across attempts
        and runs (``partial/<key><ext>.part``, under the download's lock)."""
        from dance_aggregate.fetch.httpfile import FileDownloadFailure, fetch_file, url_suffix

        assert request.url is not None
        suffix = url_suffix(request.url)
        part = self.folder / "partial" / f"{safe_stem(request.key)}{suffix}.part"
        failure: FileDownloadFailure | None = None
        resumed = False
        for attempt in range(self.options.max_attempts):
            self._attempt(entry)
            entry.url, entry.ytdlp_version = request.url, ""
            try:
                resumed = fetch_file(request.url, part, self.options) or resumed
                self.cache.mkdir(parents=True, exist_ok=True)
                final = self.cache / f"{safe_stem(request.key)}{suffix}"
                os.replace(part, final)
                return self._succeeded(entry, final, "resumed" if resumed else "full", 0.0)
            except FileDownloadFailure as exc:
                failure = exc
                self._failed(request, entry, exc, attempt)
                if not exc.transient:
                    break
                self._back_off(request, exc, attempt)
        assert failure is not None
        if failure.transient:
            then = "a later run tries again (the part fetched so far is kept)"
        else:
            then = "the server may be gone or the file moved; the video is left out (put the file in the source's local copy to include it)"
        raise MediaError(
            f"{failure.detail} ({failure.reason}, {entry.attempts} attempt(s)); {then}",
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
