"""The shared base of builders whose annotations list YouTube ids and time ranges.

A subclass parses its annotation files and, for each clip, calls :meth:`clip_media` with
the clip's range and, when the local mirror has the video, its path. Records with a
mirror file are cut like any local file; the others are fetched at encode time through
:class:`~dance_aggregate.fetch.fetcher.ClipFetcher` (cache, ledger, retries, shared pause),
so a builder never touches yt-dlp itself. All the records cut from one file (the windows
of an ActivityNet segment, the clips of one mirrored video) are cut in one decoding pass
(:meth:`YouTubeSourceBuilder.produce_many`), and a unit of work never splits them. The plan's records say everything about what is
fetched (:func:`fetch_requests`); the pipeline writes the download ledger report from them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from dance_aggregate.builders.base import Produced, SourceBuilder, SourceOptions, clip_row, truncation
from dance_aggregate.errors import ConfigError, MediaError
from dance_aggregate.fetch import ledger as L
from dance_aggregate.fetch.fetcher import ClipRequest
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.media.avlog import record_context
from dance_aggregate.media.clip import EncodeOptions, Window, cut_windows
from dance_aggregate.records import ClipRecord, Exclusion

logger = logging.getLogger(__name__)


class YouTubeSourceBuilder(SourceBuilder):
    """A :class:`SourceBuilder` whose videos come from a local mirror or from YouTube.

    Clips are stored with a short side of at most 360 pixels (``default_encode``): a
    YouTube mirror is often 720p, and the training recipes of the field read short sides
    of 256 to 320 (figures and sources in docs/scaling.md, "Resolution").

    Args:
        fetch: How to fetch videos that are not in the mirror (``--url-template``,
            ``--offline``, ``--retry-failed``, ``--cookies``, ``--proxy``).
        politeness: The pause shared by every downloader (``None``: the file-lock pause of
            this machine); a cluster build passes a
            :class:`~dance_aggregate.fetch.politeness_ray.RayPoliteness` (it pickles by name).
        Other arguments: see :class:`SourceBuilder`.
    """

    #: 720p mirrors are stored at 640x360 unless told otherwise (--max-short-side).
    default_encode = EncodeOptions(max_short_side=360)

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

    def pass_key(self, record: ClipRecord) -> str | None:
        """The file a record is cut from: its mirror file, or the downloaded range it
        shares with the other windows of its segment."""
        media = record.media
        if media.get("path"):
            return f"file:{media['path']}"
        if "youtube_id" in media:
            return f"fetch:{_request(media).key}"
        return None

    def produce_many(self, records: list[ClipRecord]) -> list[Produced | Exception]:
        """Cut the records of each source file (mirror file or downloaded range) in one
        decoding pass; results in the order of ``records``."""
        groups: dict[str, list[int]] = {}
        for i, record in enumerate(records):
            groups.setdefault(self.pass_key(record) or f"record:{i}", []).append(i)
        out: list[Produced | Exception | None] = [None] * len(records)
        for idxs in groups.values():
            group = [records[i] for i in idxs]
            with record_context(", ".join(r.id for r in group)):
                try:
                    results = self._produce_group(group)
                except Exception as exc:  # noqa: BLE001 - every record of the file fails alike
                    results = [exc] * len(group)
            for i, res in zip(idxs, results, strict=True):
                out[i] = res
        return [r if r is not None else RuntimeError("not produced") for r in out]

    def produce(self, record: ClipRecord) -> Produced:
        """One record alone (the same bytes as when cut with the other windows of its file)."""
        (result,) = self.produce_many([record])
        if isinstance(result, Exception):
            raise result
        return result

    def materialize(self, record: ClipRecord) -> dict[str, Any]:
        """Cut the clip from the mirror file, or from the fetched (cached) range."""
        return self.produce(record).rows[0]

    def _produce_group(self, records: list[ClipRecord]) -> list[Produced | Exception]:
        """Cut every record of one source file in one pass (:func:`cut_windows`)."""
        media = records[0].media
        if media.get("path"):
            path, offset, req, what = media["path"], 0.0, None, str(media["path"])
        else:
            req = _request(media)
            got = self.fetcher().get(req)  # MediaError: missing or failed download, for all
            path, offset, what = got.path, got.offset, req.key
        windows = [Window(r.media["start"] - offset, r.media["end"] - offset, r.id) for r in records]
        try:
            clips = cut_windows(path, windows, self.encode, name=what)
        except MediaError as exc:
            clips = [exc] * len(records)
        out: list[Produced | Exception] = []
        for record, clip in zip(records, clips, strict=True):
            if isinstance(clip, MediaError):
                out.append(self._fetched_error(req, clip) if req is not None else clip)
                continue
            row = clip_row(record, clip)
            note = truncation(record, row)
            out.append(Produced([row], [], 1, [note] if note else []))
        return out

    def _fetched_error(self, req: ClipRequest, exc: MediaError) -> MediaError:
        """A downloaded file that cannot be decoded is a failed download: dropped from the
        cache and recorded in the ledger (not retried blindly)."""
        if exc.reason not in ("unreadable media", "no video stream", "corrupt media"):
            return exc
        self.fetcher().report_unreadable(req, str(exc))
        return MediaError(str(exc), reason=L.exclusion_reason(L.UNREADABLE))

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
