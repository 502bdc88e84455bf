"""Pretraining overlap: id files, the count on the real Kinetics files, the column, stats,
the card and moving overlapping rows out of `all`'s held-out splits."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from dance_aggregate.builders.kinetics600 import Kinetics600Builder, Kinetics600MotionBuilder
from dance_aggregate.cli import cli
from dance_aggregate.dedup.pretraining import load_pretraining_sets, overlap_column, read_id_file
from dance_aggregate.dedup.splits import assign_splits
from dance_aggregate.errors import AnnotationError, ConfigError
from dance_aggregate.output.folder import read_config
from dance_aggregate.pipeline.request import BuildRequest

DATA = Path(__file__).parent / "data"
K400_VAL = DATA / "pretraining" / "kinetics-400_val.crosswalk.csv"


# -- id files ----------------------------------------------------------------------------
def test_id_file_forms(tmp_path: Path) -> None:
    ids = {"-05qSkAhM6Y", "abcdefghijk", "A_b-C_d-E_f"}
    files = {
        "k.csv": "\ufefflabel,youtube_id,time_start,time_end,split\r\n" + "".join(f'"x, y",{i},1,11,val\r\n' for i in ids),
        "k.json": json.dumps({i: {"annotations": {"label": "x"}, "subset": "train"} for i in ids}),
        "list.json": json.dumps(sorted(ids)),
        "objs.json": json.dumps([{"youtube_id": i} for i in ids]),
        "ids.txt": "# Kinetics-700 train\n\n" + "\n".join(f"  {i}  # ok" for i in ids) + "\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert read_id_file(tmp_path / name) == ids, name
    # The real Kinetics-400 CSV excerpt reads as it is.
    assert len(read_id_file(K400_VAL)) == 1188


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("bad.txt", "abcdefghijk\nabcdefghijk\nnot an id!\n", "bad.txt:3:"),
        ("short.csv", "label,youtube_id\nx,abcdefghijk\ny,abc\n", "short.csv:3:"),
        ("noid.csv", "label,youtube_id,x\n", "no YouTube ids"),
        ("bad.json", '{"abcdefghijk": 1, "nope": 2}', "bad.json:key 'nope':"),
        ("broken.json", '{"abcdefghijk": ', "broken.json:1: not valid JSON"),
        ("num.json", "[\"abcdefghijk\", 12]", "num.json:entry 1:"),
    ],
)
def test_malformed_id_files_name_the_file_and_line(tmp_path: Path, name: str, text: str, where: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(AnnotationError) as err:
        read_id_file(tmp_path / name)
    assert where in str(err.value) and str(tmp_path) in str(err.value)
    assert "YouTube id" in str(err.value) or "JSON" in str(err.value)


def test_request_checks_names_and_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        BuildRequest(configs=["ucf101"], pretraining_ids={"k400": tmp_path / "missing.csv"})
    with pytest.raises(ConfigError, match="a folder; give the id file itself"):
        BuildRequest(configs=["ucf101"], pretraining_ids={"k400": tmp_path})
    with pytest.raises(ConfigError, match="set name"):
        BuildRequest(configs=["ucf101"], pretraining_ids={"bad name": K400_VAL})
    res = CliRunner().invoke(cli, ["build", "--sample", "--pretraining-ids", "k400"])
    assert res.exit_code == 2 and "expected NAME=FILE" in res.output


# -- the real figure ---------------------------------------------------------------------
def test_real_kinetics_600_validation_overlap_with_kinetics_400_val(tmp_path: Path) -> None:
    """An independent count over the full real files: 681 of the 1,050 Kinetics-600 validation
    clips of the 21 classes the issue counted (the 20 dance classes and marching, now motion)
    share a YouTube video with Kinetics-400 val; 644 of the 1,000 dance clips do."""
    sets = load_pretraining_sets({"k400_val": K400_VAL})
    dance = Kinetics600Builder(DATA / "kinetics600").plan().records
    motion = Kinetics600MotionBuilder(DATA / "kinetics600").plan().records
    issue = [r for r in dance + motion if r.split == "validation" and (r in dance or r.source_label == "marching")]
    assert len(issue) == 1050
    overlap = overlap_column([r.youtube_id for r in issue], sets)
    assert sum(1 for v in overlap if v) == 681
    dance_val = [r for r in dance if r.split == "validation"]
    assert len(dance_val) == 1000
    assert sum(1 for v in overlap_column([r.youtube_id for r in dance_val], sets) if v == ["k400_val"]) == 644
    assert overlap_column(["abcdefghijk", None], sets) == [[], None] and overlap_column(["x"], []) == [None]


def test_train_only_pulls_its_joined_set_into_train() -> None:
    class P:
        def __init__(self, i: int, j: int) -> None:
            self.i, self.j = i, j

    ids = ["a", "b", "c", "d", "e"]
    splits = ["test", "test", "validation", "validation", "test"]
    groups = ["g1", "g1", "g2", "g3", "g4"]  # a and b share a video; c and d are duplicates
    yt = ["y1", "y1", "y2", "y3", "y4"]
    new, moves = assign_splits(ids, splits, groups, yt, [P(2, 3)], [True, False, False, True, False])
    assert new == ["train", "train", "train", "train", "test"]
    assert {m.id: m.because for m in moves} == {
        "a": "a (pretraining overlap)", "b": "a (pretraining overlap)", "c": "d (pretraining overlap)",
        "d": "d (pretraining overlap)",
    }
    assert assign_splits(ids, splits, groups, yt, [P(2, 3)])[0] == ["test", "test", "validation", "validation", "test"]


# -- a build -----------------------------------------------------------------------------
@pytest.mark.slow
def test_build_fills_the_column_counts_it_and_moves_overlap_out_of_held_out_splits(tmp_path: Path) -> None:
    # A "pretraining set" holding the sample's Kinetics validation video and an ActivityNet
    # validation video (both in the mirror, so both become rows).
    ids = tmp_path / "pretrained.txt"
    ids.write_text("# two sample videos and one that is not in the dataset\nJf7Gf0x3GmU\nZx8aNcQ4pLs\nQQQQQQQQQQQ\n")
    out = tmp_path / "dance_aggregate"
    base = ["build", "kinetics600", "activitynet", "--sample", "--cache-dir", str(tmp_path / "cache"), "-O", str(out), "-q"]
    res = CliRunner().invoke(cli, [*base, "--pretraining-ids", f"mine={ids}"])
    assert res.exit_code == 0, res.output
    kin = read_config(out, "kinetics600")
    rows = {r["youtube_id"]: r for t in kin.values() for r in t.to_pylist()}
    assert rows["Jf7Gf0x3GmU"]["pretraining_overlap"] == "mine"
    assert all(r["pretraining_overlap"] == "" for y, r in rows.items() if y != "Jf7Gf0x3GmU")
    report = json.loads((out / "reports" / "kinetics600.json").read_text())
    assert report["pretraining"]["sets"] == [{"name": "mine", "file": "pretrained.txt", "ids": 3}]
    assert report["pretraining"]["rows_overlapping"] == {"mine": {"validation": 1}} and report["report_format"] == 3
    # stats and the card count the overlap per config and split
    stats = json.loads(CliRunner().invoke(cli, ["stats", str(out), "--json"]).output)
    k = stats["configs"]["kinetics600"]["pretraining"]
    assert k["sets"] == ["mine"] and k["splits"]["validation"]["overlap"] == {"mine": 1}
    n_val = kin["validation"].num_rows  # every Kinetics row has a YouTube id: every one is checked
    assert k["splits"]["validation"]["checked"] == k["splits"]["validation"]["rows"] == n_val
    a = stats["configs"]["all"]["pretraining"]
    held = {s: p["any"] for s, p in a["splits"].items()}
    assert held.get("validation", 0) >= 2 and "moved_to_train" not in a  # option off: nothing moved
    text = CliRunner().invoke(cli, ["stats", str(out)]).output
    assert f"pretraining overlap, validation: 1 of {n_val} checked rows in a set (mine 1)" in text
    card = (out / "README.md").read_text()
    assert "## Pretraining overlap" in card and f"| `kinetics600` | validation | {n_val} | 1 | mine: 1 |" in card
    assert "rebuild with `--pretraining-to-train`" in card

    # Again with --pretraining-to-train: `all` moves them (and what is joined to them) to train.
    before = {r["id"]: s for s, t in read_config(out, "all").items() for r in t.to_pylist()}
    res = CliRunner().invoke(cli, [*base, "--pretraining-ids", f"mine={ids}", "--pretraining-to-train"])
    assert res.exit_code == 0, res.output
    after = {r["id"]: (s, r["pretraining_overlap"]) for s, t in read_config(out, "all").items() for r in t.to_pylist()}
    assert set(after) == set(before)
    assert all(s == "train" for s, o in after.values() if o)  # no overlapping row held out
    moved = Counter(before[i] for i, (s, o) in after.items() if o and before[i] != "train")
    report = json.loads((out / "reports" / "all.json").read_text())["pretraining"]
    assert report["to_train"] and report["moved_to_train"] == dict(moved) and moved["validation"] >= 2
    assert report["sets"] == [{"name": "mine", "file": "pretrained.txt", "ids": 3}]
    a = json.loads(CliRunner().invoke(cli, ["stats", str(out), "--json"]).output)["configs"]["all"]["pretraining"]
    assert a["moved_to_train"] == dict(moved)
    card = (out / "README.md").read_text()
    n_moved = sum(moved.values())
    assert f"{n_moved} rows ({moved['validation']} from validation, {moved['test']} from test) were moved" in card
    train = [o for s, o in after.values() if s == "train"]
    n_in = sum(1 for o in train if o)
    assert f"| `all` | train | {sum(1 for o in train if o is not None)} | {n_in} | mine: {n_in} |" in card
    # Per-source configs keep their splits: only `all` moves rows.
    kin = read_config(out, "kinetics600")
    assert "Jf7Gf0x3GmU" in {r["youtube_id"] for r in kin["validation"].to_pylist()}


def test_malformed_id_file_stops_the_build_before_any_work(tmp_path: Path) -> None:
    bad = tmp_path / "ids.txt"
    bad.write_text("abcdefghijk\nhttps://youtu.be/abcdefghijk\n")
    out = tmp_path / "dance_aggregate"
    res = CliRunner().invoke(cli, ["build", "ucf101", "--sample", "--cache-dir", str(tmp_path / "c"), "-O", str(out),
                                   "--pretraining-ids", f"k={bad}", "-q"])
    assert res.exit_code == 1 and f"{bad}:2:" in res.output and "not a YouTube id" in res.output
    assert not (out / "data").exists() and not (tmp_path / "c").exists()  # not even the sample was made
