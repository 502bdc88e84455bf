"""UCF101 builder: the real split lists over a fake tree in the real naming, the real AVI."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import av
import pytest

from dance_aggregate.builders.ucf101 import UCF101Builder, UCF101Options
from dance_aggregate.errors import ConfigError, DataDirError, MediaError
from dance_aggregate.media.fingerprint import HASHES_PER_SECOND
from dance_aggregate.media.synth import write_ucf_avi
from tests.helpers_produce import produce_row

DATA = Path(__file__).parent / "data"

# Clips present in the fake tree: (file, fold-1 split per the real lists).
PRESENT = {
    "v_SalsaSpin_g01_c01.avi": "test",
    "v_SalsaSpin_g01_c02.avi": "test",
    "v_SalsaSpin_g08_c01.avi": "train",
    "v_SalsaSpin_g25_c03.avi": "train",
}


@pytest.fixture(scope="module")
def ucf_tree(tmp_path_factory) -> Path:
    """A UCF101 layout with the real (CRLF) split lists and a few generated SalsaSpin AVIs."""
    root = tmp_path_factory.mktemp("ucf") / "UCF101"
    shutil.copytree(DATA / "ucf101", root / "ucfTrainTestlist")
    for i, name in enumerate(PRESENT):
        write_ucf_avi(root / "UCF-101" / "SalsaSpin" / name, seed=i, seconds=1.0)
    # a non-dance clip that must be excluded by rule, not encoded
    write_ucf_avi(root / "UCF-101" / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g08_c01.avi", seed=99, seconds=1.0)
    return root


def test_real_lists_are_crlf():
    assert b"\r\n" in (DATA / "ucf101" / "trainlist01.txt").read_bytes()


def test_plan_over_real_split_lists(ucf_tree):
    plan = UCF101Builder(ucf_tree).plan()
    assert plan.records_read == 13320  # every line of trainlist01 + testlist01
    got = {Path(r.media.path).name: r.split for r in plan.records}
    assert got == PRESENT
    reasons = {}
    for e in plan.exclusions:
        reasons[e.reason] = reasons.get(e.reason, 0) + 1
    # SalsaSpin (133 clips) and IceDancing (158) are dance; every other class is excluded by rule
    assert reasons == {"not a dance class": 13320 - 133 - 158, "missing video": 133 + 158 - len(PRESENT)}
    ice = [e for e in plan.exclusions if e.source_label == "IceDancing"]
    assert len(ice) == 158 and {e.reason for e in ice} == {"missing video"}  # mapped, only the file is absent
    r = next(r for r in plan.records if r.source_id == "SalsaSpin/v_SalsaSpin_g08_c01")
    assert (r.id, r.group, r.label, r.source_label, r.family, r.youtube_id) == (
        "ucf101/SalsaSpin/v_SalsaSpin_g08_c01", "SalsaSpin_g08", "salsa", "SalsaSpin", "latin", None
    )


@pytest.mark.parametrize("fold,split", [(1, "train"), (2, "test"), (3, "train")])
def test_folds(ucf_tree, fold, split):
    plan = UCF101Builder(ucf_tree, UCF101Options(fold=fold)).plan()
    assert {r.source_id: r.split for r in plan.records}["SalsaSpin/v_SalsaSpin_g08_c01"] == split


def test_groups_never_straddle_splits(ucf_tree):
    for fold in (1, 2, 3):
        plan = UCF101Builder(ucf_tree, UCF101Options(fold=fold)).plan()
        split_of = {}
        for item in [*plan.records, *plan.exclusions]:
            group = item.id.rsplit("_c", 1)[0]
            split_of.setdefault(group, set()).add(item.split)
        assert all(len(s) == 1 for s in split_of.values())


def test_bad_fold_is_refused():
    with pytest.raises(ConfigError, match="fold must be 1, 2 or 3"):
        UCF101Builder.parse_options({"fold": "4"})
    with pytest.raises(ConfigError, match="unknown option 'folds'"):
        UCF101Builder.parse_options({"folds": "2"})


def test_missing_data_dir_shows_layout(tmp_path):
    with pytest.raises(DataDirError) as err:
        UCF101Builder(tmp_path / "nope").plan()
    msg = str(err.value)
    assert "does not exist" in msg and "ucfTrainTestlist/" in msg and "v_<Class>_gNN_cNN.avi" in msg
    assert "dance-aggregate build ucf101 --data-dir ucf101=" in msg


def test_wrong_data_dir_shows_layout(tmp_path):
    (tmp_path / "something").mkdir()
    with pytest.raises(DataDirError, match="no ucfTrainTestlist/ folder") as err:
        UCF101Builder(tmp_path).plan()
    assert "classInd.txt" in str(err.value)


def test_malformed_split_list_line_costs_only_itself(tmp_path):
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "trainlist01.txt").write_bytes(
        b"garbage line\r\nSalsaSpin/v_SalsaSpin_g08_c01.avi 77\r\n"
        b"SalsaSpin/../../../etc/v_SalsaSpin_g09_c01.avi 77\r\nSalsaSpin/v_SalsaSpin_g08_c01.avi 77\r\n"
    )
    (lists / "testlist01.txt").write_bytes(b"")
    plan = UCF101Builder(tmp_path).plan()
    assert plan.records_read == 4
    by_reason = {e.reason: e for e in plan.exclusions}
    assert set(by_reason) == {"malformed line", "missing video", "duplicate line"}
    assert [e.detail.split(":")[:2] for e in plan.exclusions if e.reason == "malformed line"] == [
        ["trainlist01.txt", "1"], ["trainlist01.txt", "3"]]
    assert "expected '<Class>/v_<Class>_gNN_cNN.avi'" in by_reason["malformed line"].detail


def test_real_xvid_mp3_avi_encodes_with_audio(tmp_path):
    """The real Xvid + MP3 AVI, renamed into a UCF101 layout, becomes H.264 + AAC with FLAC audio."""
    root = tmp_path / "UCF101"
    (root / "ucfTrainTestlist").mkdir(parents=True)
    (root / "ucfTrainTestlist" / "trainlist01.txt").write_bytes(b"SalsaSpin/v_SalsaSpin_g08_c01.avi 77\r\n")
    (root / "ucfTrainTestlist" / "testlist01.txt").write_bytes(b"")
    clip = root / "UCF-101" / "SalsaSpin" / "v_SalsaSpin_g08_c01.avi"
    clip.parent.mkdir(parents=True)
    shutil.copy(DATA / "media" / "test.avi", clip)
    with av.open(str(clip)) as c:
        assert c.streams.video[0].codec_context.name == "mpeg4"
        assert c.streams.audio[0].codec_context.name.startswith("mp3")
    builder = UCF101Builder(root)
    (record,) = builder.plan().records
    row = produce_row(builder, record, tmp_path / "out")
    assert row["has_audio"] is True
    assert (row["width"], row["height"], row["fps"]) == (320, 240, 25.0)
    assert abs(row["duration"] - 6.56) < 0.1
    assert row["video"]["path"].endswith(".mp4") and row["audio"]["path"].endswith(".flac")
    import io

    with av.open(io.BytesIO(row["video"]["bytes"])) as c:
        assert [s.codec_context.name for s in c.streams] == ["h264", "aac"]
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert row["audio"]["bytes"][:4] == b"fLaC"
    assert len(row["frame_hashes"]) == math.ceil(6.56 * HASHES_PER_SECOND)  # one per started window of 6.56 s


def test_corrupt_avi_is_a_media_error_naming_the_file(tmp_path, ucf_tree):
    root = tmp_path / "UCF101"
    shutil.copytree(ucf_tree / "ucfTrainTestlist", root / "ucfTrainTestlist")
    bad = root / "UCF-101" / "SalsaSpin" / "v_SalsaSpin_g01_c01.avi"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00garbage" * 100)
    builder = UCF101Builder(root)
    (record,) = builder.plan().records
    with pytest.raises(MediaError) as err:
        produce_row(builder, record, tmp_path / "out")
    assert "v_SalsaSpin_g01_c01.avi" in str(err.value)
    assert err.value.reason in ("unreadable media", "no video stream")


def test_class_lookup_ignores_case_and_spacing(tmp_path):
    """`salsaspin/...` and ` IceDancing/...` are the dance classes; source_label keeps the list's spelling."""
    root = tmp_path / "UCF101"
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_bytes((DATA / "ucf101" / "classInd.txt").read_bytes())
    (lists / "trainlist01.txt").write_text("salsaspin/v_salsaspin_g08_c01.avi 77\r\n  IceDancing/v_IceDancing_g09_c01.avi 44\r\n")
    (lists / "testlist01.txt").write_text("SALSASPIN/v_SalsaSpin_g01_c01.avi\r\nApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\n")
    for cls, name in [("SalsaSpin", "v_salsaspin_g08_c01.avi"), ("IceDancing", "v_IceDancing_g09_c01.avi"),
                      ("SalsaSpin", "v_SalsaSpin_g01_c01.avi")]:
        (root / "UCF-101" / cls).mkdir(parents=True, exist_ok=True)
        (root / "UCF-101" / cls / name).write_bytes(b"")
    plan = UCF101Builder(root).plan()
    got = {r.source_id: (r.split, r.label, r.source_label) for r in plan.records}
    assert got == {
        "salsaspin/v_salsaspin_g08_c01": ("train", "salsa", "salsaspin"),
        "IceDancing/v_IceDancing_g09_c01": ("train", "ice_dance", "IceDancing"),
        "SALSASPIN/v_SalsaSpin_g01_c01": ("test", "salsa", "SALSASPIN"),
    }
    assert [e.reason for e in plan.exclusions] == ["not a dance class"]



@pytest.mark.parametrize("fold", [1, 2, 3])
def test_real_folds_ids_pass_the_viewer_statistics(tmp_path, fold):
    """UCF101's two dance classes, ``SalsaSpin`` and ``IceDancing``, differ by one character:
    ids made of file stems alone (``ucf101/v_SalsaSpin_g01_c01``) take exactly two adjacent
    lengths in every split of the real lists, which fails the Hub viewer's statistics job; the
    path form (``ucf101/SalsaSpin/v_SalsaSpin_g01_c01``) is twice the class name long and passes."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Features, Value

    from dance_aggregate.hub.viewer_stats import split_problems
    from dance_aggregate.schema import rows_to_table

    root = tmp_path / "UCF101"
    shutil.copytree(DATA / "ucf101", root / "ucfTrainTestlist", ignore=shutil.ignore_patterns("*.md"))
    for lst in (root / "ucfTrainTestlist").glob("*list0*.txt"):
        for line in lst.read_text().splitlines():
            if line.strip():
                (root / "UCF-101" / line.split()[0]).parent.mkdir(parents=True, exist_ok=True)
                (root / "UCF-101" / line.split()[0]).touch()
    records = UCF101Builder(root, UCF101Options(fold=fold)).plan().records
    assert {r.source_label for r in records} == {"SalsaSpin", "IceDancing"}
    for split in ("train", "test"):
        rows = [r.base_row() for r in records if r.split == split]
        path = tmp_path / f"{split}-00000-of-00001.parquet"
        pq.write_table(rows_to_table(rows), path)
        assert [str(p) for p in split_problems([path])] == []
        stems = [r["source_id"].split("/", 1)[1] for r in rows]
        old = tmp_path / "old" / f"{split}-00000-of-00001.parquet"
        old.parent.mkdir(exist_ok=True)
        pq.write_table(pa.table({"id": [f"ucf101/{s}" for s in stems], "source_id": stems}), old)
        feats = Features({"id": Value("string"), "source_id": Value("string")})
        assert {(p.column, p.rule) for p in split_problems([old], features=feats)} == {("id", "adjacent"),
                                                                                       ("source_id", "adjacent")}
