"""Plain file downloads over HTTPS: resumable with HTTP Range, checked, classified.

A source whose videos are files on a web server plans them as
``RemoteCut(url="https://...")``; :class:`~dance_aggregate.fetch.fetcher.ClipFetcher` calls
:func:`fetch_file` once per attempt (retries, the ledger, the shared pause and the lock are
the fetcher's). Standard library only (``urllib``), no yt-dlp.

- **Which URLs**: ``https://`` only. ``http://`` is fetched only from this machine
  (``127.0.0.1``, ``localhost``, ``::1``) and only with ``FetchOptions.local_http`` (tests, a
  mirror served locally); any other URL, a URL with credentials, and a redirect to any of
  those are refused before a byte is sent (``unsupported url``, permanent), and so is a URL
  with control characters or ``.``/``..`` segments. Every path segment is re-quoted
  (:func:`safe_url`), so no character of a file name reaches the request line unescaped.
- **Resuming**: the file grows in a ``.part`` file. An attempt that finds one asks for the
  rest (``Range: bytes=N-``) and appends on ``206`` when ``Content-Range`` starts at ``N``;
  a server that ignores Range (``200``) sends the whole file, written from byte 0; ``416``
  means the part is whole (its size is the file's) or stale (dropped, fetched again).
- **Checking**: the body must be as long as ``Content-Length`` says, and the file as long
  as ``Content-Range``'s total; a body cut short keeps its part for the next attempt
  (``network``, transient).
- **Classifying**: ``401``/``403`` forbidden, ``404`` not found, ``410`` removed: permanent;
  ``429`` rate-limited (every worker pauses, for at least ``Retry-After``); ``5xx`` server
  error; a refused, reset or timed-out connection: network (all three transient); any
  other ``4xx``: refused by the server (permanent).

Messages name the URL (credentials never appear: they are refused, and
:func:`~dance_aggregate.fetch.ytdlp.scrub` removes any from text).
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from dance_aggregate import __version__
from dance_aggregate.errors import DiskFullError
from dance_aggregate.fetch import ledger as L
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.fetch.ytdlp import DownloadFailure, scrub
from dance_aggregate.files.atomic import is_disk_full
from dance_aggregate.files.names import safe_stem

logger = logging.getLogger(__name__)

#: Hosts an ``http://`` URL may name, with ``FetchOptions.local_http``.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: Characters a path segment keeps as they are (RFC 3986 ``pchar`` less ``%``).
_PCHAR = "-._~!$&'()*+,;=:@"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_CHUNK = 1 << 16


@dataclass
class FileDownloadFailure(DownloadFailure):
    """A failed attempt at a file download.

    Attributes:
        retry_after: The server's ``Retry-After`` in seconds (a 429 or 503), if any.
    """

    retry_after: float | None = None


def url_key(url: str) -> str:
    """The download key of ``url``: the name of the file it ends in, without its extension,
    escaped (:func:`~dance_aggregate.files.names.safe_stem`): stable whichever server
    serves the file (``https://a/v/gBR_sBM_c01_d04_mBR0_ch01.mp4`` ->
    ``gBR_sBM_c01_d04_mBR0_ch01``)."""
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return safe_stem(PurePosixPath(name).stem if "." in name[1:] else name)


def url_suffix(url: str) -> str:
    """The extension of the file ``url`` names (``.mp4``), or ``.bin`` when it has no short
    plain one (the media readers probe the content, not the name)."""
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin"


def safe_url(url: str, options: FetchOptions) -> str:
    """``url`` with every path segment quoted, once it is known to be allowed.

    Raises:
        FileDownloadFailure: ``unsupported url`` (permanent) for anything but ``https://``
            (or ``http://`` to this machine with ``local_http``), or a URL with credentials.
    """
    shown = scrub(url, [])
    if any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise FileDownloadFailure(L.UNSUPPORTED, False, False, f"{shown!r}: a URL with control characters is not fetched")
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise FileDownloadFailure(L.UNSUPPORTED, False, False, f"{shown}: a URL with credentials is not fetched")
    local = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS
    if not parts.hostname or not (parts.scheme == "https" or (local and options.local_http)):
        hint = " (http:// to this machine needs FetchOptions(local_http=True))" if local else ""
        raise FileDownloadFailure(L.UNSUPPORTED, False, False, f"{shown}: only https:// URLs are fetched{hint}")
    segments = [unquote(seg) for seg in parts.path.split("/")]
    if any(seg in (".", "..") for seg in segments):
        raise FileDownloadFailure(L.UNSUPPORTED, False, False, f"{shown}: a URL with . or .. path segments is not fetched")
    path = "/".join(quote(seg, safe=_PCHAR) for seg in segments)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a URL :func:`safe_url` allows."""

    def __init__(self, options: FetchOptions) -> None:
        self.options = options

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        safe_url(newurl, self.options)  # raises for a redirect to http:// elsewhere, ftp://...
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(options: FetchOptions) -> urllib.request.OpenerDirector:
    proxies = {"http": options.proxy, "https": options.proxy} if options.proxy else None
    return urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _Redirects(options))


def fetch_file(url: str, part: Path, options: FetchOptions) -> bool:
    """One attempt at downloading ``url`` into ``part``, resuming what ``part`` holds.

    Returns:
        Whether this attempt appended to an earlier part (a ``206`` answer to a Range request).

    Raises:
        FileDownloadFailure: the attempt failed (the part keeps what arrived).
        DiskFullError: the disk is full.
    """
    target = safe_url(url, options)
    shown = scrub(url, [options.proxy])
    opener = _opener(options)
    for _ in range(2):  # a second request only after a 416 for a stale part
        have = part.stat().st_size if part.is_file() else 0
        request = urllib.request.Request(target, headers={
            "User-Agent": f"dance_aggregate/{__version__}", "Accept-Encoding": "identity"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            response = opener.open(request, timeout=options.socket_timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code == 416 and have:
                    total = _total(exc.headers.get("Content-Range", ""))
                    if total == have:
                        return True  # the part already holds the whole file
                    logger.info("%s: the server has no byte %d (file of %s bytes): fetching it again from 0", shown, have, total)
                    part.unlink(missing_ok=True)
                    continue
                raise _http_failure(shown, exc.code, exc.reason, exc.headers.get("Retry-After")) from None
        except FileDownloadFailure:
            raise
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise _network_failure(shown, exc, options) from None
        with response:
            return _receive(response, part, have, shown, options)
    raise FileDownloadFailure(L.NETWORK, True, False, f"{shown}: the server refused the range of a part twice")


def _receive(response: http.client.HTTPResponse, part: Path, have: int, shown: str, options: FetchOptions) -> bool:
    """Write the body of ``response`` (an answer to a request from byte ``have``) to ``part``."""
    status = response.status
    length = _int(response.headers.get("Content-Length"))
    if status == 206:
        m = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if m is None or int(m.group(1)) != have:
            part.unlink(missing_ok=True)
            raise FileDownloadFailure(
                L.NETWORK, True, False,
                f"{shown}: asked for bytes from {have}, the server sent {response.headers.get('Content-Range')!r}; "
                f"the next attempt fetches the whole file")
        total = None if m.group(3) == "*" else int(m.group(3))
        mode, start = "ab", have
    elif status == 200:
        if have:
            logger.info("%s: the server ignores Range: fetching the whole file again", shown)
        total, mode, start = length, "wb", 0
    else:
        raise FileDownloadFailure(L.OTHER, True, False, f"{shown}: unexpected HTTP status {status} {response.reason}")
    got = 0
    try:
        part.parent.mkdir(parents=True, exist_ok=True)
        with open(part, mode) as f:
            try:
                while chunk := response.read(_CHUNK):
                    f.write(chunk)
                    got += len(chunk)
            except (http.client.HTTPException, OSError) as exc:
                if is_disk_full(exc):
                    raise
                f.flush()
                raise _network_failure(shown, exc, options, f" after {start + got} bytes; the next attempt resumes") from None
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(
                f"no space left on the disk while downloading {shown} into {part.parent}. Free some space (or pass "
                f"--output on a larger disk) and run the same command again: the part already fetched is kept"
            ) from None
        raise
    if (length is not None and got != length) or (total is not None and start + got != total):
        raise FileDownloadFailure(
            L.NETWORK, True, False,
            f"{shown}: the connection ended after {start + got} of {total if total is not None else '?'} bytes "
            f"(this answer: {got} of {length} bytes); the next attempt resumes")
    return status == 206


def _http_failure(shown: str, code: int, reason: str, retry_after: str | None) -> FileDownloadFailure:
    text = f"{shown}: {code} {reason}".rstrip()
    if code in (401, 403):
        return FileDownloadFailure(L.FORBIDDEN, False, False, text)
    if code == 404:
        return FileDownloadFailure(L.NOT_FOUND, False, False, text)
    if code == 410:
        return FileDownloadFailure(L.REMOVED, False, False, text)
    hint = _seconds(retry_after)
    if code == 429:
        return FileDownloadFailure(L.RATE_LIMITED, True, True, text, retry_after=hint)
    if 500 <= code < 600:
        return FileDownloadFailure(L.SERVER_ERROR, True, False, text, retry_after=hint)
    if 400 <= code < 500:
        return FileDownloadFailure(L.REFUSED, False, False, text)
    return FileDownloadFailure(L.OTHER, True, False, text)


def _network_failure(shown: str, exc: BaseException, options: FetchOptions, tail: str = "") -> FileDownloadFailure:
    if isinstance(exc, FileDownloadFailure):
        return exc
    if is_disk_full(exc):
        raise DiskFullError(f"no space left on the disk while downloading {shown}. Free some space and run again") from None
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(cause, FileDownloadFailure):  # a refused redirect, wrapped by urllib
        return cause
    what = "timed out" if isinstance(cause, socket.timeout | TimeoutError) else f"{type(cause).__name__}: {cause}"
    return FileDownloadFailure(L.NETWORK, True, False, scrub(f"{shown}: {what}{tail}", [options.proxy]))


def _total(content_range: str) -> int | None:
    m = re.fullmatch(r"bytes\s+\*/(\d+)", content_range.strip())
    return int(m.group(1)) if m else None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _seconds(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (an HTTP date is ignored: the pause's own length applies)."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
