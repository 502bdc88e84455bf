"""Every yt-dlp specific: the Python API call and the classification of its errors.

Verified quirks (see the project's FACTS):

- The full URL is always passed (an id beginning with ``-`` is never seen as an option).
- ``download_ranges`` needs an ``ffmpeg`` binary on ``PATH`` (its availability check
  ignores ``ffmpeg_location``): the binary of the ``imageio-ffmpeg`` wheel is linked as
  ``ffmpeg`` into a private folder that is put on ``PATH`` for the call only.
- ``force_keyframes_at_cuts`` makes ffmpeg re-encode around the cuts, so the range file
  starts at the requested time (to within a frame); the final frame-exact cut is PyAV's.
- When ffmpeg fails on a range it only says "ffmpeg exited with code N"; the caller then
  falls back to a whole-file download, whose errors say what happened.
- yt-dlp gives ffmpeg the cookies on its command line (``FFmpegFD``: ``-cookies SID=...``),
  readable by every local user. So with ``--cookies`` nothing is downloaded through ffmpeg:
  no range downloads (whole videos, cut locally), native HLS/DASH downloaders, no live
  streams; the cookies are read into yt-dlp's jar from memory, never copied to a file.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dance_aggregate.errors import DiskFullError
from dance_aggregate.fetch import ledger as L
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.files.atomic import is_disk_full, replacing

logger = logging.getLogger(__name__)


def ytdlp_version() -> str:
    """The installed yt-dlp version."""
    from yt_dlp.version import __version__

    return __version__


@dataclass
class DownloadFailure(Exception):
    """One failed attempt, classified.

    Attributes:
        reason: Normalised reason (see :mod:`dance_aggregate.fetch.ledger`).
        transient: Worth retrying.
        pause_all: Every worker should pause (429, bot check).
        detail: The error message, secrets removed.
        range_failed: ffmpeg failed on a range download; a whole-file download may work.
    """

    reason: str
    transient: bool
    pause_all: bool
    detail: str
    range_failed: bool = False

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


# (pattern, reason, transient, pause_all), first match wins; matched on the lowercased message.
_RULES: list[tuple[str, str, bool, bool]] = [
    (r"http error 429|too many requests|rate.?limit", L.RATE_LIMITED, True, True),
    (r"not a bot|confirm you.re not|bot check|captcha", L.SIGN_IN, True, True),
    (r"confirm your age|age.restricted|inappropriate for some users", L.AGE_RESTRICTED, False, False),
    (r"private video|video is private", L.PRIVATE, False, False),
    (r"copyright", L.COPYRIGHT, False, False),
    (r"in your country|geo.?restrict|geo.?block|not available in your (country|region)", L.GEO_BLOCKED, False, False),
    (r"sign in|log ?in to|members.only|join this channel|use --cookies", L.SIGN_IN, True, True),
    (
        r"removed by the uploader|has been removed|account .* terminated|no longer available|"
        r"video unavailable|this video is unavailable|http error 410|does not exist",
        L.REMOVED,
        False,
        False,
    ),
    (r"http error 404|not found", L.NOT_FOUND, False, False),
    (r"http error 403|forbidden", L.FORBIDDEN, False, False),
    (r"http error 5\d\d", L.SERVER_ERROR, True, False),
    (r"requested format is not available|no video formats found", L.NO_FORMAT, False, False),
    (r"unsupported url", L.UNSUPPORTED, False, False),
    (
        r"timed out|timeout|connection|unable to connect|network is unreachable|name resolution|"
        r"name or service not known|incomplete ?read|bytes, expected|bytes read, \d+ more expected|did not get any data|"
        r"content too short|remote end closed|eof occurred|ssl",
        L.NETWORK,
        True,
        False,
    ),
    (r"invalid data|moov atom|could not find codec|unreadable|corrupt", L.UNREADABLE, False, False),
]


def classify(message: str, status: int | None = None) -> tuple[str, bool, bool]:
    """Normalise a yt-dlp error: ``(reason, transient, pause_all)``.

    Args:
        message: The error message.
        status: The HTTP status of the underlying error, when known.
    """
    if status == 429:
        return L.RATE_LIMITED, True, True
    if status == 404:
        return L.NOT_FOUND, False, False
    if status == 403:
        return L.FORBIDDEN, False, False
    if status == 410:
        return L.REMOVED, False, False
    if status is not None and 500 <= status < 600:
        return L.SERVER_ERROR, True, False
    text = message.lower()
    for pattern, reason, transient, pause in _RULES:
        if re.search(pattern, text):
            return reason, transient, pause
    return L.OTHER, True, False


def _http_status(exc: BaseException) -> int | None:
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        status = getattr(e, "status", None)
        if isinstance(status, int):
            return status
        info = getattr(e, "exc_info", None)
        nxt = getattr(e, "cause", None) or e.__cause__ or (info[1] if info else None)
        e = nxt if isinstance(nxt, BaseException) else None
    return None


def scrub(text: str, secrets: list[str | None]) -> str:
    """``text`` without any of ``secrets`` nor credentials embedded in URLs."""
    for s in secrets:
        if s:
            text = text.replace(s, "<redacted>")
    text = re.sub(r"(//)[^/@\s:]+:[^/@\s]+@", r"\1<redacted>@", text)
    return " ".join(text.replace("\r", " ").split())[:500]


class _Logger:
    """Routes yt-dlp messages to our logger at debug level and keeps the errors."""

    def __init__(self, secrets: list[str | None]) -> None:
        self.errors: list[str] = []
        self._secrets = secrets

    def debug(self, msg: str) -> None:
        logger.debug("yt-dlp: %s", scrub(msg, self._secrets))

    def info(self, msg: str) -> None:
        logger.debug("yt-dlp: %s", scrub(msg, self._secrets))

    def warning(self, msg: str) -> None:
        logger.debug("yt-dlp warning: %s", scrub(msg, self._secrets))

    def error(self, msg: str) -> None:
        text = scrub(msg, self._secrets)
        if text:
            self.errors.append(text)


def url_for_log(url: str) -> str:
    """``url`` without credentials, for messages."""
    return scrub(url, [])


def ffmpeg_bin_dir(folder: Path) -> Path:
    """A folder holding ``ffmpeg`` (a link to the imageio-ffmpeg binary) for yt-dlp's ``PATH``."""
    import imageio_ffmpeg

    bin_dir = folder / "bin"
    target = bin_dir / "ffmpeg"
    if not target.exists():
        exe = imageio_ffmpeg.get_ffmpeg_exe()
        with replacing(target, "the ffmpeg link for yt-dlp") as tmp:
            tmp.symlink_to(exe)
    return bin_dir


@contextmanager
def _on_path(bin_dir: Path) -> Iterator[None]:
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{old}"
    try:
        yield
    finally:
        os.environ["PATH"] = old


def _cookie_stream(cookies: str | None) -> io.StringIO | None:
    """The cookies file's text as an in-memory stream for yt-dlp's ``cookiefile``.

    yt-dlp writes cookies back to its ``cookiefile`` when done: several workers writing the
    user's file at once would corrupt it, and a copy on disk would be a secret left behind
    by a killed build. A stream keeps the cookies in this process only.
    """
    if not cookies:
        return None
    try:
        return io.StringIO(Path(cookies).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DownloadFailure(L.OTHER, False, False, f"cannot read the --cookies file: {type(exc).__name__}") from None


def ranges_allowed(options: FetchOptions) -> bool:
    """Whether a time range may be downloaded with these options.

    yt-dlp downloads a range through ffmpeg and hands ffmpeg the cookies of the URL on its
    command line (``-cookies SID=...``), where every local user sees them (``ps``). With
    ``--cookies``, whole videos are downloaded by yt-dlp's own downloader instead (the
    cookies stay in this process) and cut locally. (A proxy reaches ffmpeg through its
    environment, which only the same user can read, so it does not matter here.)
    """
    return options.range_download and not options.cookies


def _params(options: FetchOptions, dest_dir: Path, log: _Logger, time_range: tuple[float, float] | None) -> dict[str, Any]:
    """yt-dlp's options for one download into ``dest_dir`` (only ``time_range`` when given)."""
    from yt_dlp.utils import download_range_func, match_filter_func

    params: dict[str, Any] = {
        "format": options.format,
        "outtmpl": {"default": str(dest_dir / "video.%(ext)s")},
        "paths": {"home": str(dest_dir), "temp": str(dest_dir)},
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": log,
        "cachedir": False,
        "noplaylist": True,
        "playlist_items": "1",
        "retries": 1,
        "fragment_retries": 1,
        "extractor_retries": 0,
        "file_access_retries": 1,
        "socket_timeout": options.socket_timeout,
        "merge_output_format": "mkv",
        "overwrites": True,
        "continuedl": False,
        "color": {"stdout": "never", "stderr": "never"},
    }
    if time_range is not None:
        if options.cookies:
            raise ValueError("range downloads would hand the cookies to ffmpeg's command line (see ranges_allowed)")
        params["download_ranges"] = download_range_func(None, [time_range])
        params["force_keyframes_at_cuts"] = True
    if options.proxy:
        params["proxy"] = options.proxy
    if options.cookies:
        params["cookiefile"] = _cookie_stream(options.cookies)
        # Never ffmpeg as the downloader (it would get the cookies in its argv): yt-dlp's own
        # downloaders for HLS/DASH, and no live streams (only ffmpeg records those).
        params["external_downloader"] = {"default": "native"}
        params["hls_prefer_native"] = True
        params["match_filter"] = match_filter_func("!is_live")
    return params


def download(
    url: str,
    dest_dir: Path,
    options: FetchOptions,
    bin_folder: Path,
    start: float | None = None,
    end: float | None = None,
) -> Path:
    """Download ``url`` (only ``[start, end]`` when both are given) into ``dest_dir``.

    Returns:
        The downloaded file.

    Raises:
        DownloadFailure: classified failure of this attempt.
    """
    import yt_dlp

    secrets = [options.cookies, options.proxy]
    log = _Logger(secrets)
    ranged = start is not None and end is not None
    params = _params(options, dest_dir, log, (float(start), float(end)) if ranged else None)
    try:
        with _on_path(ffmpeg_bin_dir(bin_folder)):
            with yt_dlp.YoutubeDL(params) as ydl:
                info = ydl.extract_info(url, download=True)
    except Exception as exc:  # noqa: BLE001 - every yt-dlp failure is classified below
        parts = [str(exc)] + [e for e in log.errors[-3:] if e not in str(exc)]
        message = scrub(" | ".join(parts), secrets)
        if is_disk_full(exc) or "no space left on device" in message.lower():
            raise DiskFullError(
                f"no space left on the disk while downloading {url_for_log(url)} into {dest_dir}. Free some space "
                f"(or pass --output on a larger disk) and run the same command again: finished clips are kept"
            ) from None
        if ranged and "ffmpeg exited" in message.lower():
            raise DownloadFailure(L.UNREADABLE, True, False, message, range_failed=True) from None
        reason, transient, pause = classify(message, _http_status(exc))
        raise DownloadFailure(reason, transient, pause, message) from None
    files = [Path(d["filepath"]) for d in (info or {}).get("requested_downloads", []) if d.get("filepath")]
    files = [f for f in files if f.is_file() and f.stat().st_size > 0]
    if not files:
        files = [p for p in dest_dir.iterdir() if p.is_file() and p.stat().st_size > 0 and not p.name.endswith(".part")]
    if not files:
        raise DownloadFailure(L.OTHER, True, False, "yt-dlp reported success but wrote no file")
    return files[0]
