"""Hostile ids in every source never become paths: nothing is written outside the output and
work folders (the temporary root is snapshotted before and after each build), and an id that
cannot be what the source says is excluded as ``invalid id`` before any download.

Kinetics-600 and ActivityNet are built online (the real yt-dlp against the local stand-in
server) and offline; UCF101, Let's Dance and YouTube-8M read local files only.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import dance_aggregate as da
from dance_aggregate.builders.youtube8m.sample import write_youtube8m_vocabulary
from dance_aggregate.builders.youtube8m.tfrecord import make_example, write_records
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.files.csvfiles import read_rows
from dance_aggregate.output.folder import read_config
from tests.helpers_annotations import write_activitynet_json
from tests.helpers_fetch import FakeTube, make_source

#: Served by the stand-in server (an ordinary clip next to the hostile ones).
GOOD = "ok2xxxxxxxx"
#: A valid YouTube id the server does not have (404): also never written outside.
ODD_BUT_VALID = "-_-_-_-_-_-"
MARKER = f"pwn-{uuid.uuid4().hex[:8]}"


def hostile_ids(newlines: bool = True) -> list[str]:
    ids = [
        "..",
        ".",
        "/",
        "",
        " ",
        f"./../../../../tmp/{MARKER}/pwn",
        "../" * 4 + MARKER,
        "../" * 12 + f"tmp/{MARKER}",
        ".hidden",
        "-rf",
        "--help",
        "a\x00b",
        "x" * 300,
        "a" * 250,
        "ダンスダンスダンスダン",  # 11 characters, not ASCII
        "abc/def/gh",
        "%2e%2e%2fpwn",
        "C:\\x\\yyyyy",
        "\x1b[31mred\x1b[0",
    ]
    return ids + (["a\nb", "x\r\ny"] if newlines else [])


@pytest.fixture(scope="module")
def source_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("src") / "good.mp4", 21, 4.0)


@pytest.fixture
def tube(source_video: Path):
    t = FakeTube().start()
    t.add_file(GOOD, source_video)
    yield t
    t.stop()


def snapshot(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def assert_only_inside(root: Path, before: set[Path], out: Path) -> None:
    new = snapshot(root) - before
    outside = sorted(str(p) for p in new if out not in p.parents and p != out)
    assert not outside, f"written outside the output folder: {outside[:5]}"
    assert not (Path("/tmp") / MARKER).exists()
    assert not any(MARKER in p.name for p in root.parent.rglob("*") if out not in p.parents)


def excluded(out: Path, config: str) -> list[dict[str, str]]:
    return list(read_rows(out / "reports" / f"{config}.excluded.csv"))


def media_names(out: Path, config: str) -> list[str]:
    tables = read_config(out, config)
    return [r["video"]["path"] for t in tables.values() for r in t.select(["video"]).to_pylist() if r["video"]]


def accounting_of(res: da.BuildResult, config: str, built: bool) -> object:
    """The config's accounting: from its written folder when it wrote a row, else from its
    failure (a config whose every record was excluded fails, with its accounting)."""
    if built:
        assert res.ok, res.failures
        return res.accounting()[config]
    assert [f.config for f in res.failures] == [config] and not res.configs
    failure = res.failures[0]
    assert "0 rows written" in failure.error and failure.accounting is not None
    return failure.accounting


def fetch(tube: FakeTube | None) -> FetchOptions:
    if tube is None:
        return FetchOptions(offline=True)
    return FetchOptions(url_template=tube.url_template, backoff_base=0.01, backoff_max=0.02, pause_base=0.01,
                        pause_max=0.02, max_attempts=2, socket_timeout=10)


@pytest.mark.parametrize("online", [True, False], ids=["online", "offline"])
def test_kinetics_hostile_ids(tmp_path: Path, online: bool, request: pytest.FixtureRequest) -> None:
    tube = request.getfixturevalue("tube") if online else None
    data = tmp_path / "k600"
    data.mkdir()
    ids = hostile_ids(newlines=False)
    with (data / "validate.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for vid in [GOOD, ODD_BUT_VALID, *ids]:
            w.writerow(["salsa dancing", vid, 1, 3, "val"])
    twin = {vid: {"annotations": {"label": "zumba", "segment": [0, 2]}, "subset": "train"} for vid in hostile_ids()}
    (data / "train.json").write_text(json.dumps(twin), encoding="utf-8")
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    res = da.build(configs=["kinetics600"], data_dirs={"kinetics600": data}, output=out, fetch=fetch(tube), progress=False)
    acc = accounting_of(res, "kinetics600", built=online)
    assert_only_inside(tmp_path, before, out)
    assert acc.records_read == 2 + len(ids) + len(twin) and acc.adds_up
    assert acc.excluded["invalid id"] == len(ids) + len(twin)
    if online:
        assert acc.rows_written == 1 and media_names(out, "kinetics600") == [f"kinetics600-{GOOD}_000001_000003.mp4"]
        assert set(tube.requests) == {GOOD, ODD_BUT_VALID}  # no request for an invalid id
    else:
        assert acc.excluded["missing video"] == 2


@pytest.mark.parametrize("online", [True, False], ids=["online", "offline"])
def test_activitynet_hostile_ids(tmp_path: Path, online: bool, request: pytest.FixtureRequest) -> None:
    tube = request.getfixturevalue("tube") if online else None
    entry = {"duration": 4.0, "subset": "training", "annotations": [{"segment": [1.0, 3.0], "label": "Tango"}]}
    ids = hostile_ids()
    data = write_activitynet_json(tmp_path / "anet", {vid: entry for vid in [GOOD, *ids]})
    # a local mirror too: ids must never be joined to its folder either
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    res = da.build(configs=["activitynet"], data_dirs={"activitynet": data}, video_dirs={"activitynet": mirror},
                   output=out, fetch=fetch(tube), progress=False)
    acc = accounting_of(res, "activitynet", built=online)
    assert_only_inside(tmp_path, before, out)
    assert acc.excluded["invalid id"] == len(ids) and acc.records_read == len(ids) + 1
    if online:
        assert acc.rows_written == 1 and set(tube.requests) == {GOOD}
        assert media_names(out, "activitynet") == [f"activitynet-{GOOD}_s00_w00.mp4"]


def test_ucf101_hostile_list_lines(tmp_path: Path) -> None:
    root = tmp_path / "UCF101"
    (root / "UCF-101" / "SalsaSpin").mkdir(parents=True)
    lists = root / "ucfTrainTestlist"
    lists.mkdir()
    lines = [f"SalsaSpin/{vid}/v_SalsaSpin_g01_c01.avi 77" for vid in hostile_ids(newlines=False)]
    lines += [f"{vid} 77" for vid in hostile_ids(newlines=False)]
    (lists / "trainlist01.txt").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    (lists / "testlist01.txt").write_text("SalsaSpin/v_SalsaSpin_g02_c01.avi\r\n")
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    res = da.build(configs=["ucf101"], data_dirs={"ucf101": root}, output=out, progress=False)
    acc = accounting_of(res, "ucf101", built=False)  # no line names a video that exists
    assert_only_inside(tmp_path, before, out)
    blank = sum(1 for line in lines if not line.split())
    assert acc.records_read == len(lines) - blank + 1 and acc.excluded == {
        "malformed line": len(lines) - blank, "missing video": 1}


def test_letsdance_hostile_names_and_lists(tmp_path: Path) -> None:
    archive = tmp_path / "letsdance.zip"
    frame = tmp_path / "f.jpg"
    Image.fromarray(np.full((36, 64, 3), 128, np.uint8)).save(frame)
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(1, 4):
            zf.write(frame, f"rgb/ballet/0DvqbnEtyNY_053_{i:04d}.jpg")
        for name in sorted({f"rgb/ballet/{vid}_053_0001.jpg" for vid in hostile_ids()}):
            if name != "rgb/ballet/_053_0001.jpg":  # zip stores "rgb/ballet//..." under this name too
                zf.write(frame, name)
    lists = tmp_path / "splits.csv"
    lists.write_text("key,split\n" + "".join(f"{vid.replace(',', ';')}_001,train\n" for vid in hostile_ids(newlines=False))
                     + "0DvqbnEtyNY_053,train\n", encoding="utf-8")
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    res = da.build(configs=["letsdance"], data_dirs={"letsdance": archive}, output=out, progress=False,
                   options={"letsdance": {"splits": str(lists)}})
    assert res.ok, res.failures
    assert_only_inside(tmp_path, before, out)
    acc = res.accounting()["letsdance"]
    assert acc.rows_written == 1 and acc.adds_up
    assert media_names(out, "letsdance") == ["letsdance-0DvqbnEtyNY_053.mp4"]
    assert "invalid id" in acc.excluded


def test_youtube8m_hostile_pseudo_ids(tmp_path: Path) -> None:
    data = tmp_path / "yt8m"
    write_youtube8m_vocabulary(data / "vocabulary.csv")
    ids = hostile_ids()
    records = [make_example({"id": vid.encode("utf-8"), "labels": np.array([8], np.int64)}) for vid in ["aa01", *ids]]
    write_records(data / "train0000.tfrecord", records)
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    res = da.build(configs=["youtube8m"], data_dirs={"youtube8m": data}, output=out, progress=False)
    assert res.ok, res.failures
    assert_only_inside(tmp_path, before, out)
    acc = res.accounting()["youtube8m"]
    plain = [vid for vid in ids if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", vid)]  # '-rf', '--help': never paths
    assert acc.rows_written == 1 + len(plain) and acc.excluded == {"invalid id": len(ids) - len(plain)} and acc.adds_up
    assert all(e["id"].startswith("youtube8m/train0000.tfrecord#") for e in excluded(out, "youtube8m"))
