"""TFRecord files and ``tf.train.Example`` / ``SequenceExample`` without TensorFlow.

A TFRecord file is a sequence of records, each framed as::

    uint64 length (little endian)
    uint32 masked_crc32c(length)
    bytes  data[length]
    uint32 masked_crc32c(data)

:func:`read_records` checks both CRCs (CRC32C from ``google-crc32c``, Google's C
implementation) and never stops at the first problem: a record whose data CRC fails is
reported and skipped (its length was trustworthy, so the next record is found); a length
whose CRC fails makes the reader scan forward for the next valid frame; a truncated tail
is reported. Every problem names the file, the record number and the byte offset.

The messages are parsed with the ``protobuf`` runtime, using message classes built here
from a descriptor equivalent to TensorFlow's ``feature.proto`` and ``example.proto`` (the
wire format is what matters: field numbers and types are the same), so no generated code
and no TensorFlow are needed. An ``Example`` is wire-compatible with the ``context`` part
of a ``SequenceExample``, so every record is parsed as a ``SequenceExample``: video-level
records have only a context, frame-level ones also have ``feature_lists``.

:func:`write_records` writes correctly framed files (the sample and the tests use it).
"""

from __future__ import annotations

import logging
import mmap
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import google_crc32c
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from dance_aggregate.quantize import QUANT_MAX, QUANT_MIN, dequantize, quantize  # noqa: F401 - the release's quantisation

logger = logging.getLogger(__name__)

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")


def masked_crc32c(data: bytes) -> int:
    """The CRC32C of ``data`` masked the way TFRecord stores it."""
    crc = google_crc32c.value(bytes(data))
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


# -- framing ---------------------------------------------------------------------------------
@dataclass
class RecordProblem:
    """A record that could not be read.

    Attributes:
        path: The file.
        record: Record number (0-based) in the file, counting the bad one.
        offset: Byte offset of the record's frame.
        kind: ``data crc``, ``length crc``, ``truncated`` or ``parse``.
        detail: What was seen and what happened next.
    """

    path: str
    record: int
    offset: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: record {self.record} (byte {self.offset}): {self.kind}: {self.detail}"


@dataclass
class RawRecord:
    """One framed record: its number, byte offset and payload."""

    index: int
    offset: int
    data: bytes


def read_records(
    path: str | Path, *, check_crc: bool = True, problems: list[RecordProblem] | None = None
) -> Iterator[RawRecord]:
    """Yield the records of a TFRecord file, reporting broken ones instead of stopping.

    Args:
        path: An uncompressed TFRecord file.
        check_crc: Verify the length and data CRCs.
        problems: Where to append a :class:`RecordProblem` for every record that cannot be
            read (a bad record is counted in the numbering and skipped).

    Yields:
        The readable records, in file order.
    """
    path = Path(path)
    sink = problems if problems is not None else []
    with path.open("rb") as f:
        size = path.stat().st_size
        if size == 0:
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            yield from _iter_frames(mm, size, str(path), check_crc, sink)


def _iter_frames(
    mm: mmap.mmap, size: int, name: str, check_crc: bool, problems: list[RecordProblem]
) -> Iterator[RawRecord]:
    pos = 0
    index = 0
    while pos < size:
        if size - pos < _HEADER.size:
            problems.append(RecordProblem(name, index, pos, "truncated", f"{size - pos} bytes left, a header needs 12"))
            return
        length, length_crc = _HEADER.unpack_from(mm, pos)
        if check_crc and masked_crc32c(mm[pos : pos + 8]) != length_crc:
            nxt = _resync(mm, pos + 1, size)
            skipped = (nxt if nxt is not None else size) - pos
            problems.append(
                RecordProblem(
                    name,
                    index,
                    pos,
                    "length crc",
                    f"length field CRC mismatch; {skipped} bytes skipped"
                    + (f", reading resumes at byte {nxt}" if nxt is not None else ", no valid record after it"),
                )
            )
            index += 1
            if nxt is None:
                return
            pos = nxt
            continue
        end = pos + _HEADER.size + length + _FOOTER.size
        if end > size:
            problems.append(
                RecordProblem(
                    name, index, pos, "truncated", f"record of {length} bytes ends at byte {end}, file has {size}"
                )
            )
            return
        data = mm[pos + _HEADER.size : pos + _HEADER.size + length]
        (data_crc,) = _FOOTER.unpack_from(mm, end - _FOOTER.size)
        if check_crc and masked_crc32c(data) != data_crc:
            problems.append(
                RecordProblem(name, index, pos, "data crc", f"data CRC mismatch in a {length}-byte record; skipped")
            )
        else:
            yield RawRecord(index, pos, data)
        index += 1
        pos = end


def _resync(mm: mmap.mmap, start: int, size: int) -> int | None:
    """The offset of the next frame whose length CRC and data CRC both check out."""
    for pos in range(start, size - _HEADER.size - _FOOTER.size + 1):
        length, length_crc = _HEADER.unpack_from(mm, pos)
        end = pos + _HEADER.size + length + _FOOTER.size
        if end > size or masked_crc32c(mm[pos : pos + 8]) != length_crc:
            continue
        (data_crc,) = _FOOTER.unpack_from(mm, end - _FOOTER.size)
        if masked_crc32c(mm[pos + _HEADER.size : end - _FOOTER.size]) == data_crc:
            return pos
    return None


def frame_record(data: bytes) -> bytes:
    """One record framed for a TFRecord file."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


def write_records(target: str | Path | BinaryIO, records: Iterable[bytes]) -> int:
    """Write serialized records as a TFRecord file; returns the number written."""
    n = 0
    if isinstance(target, (str, Path)):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with Path(target).open("wb") as f:
            return write_records(f, records)
    for data in records:
        target.write(frame_record(data))
        n += 1
    return n


# -- messages --------------------------------------------------------------------------------
def _build_messages() -> dict[str, Any]:
    """Message classes equivalent to tensorflow/core/example/{feature,example}.proto."""
    fdp = descriptor_pb2.FieldDescriptorProto
    fp = descriptor_pb2.FileDescriptorProto(
        name="dance_aggregate/tf_example.proto", package="tensorflow", syntax="proto3"
    )

    def msg(name: str, fields: list[tuple[str, int, int, int, str | None]]) -> descriptor_pb2.DescriptorProto:
        m = fp.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name
        return m

    rep, opt = fdp.LABEL_REPEATED, fdp.LABEL_OPTIONAL
    msg("BytesList", [("value", 1, fdp.TYPE_BYTES, rep, None)])
    msg("FloatList", [("value", 1, fdp.TYPE_FLOAT, rep, None)])
    msg("Int64List", [("value", 1, fdp.TYPE_INT64, rep, None)])
    feature = msg(
        "Feature",
        [
            ("bytes_list", 1, fdp.TYPE_MESSAGE, opt, ".tensorflow.BytesList"),
            ("float_list", 2, fdp.TYPE_MESSAGE, opt, ".tensorflow.FloatList"),
            ("int64_list", 3, fdp.TYPE_MESSAGE, opt, ".tensorflow.Int64List"),
        ],
    )
    feature.oneof_decl.add(name="kind")
    for f in feature.field:
        f.oneof_index = 0

    def map_message(name: str, field_name: str, value_type: str) -> None:
        m = msg(name, [(field_name, 1, fdp.TYPE_MESSAGE, rep, f".tensorflow.{name}.{_entry(field_name)}")])
        entry = m.nested_type.add(name=_entry(field_name))
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=fdp.TYPE_STRING, label=opt)
        entry.field.add(name="value", number=2, type=fdp.TYPE_MESSAGE, label=opt, type_name=value_type)

    map_message("Features", "feature", ".tensorflow.Feature")
    msg("FeatureList", [("feature", 1, fdp.TYPE_MESSAGE, rep, ".tensorflow.Feature")])
    map_message("FeatureLists", "feature_list", ".tensorflow.FeatureList")
    msg("Example", [("features", 1, fdp.TYPE_MESSAGE, opt, ".tensorflow.Features")])
    msg(
        "SequenceExample",
        [
            ("context", 1, fdp.TYPE_MESSAGE, opt, ".tensorflow.Features"),
            ("feature_lists", 2, fdp.TYPE_MESSAGE, opt, ".tensorflow.FeatureLists"),
        ],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fp)
    return {
        m.name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.{m.name}"))
        for m in fp.message_type
    }


def _entry(field_name: str) -> str:
    return "".join(p.capitalize() for p in field_name.split("_")) + "Entry"


_MESSAGES = _build_messages()
#: ``tf.train.Example`` (wire-compatible message class).
Example = _MESSAGES["Example"]
#: ``tf.train.SequenceExample`` (wire-compatible message class).
SequenceExample = _MESSAGES["SequenceExample"]
#: ``tf.train.Feature``.
Feature = _MESSAGES["Feature"]


def feature_value(feature: Any) -> np.ndarray | list[bytes]:
    """The values of one ``Feature``: float32 or int64 array, or a list of bytes."""
    kind = feature.WhichOneof("kind")
    if kind == "float_list":
        return np.array(feature.float_list.value, dtype=np.float32)
    if kind == "int64_list":
        return np.array(feature.int64_list.value, dtype=np.int64)
    if kind == "bytes_list":
        return list(feature.bytes_list.value)
    return []


@dataclass
class ParsedRecord:
    """A parsed ``Example`` or ``SequenceExample``.

    Attributes:
        context: Feature name -> values (the ``Example`` features or the sequence context).
        sequences: Feature-list name -> list of per-step byte strings (frame level); empty
            for an ``Example``.
    """

    context: dict[str, Any]
    sequences: dict[str, list[bytes]]

    @property
    def is_sequence(self) -> bool:
        """Whether the record carries feature lists (a frame-level ``SequenceExample``)."""
        return bool(self.sequences)


def parse_record(data: bytes) -> ParsedRecord:
    """Parse serialized ``Example`` or ``SequenceExample`` bytes.

    Raises:
        ValueError: when the bytes are not a valid message.
    """
    msg = SequenceExample()
    try:
        msg.ParseFromString(data)
    except Exception as exc:  # noqa: BLE001 - the runtime raises DecodeError or RuntimeError
        raise ValueError(f"not a tf.train.Example/SequenceExample ({exc})") from exc
    context = {k: feature_value(v) for k, v in msg.context.feature.items()}
    sequences = {}
    for name, flist in msg.feature_lists.feature_list.items():
        steps = []
        for f in flist.feature:
            values = f.bytes_list.value
            steps.append(values[0] if len(values) == 1 else b"".join(values))
        sequences[name] = steps
    return ParsedRecord(context, sequences)


def make_example(features: dict[str, Any]) -> bytes:
    """Serialize a ``tf.train.Example`` from ``name -> values``.

    Values: ``bytes``/``str`` or a list of them (bytes list), float arrays (float list),
    integer arrays or lists (int64 list).
    """
    ex = Example()
    _fill_features(ex.features, features)
    return ex.SerializeToString()


def make_sequence_example(context: dict[str, Any], sequences: dict[str, list[bytes]]) -> bytes:
    """Serialize a ``tf.train.SequenceExample``: ``context`` as in :func:`make_example`,
    ``sequences`` maps a feature-list name to one byte string per step."""
    ex = SequenceExample()
    _fill_features(ex.context, context)
    for name, steps in sequences.items():
        flist = ex.feature_lists.feature_list[name]
        for step in steps:
            flist.feature.add().bytes_list.value.append(bytes(step))
    return ex.SerializeToString()


def _fill_features(target: Any, features: dict[str, Any]) -> None:
    for name, value in features.items():
        feat = target.feature[name]
        if isinstance(value, (bytes, str)):
            value = [value]
        arr = value if isinstance(value, np.ndarray) else None
        if arr is None and value and isinstance(value[0], (bytes, str)):
            feat.bytes_list.value.extend(v.encode() if isinstance(v, str) else v for v in value)
            continue
        arr = np.asarray(value)
        if arr.dtype.kind == "f":
            feat.float_list.value.extend(arr.astype(np.float32).tolist())
        else:
            feat.int64_list.value.extend(arr.astype(np.int64).tolist())
