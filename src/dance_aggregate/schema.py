"""The shared ``datasets.Features`` of every config, and rows built to match it.

The ``source`` ClassLabel lists the registered sources in registry order, the ``label``
ClassLabel the labels of the taxonomy in file order (both append only: published contracts).

Every config (one per source, ``all``, ``*_motion``) has exactly these features, so any
two configs concatenate and the Hub viewer shows the same columns everywhere. Columns a
source cannot fill are null (``youtube_id`` for UCF101, ``video``/``audio`` for
YouTube-8M, the feature columns for pixel sources).

Rows are turned into Arrow with :func:`rows_to_table`, never through
``datasets.Audio.encode_example`` (which imports torch), so a build runs without torch.
:func:`rows_to_table` is also where every row's ``labels`` gets the ancestors of its labels in
the label tree (:meth:`~dance_aggregate.taxonomy.Taxonomy.with_ancestors`), once for every
source.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from datasets import Audio, ClassLabel, Features, List, Value, Video

from dance_aggregate.builders import registry
from dance_aggregate.records import SPLITS
from dance_aggregate.taxonomy import load_taxonomy

__all__ = ["COLUMNS", "HASH_HEX_DIGITS", "NO_LABEL", "SPLITS", "arrow_schema", "decode_frame_hashes", "decode_id_list",
           "decode_labels", "empty_row", "encode_frame_hashes", "encode_id_list", "encode_labels", "features",
           "rows_to_table", "source_names"]

#: Column documentation, rendered into the README and the dataset card.
COLUMNS: dict[str, str] = {
    "id": "Globally unique, stable id: `<source>/<source_id>` (e.g. `ucf101/SalsaSpin/v_SalsaSpin_g01_c01`).",
    "source": "Source dataset (ClassLabel, one name per source).",
    "source_id": "The clip's id in its source (UCF101: its path in the split lists without `.avi`; a YouTube id "
    "with its segment; a file stem; a pseudo id).",
    "youtube_id": "YouTube video id, null where unknown (UCF101, YouTube-8M pseudo ids).",
    "start_time": "Start of the clip in the original video, seconds; null where unknown.",
    "end_time": "End of the clip in the original video, seconds; null where unknown.",
    "label": "Canonical dance label (ClassLabel; the index order is part of the published contract).",
    "labels": "The clip's label and all its ancestors in the label tree, nearest first (`[salsa, latin_dance, dance]`), "
    "then any other label of multi-label sources (YouTube-8M) with theirs, padded with `-1` to one entry per label "
    "name (a fixed-length list: the Hub viewer's statistics fail on variable lists; "
    "`[i for i in labels if i >= 0]` or `dance_aggregate.schema.decode_labels` gives the labels); train at an "
    "umbrella level by picking `ballroom_dance` / `latin_dance` from it.",
    "source_label": "The source's own label string, unchanged.",
    "family": "Family of the canonical label (ballroom, latin, street, theatrical, folk, ...).",
    "group": "The unit that never straddles splits: UCF101 group (`SalsaSpin_g07`), otherwise the YouTube id.",
    "duplicate_ids": "Ids of the other copies of this clip found by deduplication, separated by single spaces (a space "
    "or `%` inside an id is written `%20` / `%25`; `dance_aggregate.schema.decode_id_list` gives the list); empty "
    "when unique.",
    "pretraining_overlap": "Names of the `--pretraining-ids` sets (e.g. Kinetics-400 train) that contain this clip's "
    "YouTube video, separated by single spaces: empty when in none; null when no set was given or the clip has no "
    "YouTube id.",
    "video": "H.264 + AAC MP4 (`+faststart`), browser-playable (no audio track when `has_audio` is false); null for "
    "feature-only sources.",
    "audio": "The clip's audio as FLAC; null when `has_audio` is false.",
    "has_audio": "Whether the `audio` column holds the clip's sound: false when the source clip has no audio track, or "
    "one of digital silence (every sample at most -96.3 dBFS, as YouTube leaves music it muted; counted in the build's "
    "reports), and for YouTube-8M rows, which carry audio features instead of sound.",
    "duration": "Clip duration in seconds.",
    "fps": "Frames per second of the stored video.",
    "width": "Width of the stored video in pixels.",
    "height": "Height of the stored video in pixels.",
    "num_frames": "Number of frames of the stored video.",
    "frame_hashes": "64-bit perceptual hashes of the frames, 4 per second, used by dedup: each as 16 hex digits, "
    "separated by spaces (`0000000000000000` for blank windows; `[int(h, 16) for h in s.split()]` gives the integers); "
    "empty for feature-only sources.",
    "mean_rgb": "YouTube-8M video-level mean RGB feature (1024 floats); null elsewhere.",
    "mean_audio": "YouTube-8M video-level mean audio feature (128 floats); null elsewhere.",
    "frame_rgb": "YouTube-8M frame-level RGB features as the source stores them: one 1024-byte uint8 vector per "
    "second (floats: `dance_aggregate.training.features.dequantize`); null elsewhere.",
    "frame_audio": "YouTube-8M frame-level audio features as the source stores them: one 128-byte uint8 vector per "
    "second (dequantise like `frame_rgb`); null elsewhere.",
    "performance": "The filmed performance a row shows, for sources that film takes with several cameras (the AIST "
    "Dance Video Database): `sequence` (the take: every camera view of it shares it, and its `group`; the AIST++ "
    "sequence name), `situation` (`sBM` basic, `sFM` advanced, `sGR` group, `sSH`/`sCY`/`sBT` showcase, cypher, "
    "battle), `camera` (`c01`...), `dancers` (`[\"d04\"]`), `music` (`mBR0`) and `choreography` (`ch01`); "
    "null for other sources.",
    "official_split": "The split the row's source gives it (its official split, or its documented rule), before the "
    "split rule moves duplicates or `--resplit` re-splits `all`: evaluate on a source's own test set with it, to "
    "compare with published results.",
}


def source_names() -> tuple[str, ...]:
    """The names of the ``source`` ClassLabel: every registered source, in registry order."""
    return registry.source_names()


def features() -> Features:
    """The ``datasets.Features`` shared by every config."""
    return _features(registry.source_names(), tuple(load_taxonomy().names))


@functools.lru_cache(maxsize=4)
def _features(sources: tuple[str, ...], label_names: tuple[str, ...]) -> Features:
    labels = ClassLabel(names=list(label_names))
    return Features(
        {
            "id": Value("string"),
            "source": ClassLabel(names=list(sources)),
            "source_id": Value("string"),
            "youtube_id": Value("string"),
            "start_time": Value("float64"),
            "end_time": Value("float64"),
            "label": labels,
            # Fixed length (one entry per label name, padded with NO_LABEL): the Hub viewer's
            # statistics job fails a split whose list lengths take two adjacent values
            # (hub/viewer_stats.py), and skips fixed-length lists.
            "labels": List(labels, length=len(label_names)),
            "source_label": Value("string"),
            "family": Value("string"),
            "group": Value("string"),
            # Text, not list<string>, for the same reason (decode_id_list gives the lists).
            "duplicate_ids": Value("string"),
            "pretraining_overlap": Value("string"),
            "video": Video(),
            "audio": Audio(),
            "has_audio": Value("bool"),
            "duration": Value("float64"),
            "fps": Value("float64"),
            "width": Value("int32"),
            "height": Value("int32"),
            "num_frames": Value("int32"),
            # Hex text, not list<uint64>: exact in JSON (the viewer's JavaScript rounds integers
            # above 2**53) and never trips the viewer's statistics (hub/viewer_stats.py).
            "frame_hashes": Value("string"),
            "mean_rgb": List(Value("float32")),
            "mean_audio": List(Value("float32")),
            # As the source stores them (uint8-quantised, one vector per second): a quarter of
            # the float32 bytes; training.features.dequantize gives the starter code's floats.
            "frame_rgb": List(List(Value("uint8"))),
            "frame_audio": List(List(Value("uint8"))),
            # Sources that film performances (several cameras, a piece of music, a choreography).
            "performance": {
                "sequence": Value("string"),
                "situation": Value("string"),
                "camera": Value("string"),
                "dancers": List(Value("string")),
                "music": Value("string"),
                "choreography": Value("string"),
            },
            "official_split": Value("string"),
        }
    )


def arrow_schema(feats: Features | None = None) -> pa.Schema:
    """Arrow schema of the shared features (or of ``feats``), with the ``datasets`` metadata
    that makes ``load_dataset`` restore ``Video``/``Audio``/``ClassLabel`` from Parquet."""
    return (feats or features()).arrow_schema


def empty_row() -> dict[str, Any]:
    """A row with every column null (lists empty where the column is a list)."""
    row: dict[str, Any] = {name: None for name in features()}
    row["labels"] = []
    row["duplicate_ids"] = ""
    row["frame_hashes"] = ""
    return row


#: Hex digits of one stored frame hash.
HASH_HEX_DIGITS = 16


def encode_frame_hashes(hashes: Sequence[int] | str | None) -> str:
    """The stored text of a clip's 64-bit frame hashes: 16 lowercase hex digits each (big-endian,
    zero-padded), separated by single spaces, in time order; ``""`` for none.

    Raises:
        ValueError: a hash is not an integer in ``[0, 2**64)``.
    """
    if hashes is None:
        return ""
    if isinstance(hashes, str):
        decode_frame_hashes(hashes)  # already text: stored as given once it parses
        return hashes
    out = []
    for h in hashes:
        value = int(h)
        if not 0 <= value < 2**64 or value != h:
            raise ValueError(f"frame hash {h!r} is not a 64-bit unsigned integer; hashes come from "
                             "dance_aggregate.media.fingerprint and are in [0, 2**64)")
        out.append(f"{value:016x}")
    return " ".join(out)


def decode_frame_hashes(text: str | Sequence[int] | None) -> np.ndarray:
    """The ``uint64`` hashes of a stored ``frame_hashes`` value (also accepts the integers).

    Raises:
        ValueError: ``text`` is not space-separated 16-digit hex.
    """
    if text is None:
        return np.zeros(0, dtype=np.uint64)
    if not isinstance(text, str):
        return np.asarray(text, dtype=np.uint64)
    words = text.split()
    if any(len(w) != HASH_HEX_DIGITS for w in words):
        raise ValueError(f"frame_hashes value {text[:60]!r} is not space-separated {HASH_HEX_DIGITS}-digit hex; "
                         "rebuild the config to rewrite it")
    try:
        raw = bytes.fromhex("".join(words))
    except ValueError as error:
        raise ValueError(f"frame_hashes value {text[:60]!r} holds a non-hex character ({error}); "
                         "rebuild the config to rewrite it") from error
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


#: The ``labels`` entry after a row's last label.
NO_LABEL = -1

_ESCAPED = re.compile(r"[% \t\n\r\x0b\x0c]")
_ESCAPE = re.compile(r"%([0-9A-F]{2})")


def encode_id_list(ids: Sequence[str] | str | None) -> str | None:
    """The stored text of a list of ids or names (``duplicate_ids``, ``pretraining_overlap``):
    joined by single spaces, each id's ``%`` and ASCII whitespace written ``%XX`` (so ids with
    spaces survive the round trip); ``""`` for an empty list, ``None`` for ``None``."""
    if ids is None or isinstance(ids, str):
        return ids
    return " ".join(_ESCAPED.sub(lambda m: f"%{ord(m.group()):02X}", i) for i in ids)


def decode_id_list(text: str | Sequence[str] | None) -> list[str] | None:
    """The ids of a stored ``duplicate_ids`` / ``pretraining_overlap`` value (``None`` stays
    ``None``; a list, as folders built before the text form hold, is returned as a list)."""
    if text is None:
        return None
    if not isinstance(text, str):
        return list(text)
    return [_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), w) for w in text.split(" ")] if text else []


def decode_labels(labels: Sequence[int | None] | None) -> list[int]:
    """A row's ``labels`` without the padding: its label indices, nearest first."""
    return [i for i in labels or [] if i is not None and i >= 0]


def encode_labels(row: dict[str, Any], feats: Features | None = None) -> dict[str, Any]:
    """Turn label ids / source names into ClassLabel indices (in place copy); ``labels``
    gets the ancestors of each of its labels in the label tree, padded with
    :data:`NO_LABEL` to the feature's fixed length."""
    feats = feats or features()
    names = feats["label"].names
    out = dict(row)
    if isinstance(out.get("source"), str):
        out["source"] = feats["source"].str2int(out["source"])
    if isinstance(out.get("label"), str):
        out["label"] = feats["label"].str2int(out["label"])
    given = [names[x] if isinstance(x, int) else x for x in (out.get("labels") or []) if x != NO_LABEL]
    if not given and out.get("label") is not None:
        given = [names[out["label"]]]
    indices = [feats["label"].str2int(x) for x in load_taxonomy().with_ancestors(given)]
    out["labels"] = indices + [NO_LABEL] * (len(names) - len(indices))
    return out


def rows_to_table(rows: list[dict[str, Any]], feats: Features | None = None) -> pa.Table:
    """Build an Arrow table in the shared schema (or ``feats``, the features a worker was
    handed) from plain rows.

    ``label``/``labels``/``source`` may be given as names or indices. ``video``/``audio``
    are ``{"bytes": ..., "path": ...}`` dicts or ``None``.
    """
    feats = feats or features()
    schema = feats.arrow_schema
    full = []
    for row in rows:
        r = empty_row()
        r.update(row)
        r["frame_hashes"] = encode_frame_hashes(r["frame_hashes"])
        r["duplicate_ids"] = encode_id_list(r["duplicate_ids"]) or ""
        r["pretraining_overlap"] = encode_id_list(r["pretraining_overlap"])
        full.append(encode_labels(r, feats))
    columns = {name: [r[name] for r in full] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)
