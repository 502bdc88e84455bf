"""Getting source videos: yt-dlp downloads and plain file downloads, with a ledger, retries
and shared politeness.

Builders that list YouTube ids (ActivityNet, Kinetics) or file URLs describe each clip they
need as a ``RemoteCut``, which the pipeline turns into a
:class:`~dance_aggregate.fetch.fetcher.ClipRequest`; :class:`~dance_aggregate.fetch.fetcher.ClipFetcher`
returns a local file (from its cache or a fresh download) or raises ``MediaError`` with a
normalised reason. Every yt-dlp specific lives in :mod:`dance_aggregate.fetch.ytdlp`, every
plain-HTTP one in :mod:`dance_aggregate.fetch.httpfile`.

- :mod:`.options`: :class:`FetchOptions`, what the CLI passes down (URL template, offline,
  retry-failed, cookies, proxy, backoff delays).
- :mod:`.journal`: append-only JSON lines in at most 256 shard files, written by many
  processes at once, the last line of a key winning, torn lines skipped.
- :mod:`.ledger`: the state of every requested clip, kept in a journal (offline misses are
  not written at all), rendered as ``reports/<config>.download_ledger.csv``.
- :mod:`.politeness`: the shared pause all workers honour after a 429 or a bot check (the
  rules, and their file backend); :mod:`.politeness_ray`: the same rules in a Ray actor.
- :mod:`.ytdlp`: the yt-dlp Python API call and the error classification.
- :mod:`.httpfile`: one attempt at a plain ``https://`` file, resumed with HTTP Range.
- :mod:`.fetcher`: cache, a lock per running download, retries with backoff and jitter.
"""

from dance_aggregate.fetch.options import DEFAULT_URL_TEMPLATE, FetchOptions

__all__ = ["DEFAULT_URL_TEMPLATE", "FetchOptions"]
