"""The options of video fetching, from the CLI down to the fetcher (defaults live here)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dance_aggregate.bounds import BOUNDS, Bounds, bounded, check_fields
from dance_aggregate.errors import ConfigError

#: Where clips are fetched from by default; ``{youtube_id}`` is replaced by the id.
DEFAULT_URL_TEMPLATE = "https://www.youtube.com/watch?v={youtube_id}"
#: A format with audio: best video up to 720p plus best audio, or the best single file.
DEFAULT_FORMAT = "bv*[height<=720]+ba/b[height<=720]/bv*+ba/b"
_HOUR, _DAY = 3600.0, 86400.0


@dataclass
class FetchOptions:
    """How source videos are fetched. Every field is checked when the options are made (type,
    range: :mod:`dance_aggregate.bounds`); a bad value is a :class:`~dance_aggregate.errors.ConfigError`.

    Attributes:
        url_template: Full URL of a video with ``{youtube_id}`` (never a bare id, which
            yt-dlp would read as an option when it begins with ``-``).
        offline: Use only the local mirror; every other clip is recorded as missing and
            the network is never touched.
        offline_hint: What the message of a clip missing offline suggests (a ``--sample``
            build, offline without being asked, says so instead of "without --offline").
        retry_failed: Retry clips whose earlier failure was permanent (removed, private...).
        cookies: A Netscape cookies file passed to yt-dlp, made absolute (never logged, copied
            to the output or put on a command line: with cookies, whole videos are downloaded and cut
            locally, see :func:`dance_aggregate.fetch.ytdlp.ranges_allowed`).
        proxy: A proxy URL passed to yt-dlp (never logged or copied to the output).
        format: yt-dlp format selector; it must give a file with audio when there is one.
        range_download: Download only the needed time range when yt-dlp can.
        max_attempts: Attempts per clip and run for transient failures (1 to 100).
        backoff_base: First retry delay (s); doubles each attempt, with jitter.
        backoff_max: Longest retry delay (s).
        pause_base: First shared pause (s) of every worker after a 429 or a bot check; it
            doubles with each further rate-limited episode in a row.
        pause_max: Longest wait (s) the shared pause ever imposes, whatever the streak, the
            server's hint or a state file left by an earlier run (see
            :mod:`dance_aggregate.fetch.politeness`).
        socket_timeout: Network timeout of one request (s, 0.1 to 3600).
        margin: Seconds fetched before and after a range (clamped at 0, at most 600), so
            the cut never falls outside the downloaded file.
        local_http: Also fetch ``http://`` file URLs from this machine (``127.0.0.1``,
            ``localhost``): tests, a mirror served locally. Every other file URL must be
            ``https://`` (:mod:`dance_aggregate.fetch.httpfile`).

    The waits (``backoff_*``, ``pause_*``) are at most a day, ``backoff_base`` at most an hour.
    """

    url_template: str = DEFAULT_URL_TEMPLATE
    offline: bool = False
    offline_hint: str = "add it to --video-dir, or build without --offline"
    retry_failed: bool = False
    cookies: str | None = field(default=None, repr=False, metadata={BOUNDS: Bounds(path=True)})
    proxy: str | None = field(default=None, repr=False)
    format: str = DEFAULT_FORMAT
    range_download: bool = True
    max_attempts: int = bounded(4, min=1, max=100)
    backoff_base: float = bounded(2.0, min=0.0, max=_HOUR, unit="seconds")
    backoff_max: float = bounded(120.0, min=0.0, max=_DAY, unit="seconds")
    pause_base: float = bounded(60.0, min=0.0, max=_DAY, unit="seconds")
    # 30 min, reached by the 6th rate-limited episode in a row (after 60 + 120 + ... + 960 s,
    # about half an hour, of pauses): long enough for a YouTube throttle on one IP to lift,
    # and the most a stale or wrong state file can cost a build. The Ray backend used to cap
    # at 1 h; a cluster idle for an hour past a lifted throttle loses more than it saves, so
    # both backends share this cap.
    pause_max: float = bounded(1800.0, min=0.0, max=_DAY, unit="seconds")
    socket_timeout: float = bounded(30.0, min=0.1, max=_HOUR, unit="seconds")
    margin: float = bounded(0.0, min=0.0, max=600.0, unit="seconds")
    local_http: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.cookies, os.PathLike):
            self.cookies = os.fspath(self.cookies)
        check_fields(self, fix=lambda name, value: f"FetchOptions({name}={value!r})")
        if "{youtube_id}" not in self.url_template:
            raise ConfigError(
                f"url_template must contain {{youtube_id}}, got {self.url_template!r} "
                f"(e.g. --url-template '{DEFAULT_URL_TEMPLATE}')"
            )
        if not self.format.strip():
            raise ConfigError(f"format must be a yt-dlp format selector, got {self.format!r}. Fix: FetchOptions(format={DEFAULT_FORMAT!r})")
        if self.cookies is not None:
            # Absolute when the options are made, so that every worker (a Ray node started in
            # another folder) reads the same file.
            self.cookies = os.path.abspath(os.path.expanduser(self.cookies))

    def url(self, youtube_id: str) -> str:
        """The full URL of ``youtube_id``."""
        return self.url_template.replace("{youtube_id}", youtube_id)
