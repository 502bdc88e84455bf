"""The shared base of builders whose annotations list YouTube ids and time ranges.

A subclass parses its annotation files and, for each clip, calls :meth:`clip_media` with
the clip's range and, when the local mirror has the video, its path. Records with a
mirror file are cut like any local file; the others are fetched at encode time through
:class:`~dance_aggregate.fetch.fetcher.ClipFetcher` (cache, ledger, retries, shared pause),
so a builder never touches yt-dlp itself. The plan's records say everything about what is
fetched (:func:`fetch_requests`); the pipeline writes the download ledger report from them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dance_aggregate.builders.base import SourceBuilder, SourceOptions, clip_row
from dance_aggregate.errors import ConfigError, MediaError
from dance_aggregate.fetch import ledger as L
from dance_aggregate.fetch.fetcher import ClipRequest
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.media.clip import cut_and_encode
from dance_aggregate.records import ClipRecord, Exclusion

logger = logging.getLogger(__name__)


class YouTubeSourceBuilder(SourceBuilder):
    """A :class:`SourceBuilder` whose videos come from a local mirror or from YouTube.

    Args:
        fetch: How to fetch videos that are not in the mirror (``--url-template``,
            ``--offline``, ``--retry-failed``, ``--cookies``, ``--proxy``).
        politeness: The pause shared by every downloader (``None``: the file-lock pause of
            this machine); a cluster build passes a
            :class:`~dance_aggregate.fetch.politeness_ray.RayPoliteness` (it pickles by name).
        Other arguments: see :class:`SourceBuilder`.
    """

    def __init__(
        self,
        data_dir: str | Path,
        options: SourceOptions | None = None,
        *,
        fetch: FetchOptions | None = None,
        politeness: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data_dir, options, **kwargs)
        self.fetch = fetch or FetchOptions()
        self.politeness = politeness
        self._fetcher: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # The fetcher holds open locks and a yt-dlp instance: each process makes its own.
        state = dict(self.__dict__)
        state["_fetcher"] = None
        return state

    # -- planning helpers ---------------------------------------------------------------
    def clip_media(
        self, youtube_id: str, start: float, end: float, mirror: Path | None, *, mirror_offset: float = 0.0,
        fetch_start: float | None = None, fetch_end: float | None = None,
    ) -> dict[str, Any]:
        """The ``media`` dict of a clip ``[start, end)`` of ``youtube_id``.

        Args:
            mirror: The mirror file, when the mirror has it.
            mirror_offset: Time in the video of the mirror file's t=0 (a trimmed clip's start).
            fetch_start: Start of the range to download (default ``start``); clips that
                share a range share one download.
            fetch_end: End of the range to download (default ``end``).
        """
        if mirror is not None:
            return {"path": str(mirror), "start": round(start - mirror_offset, 6), "end": round(end - mirror_offset, 6)}
        req = ClipRequest(youtube_id, fetch_start if fetch_start is not None else start, fetch_end if fetch_end is not None else end)
        return {"youtube_id": youtube_id, "fetch_start": req.start, "fetch_end": req.end, "start": start, "end": end}

    def clip_record(
        self, source_id: str, split: str, mapping: Any, source_label: str, youtube_id: str,
        start: float, end: float, media: dict[str, Any],
    ) -> ClipRecord:
        """The plan record of clip ``[start, end)`` of ``youtube_id`` (id ``<source>/<source_id>``;
        every clip of a video shares its ``group``, the YouTube id)."""
        return ClipRecord(
            id=f"{self.source}/{source_id}",
            source=self.source,
            source_id=source_id,
            split=split,
            label=mapping.label,
            source_label=source_label,
            family=mapping.family,
            group=youtube_id,
            youtube_id=youtube_id,
            start_time=start,
            end_time=end,
            media=media,
        )

    @staticmethod
    def index_mirror(folder: Path | None, exts: tuple[str, ...] = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".flv")) -> dict[str, Path]:
        """Every video file under ``folder`` by file stem (subfolders included)."""
        if folder is None or not folder.is_dir():
            return {}
        out: dict[str, Path] = {}
        for p in sorted(folder.rglob("*")):
            if p.suffix.lower() in exts and p.is_file() and not p.name.startswith("."):
                out.setdefault(p.stem, p)
        return out

    # -- media ----------------------------------------------------------------------------
    def fetch_folder(self) -> Path:
        """Cache, ledger and locks of this source's downloads (``<work>/fetch/<source>``)."""
        if self.work_dir is None:
            raise ConfigError(f"{self.config_name}: downloading needs a work folder (pass work_dir=...)")
        return self.work_dir / "fetch" / self.source

    def fetcher(self) -> Any:
        """The clip fetcher of this process (made on first use)."""
        if self._fetcher is None:
            from dance_aggregate.fetch.fetcher import ClipFetcher

            self._fetcher = ClipFetcher(self.fetch_folder(), self.fetch, politeness=self.politeness)
        return self._fetcher

    def materialize(self, record: ClipRecord) -> dict[str, Any]:
        """Cut the clip from the mirror file, or from the fetched (cached) range."""
        media = record.media
        if media.get("path"):
            return super().materialize(record)
        req = _request(media)
        fetcher = self.fetcher()
        got = fetcher.get(req)
        start, end = media["start"] - got.offset, media["end"] - got.offset
        try:
            clip = cut_and_encode(got.path, max(0.0, start), end, self.encode, name=f"{req.key} ({record.id})")
        except MediaError as exc:
            if exc.reason in ("unreadable media", "no video stream"):
                fetcher.report_unreadable(req, str(exc))
                raise MediaError(str(exc), reason=L.exclusion_reason(L.UNREADABLE)) from exc
            raise
        return clip_row(record, clip)

    def expected_failure(self, reason: str) -> bool:
        """A clip missing from an offline mirror, or whose video is gone, private, blocked
        in this country... is expected: old YouTube lists lose videos every year."""
        return L.is_per_video(reason)

    def should_redo(self, exclusions: list[Exclusion]) -> bool:
        """Redo units with transient download failures (or any, with ``--retry-failed``)."""
        return any(
            L.needs_retry(e.reason, offline=self.fetch.offline, retry_failed=self.fetch.retry_failed) for e in exclusions
        )


def _request(media: dict[str, Any]) -> ClipRequest:
    return ClipRequest(media["youtube_id"], media["fetch_start"], media["fetch_end"])


def fetch_requests(records: list[ClipRecord]) -> list[ClipRequest]:
    """The downloads a plan needs: one request per distinct range of the records that are
    not in the local mirror (windows of one segment share one download), in record order."""
    out: dict[str, ClipRequest] = {}
    for r in records:
        if not r.media.get("path") and "youtube_id" in r.media:
            req = _request(r.media)
            out.setdefault(req.key, req)
    return list(out.values())
