"""The letsdance builder: frame names, folder and zip input, gaps, splits (hash and real lists)."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from dance_aggregate.builders import registry
from dance_aggregate.builders.letsdance import (
    LetsDanceBuilder,
    LetsDanceOptions,
    hash_split,
    parse_frame_name,
    read_split_lists,
    start_seconds,
)
from dance_aggregate.builders.letsdance.sample import make_sample as make_letsdance
from dance_aggregate.media.synth import pattern_frame
from dance_aggregate.output.folder import read_config
from dance_aggregate.pipeline.build import finalize_folder
from dance_aggregate.pipeline.config import RunSettings, build_config
from dance_aggregate.schema import features
from tests.helpers_sample import expected_letsdance

LISTS = Path(__file__).parent / "data" / "letsdance"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_letsdance(tmp_path_factory.mktemp("sample")).data_dir


def _zip_tree(folder: Path, target: Path, prefix: str = "rgb/") -> Path:
    """Zip a frame tree the way the release is shipped (a top-level folder), plus a decoy."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zf:
        for f in sorted(folder.rglob("*.jpg")):
            zf.write(f, prefix + f.relative_to(folder).as_posix())
        zf.writestr("flow/ballet/0DvqbnEtyNY_053_0001.jpg", b"not the rgb tree")
        zf.writestr("README.txt", b"Let's Dance")
    return target


def _build(data_dir: Path, out: Path, **opts: str):
    builder = LetsDanceBuilder(data_dir, LetsDanceBuilder.parse_options(opts))
    return build_config(builder, RunSettings(output=out / "dance_aggregate", progress=False))


def _rows(out: Path) -> dict[str, dict]:
    tables = read_config(out / "dance_aggregate", "letsdance")
    return {r["id"]: r for t in tables.values() for r in t.to_pylist()}


def test_frame_names_parse_from_the_right() -> None:
    assert parse_frame_name("rgb/swing/t_R8Bazi0RI_041_0001.jpg") == ("t_R8Bazi0RI", "041", 1)
    assert parse_frame_name("waltz/-2W1PfHleRM_033_0301.jpg") == ("-2W1PfHleRM", "033", 301)
    assert parse_frame_name("jive/a63SJK07FbM_1510_0012.JPG") == ("a63SJK07FbM", "1510", 12)
    assert parse_frame_name("ballet/notes.txt") is None
    assert parse_frame_name("ballet/cover.jpg") is None


def test_start_token_is_mmss() -> None:
    assert start_seconds("1314") == 794.0
    assert start_seconds("053") == 53.0
    assert start_seconds("090", "frames") == 3.0
    with pytest.raises(ValueError, match="not MMSS"):
        start_seconds("075")


def test_hash_split_is_deterministic_and_ratio_close() -> None:
    ids = [f"{i:011d}" for i in range(5000)]
    splits = [hash_split(i) for i in ids]
    assert splits == [hash_split(i) for i in ids]
    share = {s: splits.count(s) / len(ids) for s in ("train", "validation", "test")}
    assert abs(share["train"] - 0.8) < 0.03 and abs(share["validation"] - 0.1) < 0.02
    with pytest.raises(ValueError):
        LetsDanceOptions(train_percent=95, validation_percent=10)


def test_real_split_lists() -> None:
    clips = read_split_lists(LISTS)
    assert len(clips) == 1384
    assert sum(c.split == "train" for c in clips) == 1107
    assert sum(c.split == "validation" for c in clips) == 139
    assert sum(c.split == "test" for c in clips) == 138
    first = next(c for c in clips if c.key == "TMf3baM35K0_026")
    assert (first.source_label, first.n_frames, first.split) == ("samba", 251, "train")
    # <NNN> of the lists is the frame names' start token, and reads as MMSS: every one of
    # them has seconds below 60.
    assert all(int(c.key.rsplit("_", 1)[1]) % 100 < 60 for c in clips)


def test_sample_folder_build(sample_dir: Path, tmp_path: Path) -> None:
    res = _build(sample_dir, tmp_path)
    acc = res.accounting
    exp = expected_letsdance(sample_dir)
    assert exp.excluded == {"too many missing frames": 1}  # the sample's one clip with too many gaps
    assert (acc.records_read, acc.rows_written, acc.excluded) == (exp.records_read, exp.rows_written, exp.excluded)
    assert res.accounting.rows_by_split == exp.rows
    rows = _rows(tmp_path)
    gap = rows["letsdance/-2W1PfHleRM_033"]
    assert gap["num_frames"] == 40 and gap["fps"] == 30.0 and not gap["has_audio"] and gap["audio"] is None
    assert (gap["width"], gap["height"]) == (320, 180)
    assert gap["youtube_id"] == gap["group"] == "-2W1PfHleRM"
    assert gap["start_time"] == 33.0 and gap["end_time"] == pytest.approx(33 + 40 / 30)
    names = features()["label"].names
    assert names[rows["letsdance/t_R8Bazi0RI_041"]["label"]] == "breakdance"
    late = rows["letsdance/0DvqbnEtyNY_1314"]
    assert late["start_time"] == 794.0
    with av.open(io.BytesIO(gap["video"]["bytes"])) as c:
        codec = c.streams.video[0].codec_context.name
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 40 and codec == "h264"
    # frame 7 is missing: frame 6 is held, so 6 and 7 match; 8 moves on.
    seed = 3002  # the sample's seed of this clip (third entry)

    def err(decoded: np.ndarray, rel: int) -> float:
        return float(np.abs(decoded.astype(int) - pattern_frame(seed, rel, 320, 180)).mean())

    assert err(frames[6], 6) < err(frames[6], 7)  # position 7 shows frame 6
    assert err(frames[7], 8) < err(frames[7], 7)
    tables = read_config(tmp_path / "dance_aggregate", "letsdance")
    for split, table in tables.items():
        for yt in table.column("youtube_id").to_pylist():
            assert hash_split(yt) == split


def test_zip_and_folder_give_identical_rows(sample_dir: Path, tmp_path: Path) -> None:
    archive = _zip_tree(sample_dir, tmp_path / "letsdance.zip")
    _build(sample_dir, tmp_path / "folder")
    res = _build(archive, tmp_path / "zip")
    assert res.accounting.rows_written == expected_letsdance(sample_dir).rows_written
    folder_rows, zip_rows = _rows(tmp_path / "folder"), _rows(tmp_path / "zip")
    assert folder_rows.keys() == zip_rows.keys()
    for key, row in folder_rows.items():
        assert row == zip_rows[key], key


def test_zip_without_top_folder(sample_dir: Path, tmp_path: Path) -> None:
    archive = _zip_tree(sample_dir, tmp_path / "flat.zip", prefix="")
    builder = LetsDanceBuilder(archive)
    plan = builder.plan()
    assert len(plan.records) == expected_letsdance(sample_dir).planned


def _write_clip(root: Path, cls: str, key: str, frames: range, seed: int) -> None:
    """Tiny 64x36 frames; eight distinct images cycled, which is all these tests need."""
    folder = root / cls
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for i in range(8):
        buf = io.BytesIO()
        Image.fromarray(pattern_frame(seed, i, 64, 36)).save(buf, format="JPEG", quality=80)
        images.append(buf.getvalue())
    for i in frames:
        (folder / f"{key}_{i:04d}.jpg").write_bytes(images[i % 8])


def test_real_split_lists_against_frames(tmp_path: Path) -> None:
    root = tmp_path / "frames"
    # HknJUs3gPuE: a Latin competition whose five dances the lists spread over train,
    # validation and test; the start tokens follow the competition order at MM:SS.
    video = [
        ("samba", "014", 251),
        ("cha", "214", 251),
        ("rumba", "359", 251),
        ("pasodoble", "631", 251),
        ("jive", "804", 251),
    ]
    for seed, (cls, start, n) in enumerate(video):
        _write_clip(root, cls, f"HknJUs3gPuE_{start}", range(1, n + 1), seed)
    _write_clip(root, "samba", "TMf3baM35K0_026", range(1, 252), 10)
    _write_clip(root, "flamenco", "jWCY2isbkC4_021", range(1, 150), 11)  # lists say 201 frames
    _write_clip(root, "ballet", "zzzzzzzzzz-_100", range(1, 4), 12)  # in no list
    res = _build(root, tmp_path, splits=str(LISTS))
    acc = res.accounting
    assert acc.records_read == 1384 + 1
    assert acc.rows_written == 6
    assert acc.excluded == {"missing frames": 1384 - 7, "not in split lists": 1, "too many missing frames": 1}
    rows = _rows(tmp_path)
    hkn = [r for r in rows.values() if r["youtube_id"] == "HknJUs3gPuE"]
    assert len(hkn) == 5
    tables = read_config(tmp_path / "dance_aggregate", "letsdance")
    assert sorted(tables["test"].column("id").to_pylist()) == sorted(r["id"] for r in hkn)
    assert tables["train"].column("id").to_pylist() == ["letsdance/TMf3baM35K0_026"]
    from dance_aggregate.dedup.leakage import find_leaks

    assert find_leaks(tmp_path / "dance_aggregate", "letsdance") == []
    jive = rows["letsdance/HknJUs3gPuE_804"]
    assert jive["start_time"] == 8 * 60 + 4 and jive["num_frames"] == 251


def test_registry_and_layout_errors(tmp_path: Path) -> None:
    from dance_aggregate.errors import DataDirError

    assert registry.get_config("letsdance").builder is LetsDanceBuilder
    (tmp_path / "notzip.zip").write_text("x")
    with pytest.raises(DataDirError, match="not a zip"):
        LetsDanceBuilder(tmp_path / "notzip.zip").plan()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataDirError, match="no <class>"):
        LetsDanceBuilder(tmp_path / "empty").plan()


def test_load_dataset_and_stream(sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets import Video, load_dataset

    _build(sample_dir, tmp_path)
    finalize_folder(tmp_path / "dance_aggregate")
    monkeypatch.chdir(tmp_path)
    ds = load_dataset("dance_aggregate", "letsdance", cache_dir=str(tmp_path / "cache"))
    assert ds["train"].features == features()
    first = ds["train"].cast_column("video", Video(decode=False))[0]
    assert first["video"]["path"].endswith(".mp4") and first["audio"] is None
    streamed = load_dataset("dance_aggregate", "letsdance", streaming=True)["train"].decode(False)
    row = next(iter(streamed))
    assert row["video"]["bytes"][4:8] == b"ftyp"


def test_broken_frame_and_ambiguous_class(tmp_path: Path) -> None:
    root = tmp_path / "frames"
    _write_clip(root, "waltz", "aaaaaaaaaaa_010", range(1, 11), 1)
    _write_clip(root, "tango", "bbbbbbbbbbb_010", range(1, 11), 2)
    (root / "tango" / "bbbbbbbbbbb_010_0004.jpg").write_bytes(b"\xff\xd8 truncated jpeg")
    _write_clip(root, "rumba", "ccccccccccc_020", range(1, 11), 3)
    _write_clip(root, "samba", "ccccccccccc_020", range(1, 11), 4)
    _write_clip(root, "jive", "ddddddddddd_030", range(0, 10), 5)  # numbered from 0
    res = _build(root, tmp_path)
    assert res.accounting.rows_written == 3  # the broken frame counts as missing (1 of 10 <= max_missing)
    assert _rows(tmp_path)["letsdance/ddddddddddd_030"]["num_frames"] == 10
    assert _rows(tmp_path)["letsdance/bbbbbbbbbbb_010"]["num_frames"] == 10
    assert res.accounting.excluded == {"clip in several classes": 1}
    report = (tmp_path / "dance_aggregate" / "reports" / "letsdance.excluded.csv").read_text()
    assert "['rumba', 'samba']" in report


def _decoded(row: dict) -> list[np.ndarray]:
    with av.open(io.BytesIO(row["video"]["bytes"])) as c:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]


def test_unreadable_frames_count_as_missing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "frames"
    _write_clip(root, "tango", "bbbbbbbbbbb_010", range(1, 21), 2)
    (root / "tango" / "bbbbbbbbbbb_010_0001.jpg").write_bytes(b"\xff\xd8 truncated jpeg")  # leading
    (root / "tango" / "bbbbbbbbbbb_010_0007.jpg").write_bytes(b"not a jpeg at all")
    _write_clip(root, "waltz", "eeeeeeeeeee_010", range(1, 21), 3)
    for i in (2, 5, 9):  # 3 of 20 > max_missing 0.1
        (root / "waltz" / f"eeeeeeeeeee_010_{i:04d}.jpg").write_bytes(b"\xff\xd8\xff garbage")
    caplog.set_level(logging.WARNING)
    res = _build(root, tmp_path)
    assert res.accounting.rows_written == 1 and res.accounting.excluded == {"too many missing frames": 1}
    row = _rows(tmp_path)["letsdance/bbbbbbbbbbb_010"]
    assert row["num_frames"] == 20 and row["duration"] == pytest.approx(20 / 30)
    frames = _decoded(row)
    held = [np.abs(frames[0] - frames[1]).mean(),  # frame 1 unreadable: frame 2 shown in its place
            np.abs(frames[6] - frames[5]).mean()]  # frame 7 unreadable: frame 6 held
    moving = [np.abs(frames[k + 1] - frames[k]).mean() for k in (2, 3, 7, 8)]
    assert max(held) * 3 < min(moving), (held, moving)
    assert any("letsdance/bbbbbbbbbbb_010: 2 of 20 frames unreadable, counted as missing" in r.getMessage()
               for r in caplog.records)
    report = (tmp_path / "dance_aggregate" / "reports" / "letsdance.excluded.csv").read_text()
    assert "3 of 20 frames missing or unreadable" in report and "max_missing=0.1" in report


def test_a_frame_of_another_size_is_resized_not_the_clip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "frames"
    _write_clip(root, "ballet", "fffffffffff_100", range(1, 13), 4)  # 64x36 frames
    small = io.BytesIO()
    Image.fromarray(pattern_frame(4, 1, 32, 18)).save(small, format="JPEG", quality=90)
    (root / "ballet" / "fffffffffff_100_0001.jpg").write_bytes(small.getvalue())  # the first one small
    caplog.set_level(logging.WARNING)
    res = _build(root, tmp_path, max_short_side="0")
    assert res.accounting.rows_written == 1
    row = _rows(tmp_path)["letsdance/fffffffffff_100"]
    assert (row["width"], row["height"], row["num_frames"]) == (64, 36, 12)
    assert any("letsdance/fffffffffff_100: 1 of 12 frames not 64x36" in r.getMessage() for r in caplog.records)


def test_cli_builds_from_the_zip_with_options(sample_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dance_aggregate.cli import cli

    archive = _zip_tree(sample_dir, tmp_path / "letsdance.zip")
    out = tmp_path / "dance_aggregate"
    args = ["build", "letsdance", "--data-dir", f"letsdance={archive}", "--output", str(out), "-q"]
    res = CliRunner().invoke(cli, [*args, "-o", "letsdance.max_short_side=90", "-o", "letsdance.max_missing=0.9"])
    assert res.exit_code == 0, res.output
    lenient = expected_letsdance(sample_dir, max_missing=0.9)
    assert not lenient.excluded and f"{lenient.summary('letsdance')} " in res.output
    rows = _rows(tmp_path)
    assert {(r["width"], r["height"]) for r in rows.values()} == {(160, 90)}
    bad = CliRunner().invoke(cli, [*args, "-o", "letsdance.start_unit=hours"])
    assert bad.exit_code != 0 and "start_unit" in bad.output
