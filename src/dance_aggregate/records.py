"""The records that flow from source builders through media encoding to the writer.

A :class:`ClipRecord` is one clip a source wants in the dataset; it is plain, JSON-able
data so it crosses process (and Ray) boundaries. Its ``media`` is a typed plan of how its
media is made, one of a small closed set the pipeline knows how to carry out:

- :class:`LocalCut`: cut a time range out of a local media file (a mirror, a release);
- :class:`RemoteCut`: fetch a video (a YouTube range through yt-dlp, or a plain HTTPS file),
  then cut a range out of it;
- :class:`FrameRun`: encode a run of numbered still frames (a folder or a zip);
- :class:`FeatureShard`: read a file of precomputed features with the source's own reader.

Sources only parse and plan; they never fetch, cut or encode. An :class:`Exclusion` is a
record that does not become a row, with its normalised reason; together they make the build
accounting add up: ``records read = rows written + records excluded``.

Records, plans and exclusions use ``__slots__``: a plan of a million rows holds a million
of each, and a ``__dict__`` per object was about a sixth of a record's memory.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, TypeAlias

#: Split names used in every config, whatever the source calls them.
SPLITS: tuple[str, ...] = ("train", "validation", "test")
#: The name of the deduplicated config of every pixel source (no source may take it).
ALL_CONFIG = "all"


@dataclass(frozen=True, slots=True)
class LocalCut:
    """Cut ``[start, end)`` (seconds in the file's own time) out of a local media file.

    Attributes:
        path: The file (any container FFmpeg reads).
        start: Start in the file (``None``: from its first frame).
        end: End in the file (``None``: to its end).
    """

    path: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True, slots=True)
class RemoteCut:
    """Fetch a remote video (or a range of it) into the build's cache, then cut
    ``[start, end)`` out of it. Clips that share a download share one fetch.

    Exactly one of ``youtube_id`` and ``url`` is set: ``RemoteCut("dQw4w9WgXcQ", 3.0, 13.0,
    fetch_start=3.0, fetch_end=13.0)`` or ``RemoteCut(url="https://host/videos/x.mp4")``.

    Attributes:
        youtube_id: The YouTube video (fetched with yt-dlp from the build's URL template).
        start: Start of the clip in the video's time (in the file's, for a URL; ``None``:
            from its first frame).
        end: End of the clip (``None``: to the end).
        fetch_start: Start of the range to download (``None``: the whole video); never set
            for a URL (a file is downloaded whole).
        fetch_end: End of the range to download.
        url: A plain file on a web server (``https://``), downloaded whole with HTTP Range
            resumption (:mod:`dance_aggregate.fetch.httpfile`); files whose URLs end in the
            same file name are one download.
    """

    youtube_id: str | None = None
    start: float | None = None
    end: float | None = None
    fetch_start: float | None = None
    fetch_end: float | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.youtube_id is None) == (self.url is None):
            raise ValueError(
                f"a RemoteCut needs exactly one of youtube_id and url, got youtube_id={self.youtube_id!r}, url={self.url!r}"
            )
        if self.url is not None and (self.fetch_start is not None or self.fetch_end is not None):
            raise ValueError(f"a RemoteCut of a URL downloads the whole file: no fetch range, got {self.url!r} "
                             f"with fetch_start={self.fetch_start}, fetch_end={self.fetch_end}")


@dataclass(frozen=True, slots=True)
class FrameRun:
    """Encode a run of numbered still frames (JPEGs) into a clip at ``fps``.

    Attributes:
        container: The folder of the frames, or the zip holding them (read in place).
        frames: ``(number, member)`` of every frame present, by number; ``member`` is the
            path inside the container.
        first: Number of the clip's first frame.
        expected: Frames the clip spans (present or missing).
        missing: Numbers of the frames that are missing (the previous frame is held).
        fps: Frame rate of the clip.
        max_missing: Largest fraction of frames missing or unreadable before the clip is
            excluded (``too many missing frames``).
        max_short_side: Short side the source asks for (``None``: the build's; ``0``: the
            frames' own size).
    """

    container: str
    frames: tuple[tuple[int, str], ...]
    first: int
    expected: int
    missing: tuple[int, ...] = ()
    fps: float = 30.0
    max_missing: float = 0.1
    max_short_side: int | None = None


@dataclass(frozen=True, slots=True)
class FeatureShard:
    """A file of precomputed features (no pixels), read by its source's own reader, which
    turns it into rows and exclusions (one plan record may stand for many rows).

    Attributes:
        path: The file.
        rel: Its path relative to the source's data folder (ids and reports name it so).
        context: What the reader needs besides the file (JSON-able).
    """

    path: str
    rel: str
    context: dict[str, Any] = field(default_factory=dict)


#: How one record's media is made: the closed set of plans the pipeline carries out.
MediaPlan: TypeAlias = LocalCut | RemoteCut | FrameRun | FeatureShard


def _read_only(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError(
        f"this {type(self).__name__} is shared by every record that did not set its own: "
        f"assign a new value (record.labels = [...], record.extra = {{...}}) instead of changing it"
    )


class _SharedLabels(list):  # type: ignore[type-arg]
    """The default ``labels`` of a record, ``[label]``: one read-only list per label, shared
    (a list per record was 64 bytes of each record of a million-row plan)."""

    __slots__ = ()
    append = extend = insert = remove = pop = clear = sort = reverse = _read_only
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only

    def __reduce__(self) -> tuple[Any, tuple[str, ...]]:
        return default_labels, tuple(self)


class _SharedEmpty(dict):  # type: ignore[type-arg]
    """The ``extra`` of every record without extra columns: one read-only empty dict."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = update = setdefault = pop = popitem = clear = _read_only

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _no_extra, ()


_NO_EXTRA = _SharedEmpty()
_LABELS: dict[str, _SharedLabels] = {}


def _no_extra() -> _SharedEmpty:
    return _NO_EXTRA


def default_labels(label: str) -> list[str]:
    """``[label]``, as the one read-only list every record of ``label`` without labels of its
    own shares (it pickles as itself: a worker's records share its copy)."""
    shared = _LABELS.get(label)
    if shared is None:
        shared = _LABELS.setdefault(label, _SharedLabels((label,)))
    return shared


@dataclass(slots=True)
class ClipRecord:
    """One clip to produce.

    Attributes:
        id: Globally unique stable id, ``<source>/<source_id>``.
        source: Source name (``ucf101``, ...).
        source_id: The clip's id in its source.
        split: ``train``, ``validation`` or ``test``.
        label: Canonical label id.
        source_label: The source's own label string.
        family: Family of ``label``.
        group: Unit that never straddles splits.
        labels: Every canonical label of the clip (defaults to ``[label]``).
        youtube_id: YouTube id, when known.
        start_time: Start in the original video (s), when known.
        end_time: End in the original video (s), when known.
        media: How its media is made (:data:`MediaPlan`).
        extra: Extra column values for the row (e.g. YouTube-8M features).
    """

    id: str
    source: str
    source_id: str
    split: str
    label: str
    source_label: str
    family: str
    group: str
    labels: list[str] = field(default_factory=list)
    youtube_id: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    media: MediaPlan | None = None
    extra: dict[str, Any] = field(default_factory=lambda: _NO_EXTRA)

    def __post_init__(self) -> None:
        if not self.labels:
            self.labels = default_labels(self.label)
        # A source's label strings repeat (20 classes over a million rows): one copy each.
        if type(self.source_label) is str:
            self.source_label = sys.intern(self.source_label)

    def base_row(self) -> dict[str, Any]:
        """The row columns known before any media is touched."""
        row = {
            "id": self.id,
            "source": self.source,
            "source_id": self.source_id,
            "youtube_id": self.youtube_id,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "label": self.label,
            "labels": list(self.labels),
            "source_label": self.source_label,
            "family": self.family,
            "group": self.group,
        }
        row.update(self.extra)
        return row

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the plan's kind included): what ``dataclasses.asdict`` gives,
        made without its generic deep copy (units hash a million of these), and without
        a ``RemoteCut``'s ``url`` when it has none (so a YouTube plan's form, and the unit
        keys made from it, stay what they were before URLs)."""
        out = {
            "id": self.id, "source": self.source, "source_id": self.source_id, "split": self.split,
            "label": self.label, "source_label": self.source_label, "family": self.family, "group": self.group,
            "labels": list(self.labels), "youtube_id": self.youtube_id, "start_time": self.start_time,
            "end_time": self.end_time, "media": _media_dict(self.media),
            "extra": copy.deepcopy(self.extra) if self.extra else {},
        }
        out["media_kind"] = type(self.media).__name__ if self.media is not None else None
        return out


def _media_dict(media: MediaPlan | None) -> dict[str, Any] | None:
    if media is None:
        return None
    if isinstance(media, RemoteCut):
        out = {"youtube_id": media.youtube_id, "start": media.start, "end": media.end,
               "fetch_start": media.fetch_start, "fetch_end": media.fetch_end}
        if media.url is not None:
            out["url"] = media.url
        return out
    if isinstance(media, LocalCut):
        return {"path": media.path, "start": media.start, "end": media.end}
    return asdict(media)


@dataclass(slots=True)
class Exclusion:
    """A record that does not become a row.

    Attributes:
        id: The record id (``<source>/<source_id>``), or the best identifier available.
        reason: Short normalised reason, the key of the accounting ("not a dance class",
            "missing video", "unreadable media", "duplicate", ...).
        detail: Free text: the file, the value seen, what to do.
        split: The split the record would have gone to, when known.
        source_label: The source's label string, when known.
        count: How many input records this line stands for (1, or e.g. the non-dance
            videos of one YouTube-8M shard, counted without a line each).
    """

    id: str
    reason: str
    detail: str = ""
    split: str | None = None
    source_label: str | None = None
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass
class Plan:
    """What a builder found in the raw files, before any media work."""

    records: list[ClipRecord]
    exclusions: list[Exclusion]

    @property
    def records_read(self) -> int:
        """Every input record the builder looked at (an exclusion may stand for several)."""
        return len(self.records) + sum(e.count for e in self.exclusions)


@dataclass
class Produced:
    """What one plan record became: rows, exclusions, and the input records read
    (``read == len(rows) + sum(e.count for e in exclusions)``).

    ``truncated`` notes the rows whose media covers less than their annotated range: they
    are stored with their true times and counted in the report. ``silent_audio`` notes the
    rows whose source audio is digital silence: stored without audio, counted in the report.
    """

    rows: list[dict[str, Any]]
    exclusions: list[Exclusion]
    read: int
    truncated: list[dict[str, Any]] = field(default_factory=list)
    silent_audio: list[dict[str, Any]] = field(default_factory=list)
