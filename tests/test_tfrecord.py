"""The TFRecord reader: framing, CRCs, broken shards, Example/SequenceExample parsing."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import google_crc32c
import numpy as np
import pytest

from dance_aggregate.builders.youtube8m.tfrecord import (
    RecordProblem,
    dequantize,
    frame_record,
    make_example,
    make_sequence_example,
    masked_crc32c,
    parse_record,
    quantize,
    read_records,
    write_records,
)

DATA = Path(__file__).parent / "data" / "youtube8m"
REAL_SHARD = DATA / "validate0026.tfrecord"
REAL_RECORDS = 292


def _offsets(path: Path) -> list[int]:
    return [r.offset for r in read_records(path)]


def test_crc32c_reference_value() -> None:
    # The CRC-32C check value of the Castagnoli polynomial (RFC 3720, B.4).
    assert google_crc32c.value(b"123456789") == 0xE3069283
    header = struct.pack("<Q", 0)
    assert frame_record(b"")[8:12] == struct.pack("<I", masked_crc32c(header))


def test_real_shard_reads_whole_and_parses() -> None:
    problems: list[RecordProblem] = []
    records = list(read_records(REAL_SHARD, problems=problems))
    assert problems == []
    assert len(records) == REAL_RECORDS
    assert [r.index for r in records] == list(range(REAL_RECORDS))
    first = parse_record(records[0].data)
    assert not first.is_sequence
    assert first.context["id"] == [b"2taA"]
    assert first.context["labels"].tolist() == [0, 1, 27]
    assert first.context["mean_rgb"].dtype == np.float32 and first.context["mean_rgb"].shape == (1024,)
    assert first.context["mean_audio"].shape == (128,)
    ids = {parse_record(r.data).context["id"][0] for r in records}
    assert len(ids) == REAL_RECORDS and all(len(i) == 4 for i in ids)


def test_write_then_read_both_levels(tmp_path: Path) -> None:
    rgb = np.arange(3 * 1024, dtype=np.uint32).reshape(3, 1024) % 256
    ex = make_example({"id": b"ab12", "labels": [8, 383], "mean_rgb": np.linspace(-1, 1, 1024)})
    seq = make_sequence_example(
        {"id": b"cd34", "labels": [206]},
        {"rgb": [r.astype(np.uint8).tobytes() for r in rgb], "audio": [bytes([7]) * 128] * 3},
    )
    path = tmp_path / "train0000.tfrecord"
    assert write_records(path, [ex, seq]) == 2
    a, b = (parse_record(r.data) for r in read_records(path))
    assert not a.is_sequence and a.context["labels"].tolist() == [8, 383]
    np.testing.assert_allclose(a.context["mean_rgb"], np.linspace(-1, 1, 1024).astype(np.float32))
    assert b.is_sequence and b.context["id"] == [b"cd34"]
    assert [len(s) for s in b.sequences["rgb"]] == [1024] * 3
    assert np.frombuffer(b.sequences["rgb"][1], np.uint8).tolist() == rgb[1].tolist()


def _corrupt(tmp_path: Path, at: int) -> Path:
    path = tmp_path / "validate0026.tfrecord"
    shutil.copyfile(REAL_SHARD, path)
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def test_data_crc_error_skips_one_record(tmp_path: Path) -> None:
    offsets = _offsets(REAL_SHARD)
    path = _corrupt(tmp_path, offsets[5] + 12 + 100)
    problems: list[RecordProblem] = []
    records = list(read_records(path, problems=problems))
    assert len(records) == REAL_RECORDS - 1
    assert [(p.record, p.offset, p.kind) for p in problems] == [(5, offsets[5], "data crc")]
    assert "record 5" in str(problems[0]) and str(path) in str(problems[0])
    assert 5 not in [r.index for r in records] and records[-1].index == REAL_RECORDS - 1


def test_length_crc_error_resyncs_on_next_record(tmp_path: Path) -> None:
    offsets = _offsets(REAL_SHARD)
    path = _corrupt(tmp_path, offsets[10] + 2)
    problems: list[RecordProblem] = []
    records = list(read_records(path, problems=problems))
    assert [(p.record, p.kind) for p in problems] == [(10, "length crc")]
    assert f"resumes at byte {offsets[11]}" in problems[0].detail
    assert len(records) == REAL_RECORDS - 1
    assert records[10].offset == offsets[11]


def test_truncated_shard_keeps_what_precedes(tmp_path: Path) -> None:
    offsets = _offsets(REAL_SHARD)
    path = tmp_path / "validate0026.tfrecord"
    path.write_bytes(REAL_SHARD.read_bytes()[: offsets[200] + 500])
    problems: list[RecordProblem] = []
    records = list(read_records(path, problems=problems))
    assert len(records) == 200
    assert [(p.record, p.kind) for p in problems] == [(200, "truncated")]


def test_garbage_is_not_a_record(tmp_path: Path) -> None:
    path = tmp_path / "x.tfrecord"
    path.write_bytes(b"this is not a tfrecord file at all, just text" * 3)
    problems: list[RecordProblem] = []
    assert list(read_records(path, problems=problems)) == []
    assert problems and problems[0].kind == "length crc"
    with pytest.raises(ValueError, match="not a tf.train"):
        parse_record(b"\xff\xff\xff")


def test_dequantize_matches_starter_code_formula() -> None:
    q = np.arange(256, dtype=np.uint8)
    expected = q.astype(np.float64) * (4.0 / 255.0) + (4.0 / 512.0 - 2.0)
    out = dequantize(q)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert quantize(out).tolist() == q.tolist()
