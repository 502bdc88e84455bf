"""YouTube-8M (Abu-El-Haija et al. 2016, 2018 v2 release): dance videos as features.

Raw layout (``--data-dir youtube8m=PATH``)::

    PATH/
    ├── vocabulary.csv                 (Index,TrainVideoCount,KnowledgeGraphId,Name,...; 3,862 rows)
    └── **/<partition>NNNN.tfrecord    (anywhere below PATH: train*, validate*, test*)
        video level: tf.train.Example          id, labels, mean_rgb[1024], mean_audio[128]
        frame level: tf.train.SequenceExample  context id, labels; feature lists rgb, audio
                                               (one uint8-quantised 1024/128 vector per second)

The split comes from the shard's file name (``train*`` -> train, ``validate*`` ->
validation, ``test*`` -> test); whether a shard is video or frame level is told from each
record (a ``SequenceExample`` carries feature lists). Records are read without TensorFlow
(:mod:`.tfrecord`, CRCs checked); a corrupt record or truncated tail is
excluded with its shard, record number and byte offset, and the rest is read.

Labels: ``vocabulary.csv`` maps label indices to entity names, the crosswalk in the
shared schema (keys are entity names) says which are dance. Every dance label is kept in
``labels``; the primary ``label`` is the most specific one: a non-umbrella label beats an
umbrella (``Dance``, ``Ballroom dance``, ``Latin dance``); among equals the rarer entity
(smaller ``TrainVideoCount``) wins, then the lower index. ``source_label`` is the primary
entity's name. Videos with no dance label are excluded by rule and counted (one report
line per shard, with the count), as are unlabelled videos (the 2018 test partition). The
vocabulary is the class list: a video with no dance label and a label index that is not in
``vocabulary.csv`` (a record of another release, such as the 2017 one with 4,716 classes) is
excluded as ``unknown class`` (one line per shard and index), never as not dance.

Rows carry no pixels and no sound: ``video``/``audio`` are null and ``has_audio`` is false
(it says whether the ``audio`` column holds sound); the features are in ``mean_rgb``,
``mean_audio`` (video level, float32 as the release stores them) or ``frame_rgb``,
``frame_audio`` (frame level, the release's uint8-quantised bytes unchanged, one vector per
second; :func:`dance_aggregate.training.features.dequantize` gives the floats of the starter
code's ``Dequantize``; ``duration``/``num_frames`` = seconds of features, ``fps`` = 1). The
audio features are the release's embedding of the soundtrack (a VGG-like audio network,
PCA'd and quantised like the RGB ones), not sound. Frame-level rows leave
``mean_rgb``/``mean_audio`` null (the release's video-level means are not recomputed).

Work is planned per shard: the number of videos in a shard (and which are dance) is only
known after reading it, so each shard is one :class:`~dance_aggregate.records.FeatureShard`
plan (one unit of work: a worker holds one shard's dance rows at a time), which the pipeline
hands to :meth:`YouTube8MBuilder.read_features`. Pseudo ids are not YouTube ids:
``youtube_id`` is null and ``group`` is the pseudo id.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from dance_aggregate.bounds import bounded
from dance_aggregate.builders.annotations import INVALID_ID, per_record, read_csv, shown
from dance_aggregate.builders.base import SourceBuilder, SourceOptions, layout_from_doc
from dance_aggregate.builders.youtube8m.tfrecord import parse_record, read_records
from dance_aggregate.builders.youtube8m.vocabulary import IndexSet, index_runs
from dance_aggregate.errors import AnnotationError, RecordError
from dance_aggregate.files.walk import walk_files
from dance_aggregate.records import ClipRecord, Exclusion, FeatureShard, Plan, Produced
from dance_aggregate.taxonomy import NOT_DANCE, UNKNOWN_CLASS, normalize_label

logger = logging.getLogger(__name__)

_MODULE_DOC = __doc__
_SPLIT_PREFIXES = (("train", "train"), ("validate", "validation"), ("test", "test"))
_RGB_SIZE, _AUDIO_SIZE = 1024, 128
_VOCAB_COLUMNS = ("Index", "TrainVideoCount", "Name")
#: A pseudo id: short base64url text (4 characters in the 2018 release).
_PSEUDO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_INT = re.compile(r"-?[0-9]{1,18}")
# By-rule reasons counted per shard (one report line each, with the count).
_NOT_DANCE, _UNLABELLED, _OTHER_LEVEL, _UNKNOWN = NOT_DANCE, "unlabelled", "other feature level", UNKNOWN_CLASS


@dataclass
class YouTube8MOptions(SourceOptions):
    """Options of the ``youtube8m`` config.

    Attributes:
        frame_features: Keep the per-second features of frame-level records (off: only
            the labels and ids of frame-level videos are kept, ``frame_*`` null).
        level: ``any`` (default), ``video`` or ``frame``: read only shards of that level
            (told from each shard's first record; shards of the other level are skipped,
            stray records of the other level inside a shard are excluded and counted).
            The two levels of the real release share pseudo ids, so a data dir holding
            both should be built with one level (the build warns); ``both`` reads both
            without the warning, for trees whose ids are known not to collide.
    """

    frame_features: bool = True
    level: str = bounded("any", choices=("any", "both", "video", "frame"))


def shard_split(name: str) -> str | None:
    """The split of a shard from its file name (``validate0026.tfrecord`` -> ``validation``)."""
    lower = name.lower()
    for prefix, split in _SPLIT_PREFIXES:
        if lower.startswith(prefix):
            return split
    return None


def shard_level(path: Path) -> str | None:
    """``video`` or ``frame`` from a shard's first readable record (``None``: none readable)."""
    for raw in read_records(path):
        try:
            return "frame" if parse_record(raw.data).is_sequence else "video"
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class Entity:
    """One dance entity of the vocabulary, with its canonical mapping."""

    index: int
    name: str
    train_count: int
    label: str
    family: str
    umbrella: bool


class YouTube8MBuilder(SourceBuilder):
    """Builds the ``youtube8m`` config (features, no pixels) from TFRecord shards."""

    source = "youtube8m"
    config_name = "youtube8m"
    layout = layout_from_doc(_MODULE_DOC)
    Options = YouTube8MOptions
    record_noun = "tfrecord"  # one plan record is one TFRecord file (a bar of "shards" would read as output shards)

    # -- plan -------------------------------------------------------------------------------
    def plan(self) -> Plan:
        """One record per shard (its videos are only known after reading it)."""
        root = self.data_dir
        if not root.is_dir():
            raise self.layout_error(f"--data-dir {root} is not a folder")
        vocab = root / "vocabulary.csv"
        if not vocab.is_file():
            raise self.layout_error(f"no vocabulary.csv in {root}")
        entities, known = self.read_vocabulary(vocab)
        shards = sorted(walk_files(root, (".tfrecord",)))  # linked sub-folders too
        if not shards:
            raise self.layout_error(f"no *.tfrecord shards below {root}")
        records: list[ClipRecord] = []
        exclusions: list[Exclusion] = []
        table = [[e.index, e.name, e.train_count, e.label, e.family, e.umbrella] for e in entities]
        want = self.options.level
        levels: dict[str, int] = {"video": 0, "frame": 0}
        skipped = 0
        for shard in shards:
            rel = shard.relative_to(root).as_posix()
            try:
                level = shard_level(shard)
            except OSError as exc:
                exclusions.append(Exclusion(f"youtube8m-shard/{rel}", "unreadable shard", f"{shard}: {exc}"))
                continue
            if level is not None:
                levels[level] += 1
                if want in ("video", "frame") and level != want:
                    skipped += 1
                    continue
            out = _shard_record(shard, rel, table, known)
            (records if isinstance(out, ClipRecord) else exclusions).append(out)
        if skipped:
            logger.info("youtube8m: %d shards of the other level skipped (level=%s)", skipped, want)
        if want == "any" and levels["video"] and levels["frame"]:
            logger.warning(
                "youtube8m: %s holds video-level (%d shards) and frame-level (%d shards) records; the release's "
                "two levels share pseudo ids, so a video may appear twice. Build one level: "
                "dance-aggregate build youtube8m --data-dir youtube8m=%s -o youtube8m.level=frame (or video)",
                root,
                levels["video"],
                levels["frame"],
                root,
            )
        logger.info("youtube8m: %d shards, %d dance entities in the vocabulary", len(records), len(entities))
        return Plan(records=records, exclusions=exclusions)

    def dance_entities(self, vocabulary: Path) -> list[Entity]:
        """The vocabulary's dance entities (crosswalk keys are entity names).

        Raises:
            AnnotationError: when the file lacks the vocabulary columns.
        """
        return self.read_vocabulary(vocabulary)[0]

    def read_vocabulary(self, vocabulary: Path) -> tuple[list[Entity], list[list[int]]]:
        """The vocabulary's dance entities, and its label indices (the classes) as sorted
        ``[first, last]`` runs (``[[0, 3861]]`` for the 2018 release).

        Raises:
            AnnotationError: when the file lacks the vocabulary columns.
        """
        crosswalk = self.taxonomy.crosswalk("youtube8m")
        expected = f"the YouTube-8M vocabulary.csv ({', '.join(_VOCAB_COLUMNS)}, ...)"
        _, rows = read_csv(vocabulary, _VOCAB_COLUMNS, expected, quoted_newlines=True)
        if not rows:
            raise AnnotationError(f"{vocabulary}: a header and no entities; expected {expected} with 3,862 rows")
        out = []
        for row in rows:
            if row.error:
                raise AnnotationError(f"{vocabulary}: line {row.where}: {row.error}; expected {expected}")
            name = row.get("Name")
            mapping = self.taxonomy.map("youtube8m", name)
            if mapping is None:
                continue
            try:
                index, count = int(row.get("Index")), int(row.get("TrainVideoCount") or 0)
            except ValueError:
                raise AnnotationError(
                    f"{row.where}: Index {row.get('Index')!r} / TrainVideoCount "
                    f"{row.get('TrainVideoCount')!r} are not integers"
                ) from None
            if mapping.index is not None and mapping.index != index:
                logger.warning(
                    "%s: %r has index %d, the crosswalk expects %d (another vocabulary version?); "
                    "using the file's index",
                    vocabulary,
                    name,
                    index,
                    mapping.index,
                )
            label = self.taxonomy.label(mapping.label)
            out.append(Entity(index, name, count, label.id, label.family, label.umbrella))
        if not out:
            raise AnnotationError(
                f"{vocabulary}: none of the {len(crosswalk.labels)} dance entities of the crosswalk "
                f"({', '.join(sorted(crosswalk.labels)[:3])}, ...) is in its {len(rows)} rows; expected {expected}"
            )
        indices = {int(i) for i in ((row.get("Index") or "").strip() for row in rows) if _INT.fullmatch(i)}
        names_seen = {normalize_label(row.get("Name")) for row in rows}
        absent = [name for name in crosswalk.labels if normalize_label(name) not in names_seen]
        if absent:
            logger.warning(
                "%s: entities of the crosswalk not in this vocabulary (an older or trimmed vocabulary?): %s", vocabulary, ", ".join(absent)
            )
        return out, index_runs(indices)

    # -- read -------------------------------------------------------------------------------
    @staticmethod
    def read_features(shard_plan: FeatureShard, options: YouTube8MOptions) -> Produced:
        """Read one shard: a row per dance video, exclusions for the rest."""
        shard, rel, split = shard_plan.path, shard_plan.rel, shard_plan.context["split"]
        entities = {int(e[0]): Entity(*e) for e in shard_plan.context["entities"]}
        known = IndexSet(shard_plan.context.get("classes"))
        rows: list[dict[str, Any]] = []
        exclusions: list[Exclusion] = []
        problems: list = []
        read = 0
        counts: Counter[tuple[str, str | None]] = Counter()
        level = options.level
        for raw in read_records(shard, problems=problems):
            read += 1
            where = f"{shard}: record {raw.index} (byte {raw.offset})"
            out = per_record(partial(_video, raw.data, entities, known, where, options), f"youtube8m/{rel}#{raw.index}", where,
                             split)
            if isinstance(out, dict):
                rows.append(out)
            elif isinstance(out, Exclusion):
                exclusions.append(out)
            else:
                counts[out] += 1
        for p in problems:
            read += 1
            reason = "truncated shard" if p.kind == "truncated" else "corrupt record"
            exclusions.append(Exclusion(f"youtube8m/{rel}#{p.record}", reason, str(p), split))
            logger.warning("youtube8m: %s", p, extra={"clip": f"youtube8m/{rel}#{p.record}"})
        details = {
            _NOT_DANCE: f"videos of {rel} have no dance label",
            _UNLABELLED: f"videos of {rel} have no labels (the 2018 test partition is unlabelled)",
            _OTHER_LEVEL: f"records of {rel} are not {level}-level (option level={level})",
        }
        for (reason, label), n in sorted(counts.items(), key=lambda kv: (kv[0][0], int(kv[0][1] or 0))):
            if reason == _UNKNOWN:
                detail = (f"{n} videos of {rel} have no dance label and label index {label}, which is not in "
                          f"vocabulary.csv (another release's records, or a trimmed vocabulary?)")
                exclusions.append(Exclusion(f"youtube8m-shard/{rel}#{label}", reason, detail, split, label, count=n))
                continue
            exclusions.append(Exclusion(f"youtube8m-shard/{rel}", reason, f"{n} {details[reason]}", split, count=n))
        return Produced(rows, exclusions, read)

def _video(
    data: bytes, entities: dict[int, Entity], known: IndexSet, where: str, options: YouTube8MOptions
) -> dict[str, Any] | tuple[str, str | None]:
    """The row of one TFRecord record, or the by-rule reason it has none (not a dance
    class, an unknown class with its first unknown index, unlabelled, other feature level:
    counted per shard).

    Raises:
        RecordError: the record cannot be parsed, or its id is not a pseudo id.
    """
    try:
        parsed = parse_record(data)
    except ValueError as exc:
        raise RecordError(f"{where}: {exc}", "unreadable record") from None
    # "id" since the 2018 release; the 2017 (v1) records called it "video_id".
    ids = parsed.context.get("id", parsed.context.get("video_id"))
    if not isinstance(ids, list) or len(ids) != 1:
        raise RecordError(f"{where}: expected one 'id' bytes value, got {str(ids)[:60]}", "unreadable record")
    vid = ids[0].decode("utf-8", "replace")
    if not _PSEUDO_ID.fullmatch(vid):
        raise RecordError(f"{where}: id {shown(vid)} is not a pseudo id; expected 1-64 characters of "
                          f"A-Za-z0-9_-", INVALID_ID)
    level = options.level
    if level in ("video", "frame") and parsed.is_sequence != (level == "frame"):
        return _OTHER_LEVEL, None
    try:
        labels = [int(x) for x in parsed.context.get("labels", [])]
        if not labels:
            return _UNLABELLED, None
        dance = sorted(
            {entities[i] for i in labels if i in entities}, key=lambda e: (e.umbrella, e.train_count, e.index)
        )
        if not dance:
            unknown = [i for i in labels if not known(i)]
            # An index the vocabulary lacks may be a dance class we cannot see: never "not dance".
            return (_UNKNOWN, str(min(unknown))) if unknown else (_NOT_DANCE, None)
        return _row(vid, parsed, dance, options)
    except ValueError as exc:
        raise RecordError(f"{where}: {exc}", "unreadable record") from None

def _row(vid: str, parsed: Any, dance: list[Entity], options: YouTube8MOptions) -> dict[str, Any]:
    primary = dance[0]
    labels: list[str] = []
    for e in dance:
        if e.label not in labels:
            labels.append(e.label)
    row: dict[str, Any] = {
        "id": f"youtube8m/{vid}",
        "source": "youtube8m",
        "source_id": vid,
        "youtube_id": None,
        "label": primary.label,
        "labels": labels,
        "source_label": primary.name,
        "family": primary.family,
        "group": vid,
        "video": None,
        "audio": None,
        # The audio column holds no sound: the audio features are not audio (see module doc).
        "has_audio": False,
    }
    ctx = parsed.context
    if parsed.is_sequence:
        rgb = _frames(parsed.sequences.get("rgb", []), _RGB_SIZE, "rgb")
        audio = _frames(parsed.sequences.get("audio", []), _AUDIO_SIZE, "audio")
        n = rgb.shape[0]
        row.update(
            {
                "duration": float(n),
                "num_frames": n,
                "fps": 1.0,
                "frame_rgb": list(rgb) if options.frame_features else None,
                "frame_audio": list(audio) if options.frame_features else None,
            }
        )
    else:
        mean_rgb = _vector(ctx.get("mean_rgb"), _RGB_SIZE, "mean_rgb")
        mean_audio = _vector(ctx.get("mean_audio"), _AUDIO_SIZE, "mean_audio")
        row.update({"mean_rgb": mean_rgb, "mean_audio": mean_audio})
    return row




def _shard_record(shard: Path, rel: str, table: list[list[Any]], known: list[list[int]]) -> ClipRecord | Exclusion:
    """The plan record of one shard (its split from its name), or its exclusion."""
    split = shard_split(shard.name)
    if split is None:
        return Exclusion(
            f"youtube8m-shard/{rel}",
            "shard with unknown split",
            f"{shard}: name does not start with train, validate or test; shard not read",
        )
    return ClipRecord(
        id=f"youtube8m-shard/{rel}",
        source="youtube8m",
        source_id=rel,
        split=split,
        label="dance",
        source_label="",
        family="",
        group=rel,
        media=FeatureShard(str(shard), rel, {"split": split, "entities": table, "classes": known}),
    )


def _vector(value: Any, size: int, name: str) -> np.ndarray | None:
    if value is None or len(value) == 0:
        return None
    if not isinstance(value, np.ndarray) or value.dtype != np.float32 or value.shape != (size,):
        raise ValueError(f"{name}: expected {size} floats, got {getattr(value, 'shape', type(value))}")
    return value


def _frames(steps: list[bytes], size: int, name: str) -> np.ndarray:
    """Per-second quantised vectors -> a uint8 array (n, size), the bytes unchanged."""
    if not steps:
        return np.zeros((0, size), np.uint8)
    bad = [i for i, s in enumerate(steps) if len(s) != size]
    if bad:
        raise ValueError(f"{name}: second {bad[0]} has {len(steps[bad[0]])} bytes, expected {size}")
    return np.frombuffer(b"".join(steps), dtype=np.uint8).reshape(len(steps), size)
