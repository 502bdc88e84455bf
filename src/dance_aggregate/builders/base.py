"""The base of every source builder.

A source builder only knows its source's files. Subclasses set:

- ``source``: the source name (one of :data:`dance_aggregate.schema.SOURCES`);
- ``config_name``: the config it builds (defaults to ``source``);
- ``layout``: the expected raw layout as a tree, shown when ``--data-dir`` is wrong;
- ``Options``: a dataclass of the builder's options (validated in ``__post_init__``);
- :meth:`plan`: parse annotations into records and exclusions (no media work);
- optionally :meth:`materialize`: turn one record into a full row (the default cuts
  ``record.media["path"]`` between ``record.media["start"]``/``["end"]`` and re-encodes),
  or :meth:`produce` when one plan record stands for many rows;
- optionally :meth:`pass_key` and :meth:`produce_many`: records with the same key (the
  windows of one source video) are made together, in one decoding pass.

A builder only knows its source's files: it parses and plans, and makes rows. Which
configs exist, whether they carry pixels and so on is declared in
:mod:`dance_aggregate.builders.registry`; the pipeline writes every report.
Builders are pickled into worker processes, so they hold only plain attributes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from dance_aggregate.errors import ConfigError, DataDirError, MediaError
from dance_aggregate.media.avlog import record_context
from dance_aggregate.media.clip import EncodedClip, EncodeOptions, cut_and_encode
from dance_aggregate.output.layout import safe_stem
from dance_aggregate.records import ClipRecord, Exclusion, Plan
from dance_aggregate.taxonomy import Taxonomy, load_taxonomy


@dataclass
class Produced:
    """What one plan record became: rows, exclusions, and the input records read
    (``read == len(rows) + sum(e.count for e in exclusions)``).

    ``truncated`` notes the rows whose media covers less than their annotated range
    (:func:`truncation`): they are stored with their true times and counted in the report.
    """

    rows: list[dict[str, Any]]
    exclusions: list[Exclusion]
    read: int
    truncated: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SourceOptions:
    """Options shared by every builder (subclass to add more)."""

    def __post_init__(self) -> None:  # noqa: B027 - hook for subclasses
        pass


class SourceBuilder:
    """Base class of the per-source builders.

    Args:
        data_dir: Where the source's raw files are (``--data-dir SOURCE=PATH``).
        options: The builder's options (an instance of ``Options``).
        encode: How clips are encoded.
        taxonomy: The label schema (the packaged one by default).
        video_dir: A local mirror of the source's videos, for sources that list ids.
        work_dir: A folder the builder may use for caches (downloads, ledgers).
    """

    source: ClassVar[str]
    config_name: ClassVar[str]
    layout: ClassVar[str] = ""
    Options: ClassVar[type[SourceOptions]] = SourceOptions
    #: Default encode options for this source (overridable from the CLI).
    default_encode: ClassVar[EncodeOptions] = EncodeOptions()
    #: Most plan records in one unit of work (``None``: the build's ``part_size``). A
    #: YouTube-8M plan record is a whole shard of thousands of videos, so it is 1 there.
    max_records_per_unit: ClassVar[int | None] = None
    #: What one plan record is, as progress bars count it.
    record_noun: ClassVar[str] = "clip"

    def __init__(
        self,
        data_dir: str | Path,
        options: SourceOptions | None = None,
        *,
        encode: EncodeOptions | None = None,
        taxonomy: Taxonomy | None = None,
        video_dir: str | Path | None = None,
        work_dir: str | Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self.options = options if options is not None else self.Options()
        self.encode = encode or self.default_encode
        self.taxonomy = taxonomy or load_taxonomy()
        self.video_dir = Path(video_dir).expanduser() if video_dir else None
        self.work_dir = Path(work_dir) if work_dir else None

    # -- to implement ---------------------------------------------------------------------
    def plan(self) -> Plan:
        """Parse the raw annotation files into records and exclusions."""
        raise NotImplementedError

    def materialize(self, record: ClipRecord) -> dict[str, Any]:
        """Produce the full row of ``record`` (media encoded).

        Raises:
            MediaError: the clip cannot be produced; the build records it as excluded
                with ``error.reason`` and goes on.
        """
        media = record.media
        path = media.get("path")
        if not path:
            raise MediaError(f"{record.id}: no media path in the record", reason="missing video")
        clip = cut_and_encode(path, media.get("start"), media.get("end"), self.encode, name=str(path), label=record.id)
        return clip_row(record, clip)

    def produce(self, record: ClipRecord) -> Produced:
        """Every row ``record`` stands for, with what it excluded and how many input records
        it read. One clip by default (:meth:`materialize`); a builder whose plan records
        stand for many input records (a YouTube-8M shard) overrides this.

        Raises:
            MediaError: the clip cannot be produced (excluded with ``error.reason``).
        """
        row = self.materialize(record)
        note = truncation(record, row)
        return Produced([row], [], 1, [note] if note else [])

    def pass_key(self, record: ClipRecord) -> str | None:
        """Records with the same key are made together by :meth:`produce_many` (the
        windows of one source file, cut in one pass) and are never split between units of
        work. ``None`` (the default): the record is made alone."""
        return None

    def produce_many(self, records: list[ClipRecord]) -> list[Produced | Exception]:
        """:meth:`produce` every record of a unit of work, in order; a record that fails
        gets its exception in place of its result (one bad record costs only itself).

        libav's warnings while a record is made are logged with its id
        (:func:`~dance_aggregate.media.avlog.record_context`). Builders whose records share
        source files override this to cut them in one pass (see :meth:`pass_key`).
        """
        out: list[Produced | Exception] = []
        for record in records:
            with record_context(record.id):
                try:
                    out.append(self.produce(record))
                except Exception as exc:  # noqa: BLE001 - handed back; run_unit records the exclusion
                    out.append(exc)
        return out

    def should_redo(self, exclusions: list[Exclusion]) -> bool:
        """Whether a unit finished by an earlier run must run again because of what it
        excluded (e.g. a download that failed for a transient reason). Default: never."""
        return False

    def expected_failure(self, reason: str) -> bool:
        """Whether a record failing with ``reason`` is a fact about that record alone (a
        removed video), which the build's failure cap never counts. Default: none is; every
        failure of a local source may be a sign of a broken setup."""
        return False

    # -- helpers --------------------------------------------------------------------------
    def layout_error(self, problem: str) -> DataDirError:
        """A :class:`DataDirError` that shows the expected layout and how to pass it."""
        return DataDirError(
            f"{self.source}: {problem}\n"
            f"Expected --data-dir {self.source}=PATH with this layout:\n{self.layout.rstrip()}\n"
            f"Fix: dance-aggregate build {self.config_name} --data-dir {self.source}=/path/to/{self.source}"
        )

    @classmethod
    def parse_options(cls, values: dict[str, str]) -> SourceOptions:
        """Build ``Options`` from ``KEY=VALUE`` strings (from ``--option``), coercing types."""
        fields = {f.name: f for f in dataclasses.fields(cls.Options)}
        kwargs: dict[str, Any] = {}
        for key, raw in values.items():
            if key not in fields:
                raise ConfigError(
                    f"{cls.config_name}: unknown option {key!r}; options are: {', '.join(sorted(fields)) or 'none'}"
                )
            kwargs[key] = _coerce(raw, fields[key].type, f"{cls.config_name}.{key}")
        try:
            return cls.Options(**kwargs)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{cls.config_name}: {exc}") from exc


def layout_from_doc(doc: str | None) -> str:
    """The first literal block (the indented lines after ``::``) of a module docstring:
    builder modules document their raw layout as a tree there, and errors show it."""
    if not doc or "::" not in doc:
        return ""
    lines = doc.split("::", 1)[1].splitlines()
    block: list[str] = []
    for line in lines[1:]:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line)
    return "\n".join(block).strip("\n")


def _coerce(raw: str, annotation: Any, what: str) -> Any:
    text = str(annotation)
    try:
        if text.startswith("bool") or text == "<class 'bool'>":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if text.startswith("int") or text == "<class 'int'>":
            return int(raw)
        if text.startswith("float") or text == "<class 'float'>":
            return float(raw)
    except ValueError:
        raise ConfigError(f"{what}: cannot read {raw!r} as {text}") from None
    return raw


#: The key under which :func:`clip_row` leaves a row's note for the report's
#: ``silent_audio`` list (:func:`silent_audio_note`); the pipeline takes it out of the row
#: before the row is written (:func:`dance_aggregate.pipeline.units.run_unit`).
SILENT_AUDIO_NOTE = "_silent_audio"


def clip_row(record: ClipRecord, clip: EncodedClip) -> dict[str, Any]:
    """The full row of a record whose media was encoded into ``clip`` (its media cells are
    named ``<id with / as ->.mp4`` / ``.flac``, escaped by :func:`safe_stem`).

    Its times say what the MP4 holds: a clip that begins later than asked (a negative
    start clamped to 0) has its ``start_time`` moved by as much, and a truncated clip (the
    source ends early) ends at ``start_time + duration``, never at the annotated end. A
    clip whose source audio is digital silence has ``has_audio`` false and no ``audio``;
    the row then carries its report note under :data:`SILENT_AUDIO_NOTE`.
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
    note = silent_audio_note(record, clip)
    if note is not None:
        row[SILENT_AUDIO_NOTE] = note
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
