"""The records that flow from source builders through media encoding to the writer.

A :class:`ClipRecord` is one clip a builder wants in the dataset; it is plain, JSON-able
data so it crosses process (and Ray) boundaries. An :class:`Exclusion` is a record that
does not become a row, with its normalised reason; together they make the build
accounting add up: ``records read = rows written + records excluded``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
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
        media: Builder-specific instructions to get the pixels (JSON-able).
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
    media: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.labels:
            self.labels = [self.label]

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
        """JSON-able form."""
        return asdict(self)


@dataclass
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
