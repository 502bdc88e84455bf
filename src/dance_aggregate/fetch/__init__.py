"""Getting source videos: yt-dlp downloads with a ledger, retries and shared politeness.

Builders that list YouTube ids (ActivityNet, Kinetics) describe each clip they need as a
:class:`~dance_aggregate.fetch.fetcher.ClipRequest`; :class:`~dance_aggregate.fetch.fetcher.ClipFetcher`
returns a local file (from its cache or a fresh download) or raises ``MediaError`` with a
normalised reason. Every yt-dlp specific lives in :mod:`dance_aggregate.fetch.ytdlp`.

- :mod:`.options`: :class:`FetchOptions`, what the CLI passes down (URL template, offline,
  retry-failed, cookies, proxy, backoff delays).
- :mod:`.ledger`: one JSON state file per requested clip (atomic writes), rendered as
  ``reports/<config>.download_ledger.csv``.
- :mod:`.politeness`: the shared pause all workers honour after a 429 or a bot check (the
  rules, and their file backend); :mod:`.politeness_ray`: the same rules in a Ray actor.
- :mod:`.ytdlp`: the yt-dlp Python API call and the error classification.
- :mod:`.fetcher`: cache, lock, retries with backoff and jitter.
"""

from dance_aggregate.fetch.options import DEFAULT_URL_TEMPLATE, FetchOptions

__all__ = ["DEFAULT_URL_TEMPLATE", "FetchOptions"]
