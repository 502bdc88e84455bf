"""Carrying out media plans: the records of one unit of work become rows.

Sources only plan (:mod:`dance_aggregate.records`); this is where the plans are carried out,
in a worker process:

- :class:`~dance_aggregate.records.LocalCut`: the records cut from one file (the windows of
  an ActivityNet segment, the clips of one mirrored video) are cut in one decoding pass;
- :class:`~dance_aggregate.records.RemoteCut`: the range (or, for a URL, the whole file) is
  fetched once into the build's cache (:class:`~dance_aggregate.fetch.fetcher.ClipFetcher`:
  ledger, retries, the pause shared by workers), then cut like a local file; a download that
  cannot be decoded is a failed download, recorded in the ledger;
- :class:`~dance_aggregate.records.FrameRun`: the frames are decoded, gaps filled, and encoded;
- :class:`~dance_aggregate.records.FeatureShard`: the source's own reader turns the file into
  rows (:meth:`~dance_aggregate.builders.base.SourceBuilder.read_features`).

:class:`ProduceContext` is everything a worker needs for one config's plans; it pickles (to
worker processes and Ray nodes) and carries the features the rows are written with, so a
worker never depends on which sources its own process registered.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Features

from dance_aggregate.errors import ConfigError, MediaError
from dance_aggregate.fetch import ledger as L
from dance_aggregate.fetch.fetcher import ClipFetcher, ClipRequest
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.files.names import safe_stem
from dance_aggregate.media.avlog import record_context
from dance_aggregate.media.clip import EncodedClip, EncodeOptions, Window, cut_windows, encode_frames
from dance_aggregate.media.frames import ClipFrames, FrameContainer
from dance_aggregate.records import ClipRecord, FeatureShard, FrameRun, LocalCut, Produced, RemoteCut

logger = logging.getLogger(__name__)

#: Cut reasons that mean a downloaded file is damaged (dropped from the cache, not retried).
_UNREADABLE_REASONS = ("unreadable media", "no video stream", "corrupt media")


@dataclass
class ProduceContext:
    """What a worker needs to carry out the plans of one config.

    Attributes:
        config: The config.
        source: Its source.
        encode: How clips are encoded.
        features: The features rows are written with.
        options: The source's options (for its feature reader).
        read_features: The source's reader of feature shards (``None``: it plans none).
        fetch: How remote videos are fetched (``None``: the config fetches nothing).
        fetch_folder: Cache, ledger and locks of the source's downloads
            (``<work>/fetch/<source>``).
        politeness: The pause shared by downloaders (``None``: this machine's file lock).
    """

    config: str
    source: str
    encode: EncodeOptions
    features: Features
    options: Any = None
    read_features: Callable[[FeatureShard, Any], Produced] | None = None
    fetch: FetchOptions | None = None
    fetch_folder: str | None = None
    politeness: Any = None
    _fetcher: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # The fetcher holds open locks and a yt-dlp instance: each process makes its own.
        state = dict(self.__dict__)
        state["_fetcher"] = None
        return state

    def fetcher(self) -> ClipFetcher:
        """The clip fetcher of this process (made on first use)."""
        if self._fetcher is None:
            if self.fetch is None or self.fetch_folder is None:
                raise ConfigError(f"{self.config}: its plan downloads media, but the build gave it no fetch options")
            self._fetcher = ClipFetcher(Path(self.fetch_folder), self.fetch, politeness=self.politeness)
        return self._fetcher

    def pass_key(self, record: ClipRecord) -> str | None:
        """Records with the same key are made together, in one pass, and never split
        between units: the records cut from one local file or one downloaded range."""
        media = record.media
        if isinstance(media, LocalCut):
            return f"file:{media.path}"
        if isinstance(media, RemoteCut):
            return f"url:{media.url}" if media.youtube_id is None else f"fetch:{request_of(media).key}"
        return None

    def should_redo(self, exclusions: list[Any]) -> bool:
        """Whether a unit an earlier run finished must run again: it excluded clips whose
        download failed for a transient reason (or any, with ``--retry-failed``)."""
        if self.fetch is None:
            return False
        return any(
            L.needs_retry(e.reason, offline=self.fetch.offline, retry_failed=self.fetch.retry_failed) for e in exclusions
        )

    def expected_failure(self, reason: str) -> bool:
        """Whether a record failing with ``reason`` is a fact about that record alone (a
        video gone from YouTube, missing from an offline mirror), which the failure cap
        never counts; every failure of a local file may be a sign of a broken setup."""
        return self.fetch is not None and L.is_per_video(reason)


def request_of(plan: RemoteCut) -> ClipRequest:
    """The download a remote cut needs: its YouTube range, or its whole file at a URL."""
    if plan.url is not None:
        return ClipRequest("", url=plan.url)
    return ClipRequest(plan.youtube_id or "", plan.fetch_start, plan.fetch_end)


def fetch_requests(records: list[ClipRecord]) -> list[ClipRequest]:
    """The downloads a plan needs: one request per distinct range (windows of one segment
    share one download), in record order."""
    out: dict[str, ClipRequest] = {}
    for r in records:
        if isinstance(r.media, RemoteCut) and r.media.youtube_id is not None:
            req = request_of(r.media)
            out.setdefault(req.key, req)
    return list(out.values())


def sorted_requests(records: list[ClipRecord]) -> Iterator[ClipRequest]:
    """The downloads a plan needs, one per distinct key, in key order (the download
    ledger's), made one at a time: a plan of a million clips holds no second million
    objects for its report. Runs of :data:`SORT_RUN` plans are sorted, then merged, so at
    most one run's keys exist at once (a sort of the whole plan would hold a million)."""
    plans = [r.media for r in records if isinstance(r.media, RemoteCut)]

    def key(plan: RemoteCut) -> str:
        return request_of(plan).key

    runs = [sorted(plans[i : i + SORT_RUN], key=key) for i in range(0, len(plans), SORT_RUN)]
    del plans
    last = None
    for plan in heapq.merge(*runs, key=key):
        req = request_of(plan)
        if req.key != last:
            last = req.key
            yield req


#: Plans sorted at a time by :func:`sorted_requests`.
SORT_RUN = 50_000


def produce_records(records: list[ClipRecord], ctx: ProduceContext) -> list[Produced | Exception]:
    """Every record's rows, in the order of ``records``; a record that fails gets its
    exception in place of its result (one bad record costs only itself).

    Records with the same :meth:`ProduceContext.pass_key` are made together (one decoding
    pass over their file); libav's warnings are logged with the records' ids.
    """
    groups: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        groups.setdefault(ctx.pass_key(record) or f"record:{i}", []).append(i)
    out: list[Produced | Exception | None] = [None] * len(records)
    for idxs in groups.values():
        group = [records[i] for i in idxs]
        with record_context(", ".join(r.id for r in group)):
            try:
                results = _produce_group(group, ctx)
            except Exception as exc:  # noqa: BLE001 - every record of the file fails alike
                results = [exc] * len(group)
        for i, res in zip(idxs, results, strict=True):
            out[i] = res
    return [r if r is not None else RuntimeError("not produced") for r in out]


def produce_record(record: ClipRecord, ctx: ProduceContext) -> Produced:
    """One record alone (the same bytes as when made with the others of its file).

    Raises:
        MediaError: the record's media cannot be made (excluded with ``error.reason``).
    """
    (result,) = produce_records([record], ctx)
    if isinstance(result, Exception):
        raise result
    return result


def _produce_group(records: list[ClipRecord], ctx: ProduceContext) -> list[Produced | Exception]:
    media = records[0].media
    if isinstance(media, LocalCut):
        return _cut(records, media.path, 0.0, ctx, None)
    if isinstance(media, RemoteCut):
        req = request_of(media)
        got = ctx.fetcher().get(req)  # MediaError: missing or failed download, for all
        return _cut(records, got.path, got.offset, ctx, req)
    (record,) = records
    if isinstance(media, FrameRun):
        return [_frames(record, media, ctx)]
    if isinstance(media, FeatureShard):
        if ctx.read_features is None:
            raise ConfigError(f"{ctx.config}: {record.id} is a feature shard, but its source has no feature reader")
        return [ctx.read_features(media, ctx.options)]
    raise ConfigError(f"{ctx.config}: {record.id} has no media plan (got {type(media).__name__})")


def _cut(
    records: list[ClipRecord], path: str | Path, offset: float, ctx: ProduceContext, req: ClipRequest | None
) -> list[Produced | Exception]:
    """Cut every record of one file in one pass (:func:`cut_windows`)."""
    windows = []
    for r in records:
        start, end = r.media.start, r.media.end  # type: ignore[union-attr] - a group of cuts
        if req is not None:  # the downloaded file's t=0 is `offset` in the video
            start = None if start is None else start - offset
            end = None if end is None else end - offset
        windows.append(Window(start, end, r.id))
    try:
        clips: list[EncodedClip | MediaError] = cut_windows(path, windows, ctx.encode, name=req.key if req else str(path))
    except MediaError as exc:
        clips = [exc] * len(records)
    out: list[Produced | Exception] = []
    for record, clip in zip(records, clips, strict=True):
        if isinstance(clip, MediaError):
            out.append(_fetched_error(ctx, req, clip) if req is not None else clip)
            continue
        out.append(_clip_produced(record, clip))
    return out


def _fetched_error(ctx: ProduceContext, req: ClipRequest, exc: MediaError) -> MediaError:
    """A downloaded file that cannot be decoded is a failed download: dropped from the
    cache and recorded in the ledger (not retried blindly)."""
    if exc.reason not in _UNREADABLE_REASONS:
        return exc
    ctx.fetcher().report_unreadable(req, str(exc))
    return MediaError(str(exc), reason=L.exclusion_reason(L.UNREADABLE))


def _frames(record: ClipRecord, run: FrameRun, ctx: ProduceContext) -> Produced:
    """Decode a run of frames and encode them.

    Missing frames (and frames that cannot be read: a corrupt JPEG counts as missing) are
    filled by holding the previous frame; a clip missing more than ``max_missing`` of its
    frames in all is excluded. Frames of another size than the clip's (the most common size
    among its frames) are resized to it, so one odd frame never shrinks the clip.
    """
    encode = ctx.encode
    if run.max_short_side is not None:  # the source's own option (0: the frames' size)
        encode = dataclasses.replace(encode, max_short_side=run.max_short_side or None)
    reader = ClipFrames(FrameContainer(run.container), run, record.id, encode.max_short_side)
    clip = encode_frames(reader.frames(), run.fps, encode, name=record.id, size=reader.size)
    reader.report()
    return _clip_produced(record, clip)


def _clip_produced(record: ClipRecord, clip: EncodedClip) -> Produced:
    """The row of one encoded clip, with the report's notes on it (a truncated range, silent audio)."""
    row = clip_row(record, clip)
    short = truncation(record, row)
    silent = silent_audio_note(record, clip)
    return Produced([row], [], 1, [short] if short else [], [silent] if silent else [])


def clip_row(record: ClipRecord, clip: EncodedClip) -> dict[str, Any]:
    """The full row of a record whose media was encoded into ``clip`` (its media cells are
    named ``<id with / as ->.mp4`` / ``.flac``, escaped by :func:`safe_stem`).

    Its times say what the MP4 holds: a clip that begins later than asked (a negative
    start clamped to 0) has its ``start_time`` moved by as much, and a truncated clip (the
    source ends early) ends at ``start_time + duration``, never at the annotated end. A
    clip whose source audio is digital silence has ``has_audio`` false and no ``audio``.
    """
    stem = safe_stem(record.id.replace("/", "-"))
    row = record.base_row()
    start, end = record.start_time, record.end_time
    if start is not None:
        shift = clip.start - (clip.requested[0] or 0.0)
        if shift > 1e-9:
            start = round(start + shift, 6)
        if clip.truncated and end is not None:
            end = round(start + clip.duration, 6)
    row.update(
        {
            "start_time": start,
            "end_time": end,
            "video": {"bytes": clip.video, "path": f"{stem}.mp4"},
            "audio": {"bytes": clip.audio_flac, "path": f"{stem}.flac"} if clip.audio_flac else None,
            "has_audio": clip.has_audio,
            "duration": round(clip.duration, 6),
            "fps": round(clip.fps, 6),
            "width": clip.width,
            "height": clip.height,
            "num_frames": clip.num_frames,
            "frame_hashes": clip.frame_hashes,
        }
    )
    return row


def silent_audio_note(record: ClipRecord, clip: EncodedClip) -> dict[str, Any] | None:
    """A note for the report when the source of ``clip`` has an audio track that is not
    stored (digital silence, or no samples in the clip's range), else ``None``."""
    if clip.silent_audio is None:
        return None
    level = clip.audio_peak_dbfs
    return {
        "id": record.id,
        "reason": clip.silent_audio,
        # JSON has no -inf: null is "no sample other than 0" (or no sample at all).
        "peak_dbfs": round(level, 1) if level is not None and level != float("-inf") else None,
    }


def truncation(record: ClipRecord, row: dict[str, Any]) -> dict[str, Any] | None:
    """A note for the report when ``row`` stores less than ``record``'s annotated range
    (more than one frame short), else ``None``."""
    if record.start_time is None or record.end_time is None or row.get("duration") is None:
        return None
    asked = record.end_time - record.start_time
    frame = 1.0 / row["fps"] if row.get("fps") else 0.0
    if asked - row["duration"] <= frame + 1e-6:
        return None
    return {
        "id": record.id,
        "annotated": [record.start_time, record.end_time],
        "stored": [row["start_time"], row["end_time"]],
        "covered": round(row["duration"] / asked, 4) if asked > 0 else 0.0,
    }
