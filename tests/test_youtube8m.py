"""The youtube8m builder on the real vocabulary and shard, broken shards, both levels."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dance_aggregate.builders import registry
from dance_aggregate.builders.youtube8m import YouTube8MBuilder, YouTube8MOptions, shard_split
from dance_aggregate.builders.youtube8m.sample import make_sample as make_youtube8m
from dance_aggregate.builders.youtube8m.tfrecord import dequantize, parse_record, read_records
from dance_aggregate.output.folder import read_config
from dance_aggregate.pipeline.config import RunSettings, build_config
from dance_aggregate.schema import decode_labels, features
from dance_aggregate.training.features import dequantize as dequantize_cell
from dance_aggregate.training.features import frame_features
from tests.helpers_sample import expected_youtube8m, youtube8m_shards

DATA = Path(__file__).parent / "data" / "youtube8m"
#: The real 2018 vocabulary (all 3,862 rows; the long description columns dropped, which the
#: builder does not read; checked to give the same dance entities as the full file).
VOCAB = Path(__file__).parent / "data" / "labels" / "yt8m_vocabulary_names.csv"
#: Dance videos of the real shard (pseudo id -> dance label indices): see SOURCES.md.
REAL_DANCE = {"LDaA", "MgaA", "tCaA", "7xaA", "RzaA", "CzaA", "5GaA"}


@pytest.fixture
def real_dir(tmp_path: Path) -> Path:
    d = tmp_path / "yt8m"
    (d / "video").mkdir(parents=True)
    shutil.copyfile(VOCAB, d / "vocabulary.csv")
    shutil.copyfile(DATA / "validate0026.tfrecord", d / "video" / "validate0026.tfrecord")
    return d


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_youtube8m(tmp_path_factory.mktemp("sample")).data_dir


def _build(data_dir: Path, out: Path, **opts: str) -> object:
    builder = YouTube8MBuilder(data_dir, YouTube8MBuilder.parse_options(opts))
    return build_config(builder, RunSettings(output=out / "dance_aggregate", progress=False))


def test_registry_and_split_names() -> None:
    assert registry.get_config("youtube8m").builder is YouTube8MBuilder
    assert not registry.source("youtube8m").has_pixels and not registry.in_all("youtube8m")
    assert [
        shard_split(n) for n in ("train0001.tfrecord", "validate0026.tfrecord", "test0999.tfrecord", "x.tfrecord")
    ] == [
        "train",
        "validation",
        "test",
        None,
    ]
    with pytest.raises(ValueError, match="level"):
        YouTube8MOptions(level="segment")


def test_real_vocabulary_dance_entities(real_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    entities = YouTube8MBuilder(real_dir).dance_entities(real_dir / "vocabulary.csv")
    tax = YouTube8MBuilder(real_dir).taxonomy
    crosswalk = tax.crosswalk("youtube8m")
    dance = {name: m.index for name, m in crosswalk.labels.items() if tax.is_dance(m.label)}
    assert {e.name: e.index for e in entities} == dance
    assert {"Moshing", "Caporales", "Marinera", "Pizzica", "Para Para"} <= set(dance)
    assert "Marching band" in crosswalk.labels and "Marching band" not in dance  # mapped, not dance
    assert "not in this vocabulary" not in caplog.text and "crosswalk expects" not in caplog.text
    dance = next(e for e in entities if e.name == "Dance")
    assert (dance.index, dance.train_count, dance.umbrella) == (8, 181579, True)


def test_real_shard_build(real_dir: Path, tmp_path: Path) -> None:
    res = _build(real_dir, tmp_path)
    acc = res.accounting
    assert (acc.records_read, acc.rows_written, acc.excluded) == (292, 7, {"not a dance class": 285})
    table = read_config(tmp_path / "dance_aggregate", "youtube8m")["validation"]
    rows = {r["source_id"]: r for r in table.to_pylist()}
    assert set(rows) == REAL_DANCE
    names = features()["label"].names
    # 5GaA has Dance (181,579 training videos) and Ballroom dance (3,858): both umbrellas,
    # the rarer one is primary; the other is kept in labels.
    assert names[rows["5GaA"]["label"]] == "ballroom_dance"
    assert [names[i] for i in decode_labels(rows["5GaA"]["labels"])] == ["ballroom_dance", "dance"]
    assert rows["5GaA"]["source_label"] == "Ballroom dance"
    assert names[rows["LDaA"]["label"]] == "dance" and rows["LDaA"]["family"] == "umbrella"
    by_id = {
        parse_record(r.data).context["id"][0].decode(): parse_record(r.data)
        for r in read_records(real_dir / "video" / "validate0026.tfrecord")
    }
    r = rows["tCaA"]
    assert r["id"] == "youtube8m/tCaA" and r["group"] == "tCaA" and r["youtube_id"] is None
    assert r["video"] is None and r["audio"] is None and r["frame_rgb"] is None
    # has_audio says whether `audio` holds sound: never for YouTube-8M (features only).
    assert all(row["has_audio"] is False and row["audio"] is None for row in rows.values())
    np.testing.assert_array_equal(np.array(r["mean_rgb"], np.float32), by_id["tCaA"].context["mean_rgb"])
    np.testing.assert_array_equal(np.array(r["mean_audio"], np.float32), by_id["tCaA"].context["mean_audio"])


def test_corrupt_and_truncated_shards_are_reported_and_the_rest_read(real_dir: Path, tmp_path: Path) -> None:
    shard = real_dir / "video" / "validate0026.tfrecord"
    offsets = [r.offset for r in read_records(shard)]
    data = bytearray(shard.read_bytes())
    data[offsets[3] + 40] ^= 0x55
    (real_dir / "video" / "validate0027.tfrecord").write_bytes(bytes(data))
    (real_dir / "video" / "validate0028.tfrecord").write_bytes(shard.read_bytes()[: offsets[100] + 30])
    shard.unlink()
    res = _build(real_dir, tmp_path)
    acc = res.accounting
    assert acc.adds_up
    assert acc.records_read == 292 + 101
    assert acc.excluded["corrupt record"] == 1 and acc.excluded["truncated shard"] == 1
    csv_text = (tmp_path / "dance_aggregate" / "reports" / "youtube8m.excluded.csv").read_text()
    assert "youtube8m/video/validate0027.tfrecord#3" in csv_text and "record 3 (byte" in csv_text
    assert "youtube8m/video/validate0028.tfrecord#100" in csv_text


def test_sample_both_levels(sample_dir: Path, tmp_path: Path) -> None:
    res = _build(sample_dir, tmp_path)
    acc = res.accounting
    expected = expected_youtube8m(sample_dir)
    assert acc.rows_written == expected.rows_written and acc.excluded == expected.excluded
    tables = read_config(tmp_path / "dance_aggregate", "youtube8m")
    assert {split: t.num_rows for split, t in tables.items()} == expected.rows
    assert "test" not in tables  # the test shards are unlabelled, as in the 2018 release
    rows = {r["source_id"]: r for t in tables.values() for r in t.to_pylist()}
    names = features()["label"].names
    assert names[rows["aa03"]["label"]] == "ballet" and rows["aa03"]["source_label"] == "Classical ballet"
    assert names[rows["aa07"]["label"]] == "swing_dance"  # non-umbrella beats Latin dance and Dance
    # every label with its ancestors: swing_dance, its parent dance, then latin_dance
    assert [names[i] for i in decode_labels(rows["aa07"]["labels"])] == ["swing_dance", "dance", "latin_dance"]
    assert names[rows["fa01"]["label"]] == "irish_dance"
    frame = rows["fa01"]
    assert frame["mean_rgb"] is None and frame["num_frames"] == 5 and frame["duration"] == 5.0
    shard = sample_dir / "frame" / "train0000.tfrecord"
    parsed = parse_record(next(iter(read_records(shard))).data)
    raw = np.frombuffer(b"".join(parsed.sequences["rgb"]), np.uint8).reshape(-1, 1024)
    # Stored as the source has them: the uint8 bytes unchanged; the helper gives the floats.
    np.testing.assert_array_equal(np.array(frame["frame_rgb"], np.uint8), raw)
    np.testing.assert_array_equal(dequantize_cell(frame["frame_rgb"]), dequantize(raw))
    rgb, audio = frame_features(frame)
    assert rgb.dtype == np.float32 and rgb.shape == (5, 1024) and audio.shape == (5, 128)
    raw_audio = np.frombuffer(b"".join(parsed.sequences["audio"]), np.uint8).reshape(-1, 128)
    np.testing.assert_array_equal(audio, dequantize(raw_audio))
    assert frame["has_audio"] is False and frame["audio"] is None


def test_level_option(sample_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    YouTube8MBuilder(sample_dir).plan()
    assert "share pseudo ids" in caplog.text and "-o youtube8m.level=frame" in caplog.text
    caplog.clear()
    plan = YouTube8MBuilder(sample_dir, YouTube8MOptions(level="video")).plan()
    video_shards = youtube8m_shards(sample_dir, "video")
    assert len(video_shards) > 1  # one record of the plan per shard
    assert sorted(r.source_id for r in plan.records) == [p.relative_to(sample_dir).as_posix() for p in video_shards]
    assert "share pseudo ids" not in caplog.text
    acc = _build(sample_dir, tmp_path, level="frame").accounting
    expected = expected_youtube8m(sample_dir, "frame")
    assert (acc.records_read, acc.rows_written, acc.excluded) == (expected.records_read, expected.rows_written, expected.excluded)


def test_stray_record_of_other_level_is_counted(tmp_path: Path) -> None:
    from dance_aggregate.builders.youtube8m.sample import write_youtube8m_vocabulary, youtube8m_records
    from dance_aggregate.builders.youtube8m.tfrecord import write_records

    write_youtube8m_vocabulary(tmp_path / "yt" / "vocabulary.csv")
    mixed = youtube8m_records([("v001", [8])], frame_level=False) + youtube8m_records([("f001", [8])], frame_level=True)
    write_records(tmp_path / "yt" / "train0000.tfrecord", mixed)
    acc = _build(tmp_path / "yt", tmp_path, level="video").accounting
    assert (acc.records_read, acc.rows_written, acc.excluded) == (2, 1, {"other feature level": 1})


def test_layout_errors(tmp_path: Path) -> None:
    from dance_aggregate.errors import DataDirError

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataDirError, match="vocabulary.csv"):
        YouTube8MBuilder(tmp_path / "empty").plan()
    shutil.copyfile(VOCAB, tmp_path / "empty" / "vocabulary.csv")
    with pytest.raises(DataDirError, match=r"no \*.tfrecord"):
        YouTube8MBuilder(tmp_path / "empty").plan()


def test_load_dataset_and_stream(sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets import load_dataset

    from dance_aggregate.pipeline.build import finalize_folder

    _build(sample_dir, tmp_path)
    finalize_folder(tmp_path / "dance_aggregate")
    monkeypatch.chdir(tmp_path)
    ds = load_dataset("dance_aggregate", "youtube8m", cache_dir=str(tmp_path / "cache"))
    assert ds["train"].features == features()
    assert ds["train"].num_rows == expected_youtube8m(sample_dir).rows["train"]
    streamed = load_dataset("dance_aggregate", "youtube8m", streaming=True)["validation"]
    first = next(iter(streamed))
    assert first["video"] is None and len(first["mean_rgb"] or first["frame_rgb"][0]) == 1024
    parts = sorted((tmp_path / "dance_aggregate" / "data" / "youtube8m").glob("*.parquet"))
    assert pq.read_schema(parts[0]).field("frame_rgb").type.value_type.value_type == pa.uint8()
    # the card's dataset_info declares exactly the Parquet types (the viewer needs it)
    from dance_aggregate.hub.checks import check_card, check_shards

    folder = tmp_path / "dance_aggregate"
    assert check_card(folder).ok and check_shards(folder).ok, (check_card(folder), check_shards(folder))
    card = (folder / "README.md").read_text()
    frame_info = card.split("- name: frame_rgb", 1)[1].split("- name:", 1)[0]
    assert "list: uint8" in frame_info and "float32" not in frame_info
    # numpy format gives the (seconds, 1024) uint8 array; the helper the starter code's floats
    frame_row = next(r for r in ds["train"].with_format("numpy") if r["frame_rgb"] is not None)
    rgb, _ = frame_features(frame_row)
    assert rgb.dtype == np.float32 and rgb.shape[1] == 1024 and -2 < rgb.min() and rgb.max() <= 2 + 4 / 512


def test_rerun_resumes_per_shard(sample_dir: Path, tmp_path: Path) -> None:
    first = _build(sample_dir, tmp_path).accounting
    parts = sorted((tmp_path / "dance_aggregate" / ".work" / "parts" / "youtube8m").glob("*.json"))
    assert len(parts) == len(youtube8m_shards(sample_dir))  # one unit of work per shard
    stamps = [p.stat().st_mtime_ns for p in parts]
    again = _build(sample_dir, tmp_path).accounting
    assert again == first
    assert [p.stat().st_mtime_ns for p in parts] == stamps


def test_datasets_builder_api(sample_dir: Path, tmp_path: Path) -> None:
    from dance_aggregate.pipeline.hf_builder import DanceAggregate

    b = DanceAggregate(
        config_name="youtube8m", data_dir=str(sample_dir), cache_dir=str(tmp_path / "c"), dataset_name="dance_aggregate"
    )
    b.download_and_prepare()
    # The sample's test shard is unlabelled (as in the 2018 release), so that split is empty
    # and `datasets` refuses to load it: ask for the others by name.
    train, validation = b.as_dataset(split="train"), b.as_dataset(split="validation")
    expected = expected_youtube8m(sample_dir)
    assert (train.num_rows, validation.num_rows) == (expected.rows["train"], expected.rows["validation"])
    assert train.features == features()


def test_malformed_records_are_excluded_not_fatal(tmp_path: Path) -> None:
    from dance_aggregate.builders.youtube8m.sample import write_youtube8m_vocabulary
    from dance_aggregate.builders.youtube8m.tfrecord import make_example, write_records

    write_youtube8m_vocabulary(tmp_path / "yt" / "vocabulary.csv")
    good = make_example({"id": b"ok01", "labels": [206], "mean_rgb": np.zeros(1024), "mean_audio": np.zeros(128)})
    records = [
        good,
        make_example({"id": [1, 2], "labels": [8]}),  # id of the wrong type
        make_example({"id": b"sh01", "labels": [8], "mean_rgb": np.zeros(7)}),  # wrong feature size
        b"\x0a\x05garbage",  # not a message
    ]
    write_records(tmp_path / "yt" / "train0000.tfrecord", records)
    acc = _build(tmp_path / "yt", tmp_path).accounting
    assert (acc.records_read, acc.rows_written, acc.excluded) == (4, 1, {"unreadable record": 3})


def test_dequantize_helper_accepts_every_cell_form() -> None:
    rng = np.random.default_rng(0)
    q = rng.integers(0, 256, size=(3, 1024), dtype=np.uint8)
    want = dequantize(q)
    # the starter code's formula, in float32: x * 4/255 + (4/512 - 2)
    np.testing.assert_array_equal(want, q.astype(np.float32) * np.float32(4 / 255) + np.float32(4 / 512 - 2))
    for cell in (q, q.tolist(), [r.tobytes() for r in q], np.array(list(q), dtype=object)):
        np.testing.assert_array_equal(dequantize_cell(cell), want)
    assert dequantize_cell(None) is None
    with pytest.raises(ValueError, match="uint8"):
        dequantize_cell([[0.5, 1.0]])
    video_row = {"frame_rgb": None, "mean_rgb": [0.0] * 1024, "mean_audio": None}
    rgb, audio = frame_features(video_row)
    assert rgb.shape == (1, 1024) and audio is None


def test_sample_vocabulary_holds_every_crosswalk_entity(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The built-in sample warns of no crosswalk entity missing (a first build shows no false
    alarm), while a trimmed vocabulary still gets the warning."""
    import csv

    from dance_aggregate.builders.youtube8m.sample import write_youtube8m_vocabulary

    vocab = tmp_path / "yt" / "vocabulary.csv"
    write_youtube8m_vocabulary(vocab)
    builder = YouTube8MBuilder(tmp_path / "yt")
    with caplog.at_level("WARNING"):
        builder.dance_entities(vocab)
    assert "not in this vocabulary" not in caplog.text
    with vocab.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] != "Moshing"]
    with vocab.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    caplog.clear()
    with caplog.at_level("WARNING"):
        builder.dance_entities(vocab)
    assert "not in this vocabulary (an older or trimmed vocabulary?): Moshing" in caplog.text
