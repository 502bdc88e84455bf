"""Annotation files as people wrote them: each parser reads what real files contain (BOM,
CRLF, stray spaces), rejects what it must with a clear error for the file, and excludes a
bad record with a reason naming the file, the line or key, the value and what was expected,
while the rest of the file is still planned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dance_aggregate.builders.activitynet import ActivityNetBuilder
from dance_aggregate.builders.annotations import JsonObject, parse_range, read_csv, read_json
from dance_aggregate.builders.kinetics600 import Kinetics600Builder
from dance_aggregate.builders.letsdance import LetsDanceBuilder
from dance_aggregate.builders.ucf101 import UCF101Builder
from dance_aggregate.builders.youtube8m import YouTube8MBuilder
from dance_aggregate.builders.youtube8m.sample import write_youtube8m_vocabulary
from dance_aggregate.errors import AnnotationError, RecordError
from tests.helpers_annotations import write_activitynet_json

HEADER = "label,youtube_id,time_start,time_end,split"
GOOD = "salsa dancing,-5Yp-vToI2E,12,22,val"


def kinetics(tmp_path: Path, text: str | bytes, name: str = "validate.csv") -> Kinetics600Builder:
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    (tmp_path / name).write_bytes(data)
    return Kinetics600Builder(tmp_path)


def reasons(plan) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in plan.exclusions:
        out[e.reason] = out.get(e.reason, 0) + e.count
    return out


# -- CSV files -----------------------------------------------------------------------------
def test_csv_bom_crlf_and_whitespace_are_read(tmp_path: Path) -> None:
    # Saved by a spreadsheet: BOM, CRLF, spaces around headers and cells. Before, the BOM made
    # the header '\ufefflabel' and every row was silently 'no label'.
    text = "\ufeff label , youtube_id ,time_start, time_end ,split\r\n salsa dancing , -5Yp-vToI2E , 12 , 22 , val \r\n"
    plan = kinetics(tmp_path, text).plan()
    assert [(r.youtube_id, r.start_time, r.end_time, r.split, r.source_label) for r in plan.records] == [
        ("-5Yp-vToI2E", 12.0, 22.0, "validation", "salsa dancing")
    ]
    assert plan.exclusions == []


def test_one_bad_row_costs_only_itself(tmp_path: Path) -> None:
    rows = [
        GOOD,
        "salsa dancing,aaaaaaaaaaa,abc,22,val",  # time_start not a number
        "salsa dancing,aaaaaaaaaab,nan,22,val",  # nan crashed the config before
        "salsa dancing,aaaaaaaaaac,1,inf,val",
        "salsa dancing,aaaaaaaaaad,-5,5,val",  # stored as -5 s before
        "salsa dancing,aaaaaaaaaae,20,10,val",  # reversed
        "salsa dancing,aaaaaaaaaaf,10,10,val",  # empty
        "salsa dancing,aaaaaaaaaag,1,11,someday",  # unknown split stopped the config before
        'salsa dancing,"aaaaaaaaaah,1,11,val',  # an unbalanced quote
        "salsa dancing,aaaaaaaaaai,1",  # too few fields
        "salsa dancing,not-an-id,1,11,val",
        "tango dancing,kRb0xS2sTzA,30,40,val",
    ]
    plan = kinetics(tmp_path, "\n".join([HEADER, *rows]) + "\n").plan()
    assert sorted(r.youtube_id for r in plan.records) == ["-5Yp-vToI2E", "kRb0xS2sTzA"]
    assert reasons(plan) == {
        "invalid time": 3,
        "negative time": 1,
        "reversed range": 1,
        "empty range": 1,
        "unknown split": 1,
        "malformed line": 2,
        "invalid id": 1,
    }
    assert plan.records_read == len(rows)
    by_line = {e.detail.split(":")[1]: e.detail for e in plan.exclusions}
    assert "time_start 'abc' is not a number" in by_line["3"] and by_line["3"].startswith("validate.csv:3")
    assert "'nan'" in by_line["4"] and "finite" in by_line["4"]
    assert "'-5' is negative" in by_line["6"]
    assert "unknown split 'someday'" in by_line["9"] and "expected one of" in by_line["9"]
    assert "'not-an-id' is not a YouTube id" in by_line["12"] and "11 characters" in by_line["12"]


def test_csv_without_needed_columns_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match=r"validate.csv: header \['label', 'id'\] lacks"):
        kinetics(tmp_path, "label,id\nsalsa dancing,x\n").plan()
    with pytest.raises(AnnotationError, match="not UTF-8 text"):
        kinetics(tmp_path, HEADER.encode() + b"\nsalsa dancing,\xe9\xe9\xe9aaaaaaaa,1,11,val\n").plan()
    with pytest.raises(AnnotationError, match="no header line"):
        kinetics(tmp_path, "\n\n").plan()


def test_read_csv_counts_every_non_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n\n ,  \n3\n4,5,6\n\"7,8\n9,10\n", encoding="utf-8")
    header, rows = read_csv(path, ("a", "b"), "a,b")
    assert header == ["a", "b"]
    assert [(r.where, r.values, bool(r.error)) for r in rows] == [
        ("x.csv:2", {"a": "1", "b": "2"}, False),
        ("x.csv:5", {}, True),
        ("x.csv:6", {}, True),
        ("x.csv:7", {}, True),
        ("x.csv:8", {"a": "9", "b": "10"}, False),
    ]


def test_range_checks() -> None:
    assert parse_range("1.5", 3, "f:1") == (1.5, 3.0)
    assert parse_range(0, 0, "f:1", allow_empty=True) == (0.0, 0.0)
    for start, end, reason in [("x", 1, "invalid time"), (True, 1, "invalid time"), (None, 1, "invalid time"),
                               (float("nan"), 1, "invalid time"), ("1e400", 2, "invalid time"), (-1, 1, "negative time"),
                               (3, 2, "reversed range"), (2, 2, "empty range"), ([1], 2, "invalid time")]:
        with pytest.raises(RecordError) as err:
            parse_range(start, end, "f:1")
        assert err.value.reason == reason, (start, end)


# -- JSON files -----------------------------------------------------------------------------
def anet(tmp_path: Path, database: object, **extra: object) -> ActivityNetBuilder:
    return ActivityNetBuilder(write_activitynet_json(tmp_path, database, **extra))


def video(*segments: object, subset: str = "training", duration: object = 20.0) -> dict:
    return {"duration": duration, "subset": subset, "annotations": [{"segment": s, "label": "Tango"} for s in segments]}


def test_activitynet_bad_segments_are_excluded_one_by_one(tmp_path: Path) -> None:
    db = {
        "sJFgo9H6zNo": video([1, 3], [1, float("nan")], "15", [1], [5, 2], [-1, 3], ["1", "3"], [1, 3, 5]),
        "-bY3u9e1Xk8": video([2, 4]),
        "Zx8aNcQ4pLs": {"duration": 9, "subset": "training", "annotations": {"segment": [1, 2], "label": "Tango"}},
        "r7pWm2kQe1Y": "not an entry",
        "tE5tV1d30Xo": video([1, 2], duration="long"),
        "../../x/pwn": video([1, 2]),
    }
    # json.dumps writes NaN, which Python's json reads back: the [1, NaN] that crashed the config.
    plan = anet(tmp_path, db).plan()
    assert sorted(r.id for r in plan.records) == [
        "activitynet/-bY3u9e1Xk8_s00_w00", "activitynet/sJFgo9H6zNo_s00_w00", "activitynet/sJFgo9H6zNo_s06_w00"]
    assert reasons(plan) == {
        "invalid time": 2,  # [1, NaN]; the duration "long"
        "invalid segment": 3,  # "15" (read as [1, 5] before), [1], [1, 3, 5]
        "reversed range": 1,
        "negative time": 1,
        "malformed entry": 2,  # annotations an object; an entry that is a string
        "invalid id": 1,
    }
    details = {e.id: e.detail for e in plan.exclusions}
    assert "segment '15'; expected [start, end]" in details["activitynet/sJFgo9H6zNo_s02"]
    assert details["activitynet/sJFgo9H6zNo_s01"].startswith("activity_net.v1-3.min.json:sJFgo9H6zNo annotation 1")


@pytest.mark.parametrize(
    "database, message",
    [([{"id": "x"}], "list; expected the official"), ("x", "str; expected the official"), (None, "NoneType")],
)
def test_activitynet_wrong_file_shapes_are_clear_errors(tmp_path: Path, database: object, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        anet(tmp_path, database).plan()
    (tmp_path / "activity_net.v1-3.min.json").write_text("[1, 2]")
    with pytest.raises(AnnotationError, match="no 'database'"):
        ActivityNetBuilder(tmp_path).plan()
    (tmp_path / "activity_net.v1-3.min.json").write_text('{"database": {}, "taxonomy": [{"nodeId": [1]}]}')
    with pytest.raises(AnnotationError, match="taxonomy: expected"):
        ActivityNetBuilder(tmp_path).plan()


def test_activitynet_duplicate_keys_are_reported(tmp_path: Path) -> None:
    entry = json.dumps(video([1, 3]))
    text = (
        '{"version": "1.3", "taxonomy": [{"nodeId": 141, "nodeName": "Tango", "parentId": null}], "database": {'
        f'"sJFgo9H6zNo": {entry}, "sJFgo9H6zNo": {entry}, "-bY3u9e1Xk8": '
        '{"subset": "training", "subset": "validation", "annotations": []}}}'
    )
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "activity_net.v1-3.min.json").write_text(text)
    plan = ActivityNetBuilder(tmp_path).plan()
    assert [r.id for r in plan.records] == ["activitynet/sJFgo9H6zNo_s00_w00"]  # the first entry is used
    assert reasons(plan) == {"duplicate key": 2}  # the second copy, and the entry giving 'subset' twice
    assert any("appears more than once" in e.detail for e in plan.exclusions)


def test_activitynet_taxonomy_with_a_cycle_terminates(tmp_path: Path) -> None:
    nodes = [
        {"nodeId": 136, "nodeName": "Dancing", "parentId": 141, "parentName": "Tango"},
        {"nodeId": 141, "nodeName": "Tango", "parentId": 136, "parentName": "Dancing"},
    ]
    plan = anet(tmp_path, {"sJFgo9H6zNo": video([1, 3])}, taxonomy=nodes).plan()
    assert plan.records_read == 1


def test_bsn_csv_without_subset_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "anet_anno_action.json").write_text(json.dumps({"v_sJFgo9H6zNo": {"duration_second": 9, "annotations": []}}))
    (tmp_path / "video_info_new.csv").write_text("video,numFrame,seconds\nv_sJFgo9H6zNo,200,9\n")
    with pytest.raises(AnnotationError, match=r"video_info_new.csv: header .* lacks \['subset'\]"):
        ActivityNetBuilder(tmp_path).plan()
    (tmp_path / "anet_anno_action.json").write_text(json.dumps([1, 2]))
    (tmp_path / "video_info_new.csv").write_text("video,subset\n")
    with pytest.raises(AnnotationError, match="the top level is a list"):
        ActivityNetBuilder(tmp_path).plan()


def test_kinetics_json_twin_bad_entries(tmp_path: Path) -> None:
    text = (
        '{"-5Yp-vToI2E": {"annotations": {"label": "salsa dancing", "segment": [12.0, 22.0]}, "subset": "train"},'
        ' "kRb0xS2sTzA": "x", "aaaaaaaaaaa": {"annotations": [1]}, "aaaaaaaaaab": {"annotations": {"segment": "15"}},'
        ' "-5Yp-vToI2E": {"annotations": {"label": "salsa dancing", "segment": [1, 2]}}}'
    )
    plan = kinetics(tmp_path, text, "train.json").plan()
    assert [r.start_time for r in plan.records] == [12.0]
    assert reasons(plan) == {"malformed entry": 3, "duplicate key": 1}


def test_json_object_remembers_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": 1, "b": {"c": 1, "c": 2}, "a": 3}')
    data = read_json(path, "x")
    assert isinstance(data, JsonObject) and data == {"a": 1, "b": {"c": 1}}
    assert data.duplicates == [("a", 3)] and data["b"].duplicates == [("c", 2)]
    path.write_text("[" * 100_000)
    with pytest.raises(AnnotationError, match="not valid JSON"):
        read_json(path, "x")


# -- line lists ----------------------------------------------------------------------------
def test_letsdance_split_lists_per_line(tmp_path: Path) -> None:
    frames = tmp_path / "frames" / "samba"
    frames.mkdir(parents=True)
    from PIL import Image

    for i in range(1, 4):
        Image.new("RGB", (32, 18)).save(frames / f"TMf3baM35K0_026_{i:04d}.jpg")
    Image.new("RGB", (32, 18)).save(frames / "cover.jpg")  # not a frame name: counted
    Image.new("RGB", (32, 18)).save(frames / "../../x_0001_0001.jpg".replace("/", "_"))
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "train.csv").write_bytes(
        b"samba\tTMf3baM35K0_026\t3\r\nsamba\tno key here\t3\r\nsamba\tTMf3baM35K0_999\tlots\r\n"
        b"samba\t../../etc_001\t3\r\n\r\n"
    )
    (lists / "val.csv").write_bytes(b"")
    (lists / "test.csv").write_bytes(b"ballet\tabc_001\t2\n")
    plan = LetsDanceBuilder(tmp_path / "frames", LetsDanceBuilder.Options(splits=str(lists))).plan()
    assert [r.id for r in plan.records] == ["letsdance/TMf3baM35K0_026"]
    assert reasons(plan) == {"malformed line": 2, "invalid id": 3, "unreadable frame name": 1}
    # every non-blank list line and every image is accounted for: 5 lines + 4 images in 1 clip
    assert plan.records_read == 1 + 2 + 3 + 1
    malformed = sorted(e.detail for e in plan.exclusions if e.reason == "malformed line")
    assert malformed[0].startswith("train.csv:2: cannot read") and "class<TAB>" in malformed[0]
    assert malformed[1].startswith("train.csv:3")


def test_ucf101_lists_never_point_outside(tmp_path: Path) -> None:
    lists = tmp_path / "ucfTrainTestlist"
    lists.mkdir()
    (tmp_path / "UCF-101" / "SalsaSpin").mkdir(parents=True)
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "v_SalsaSpin_g01_c01.avi").write_bytes(b"x")
    (lists / "trainlist01.txt").write_bytes(
        b"SalsaSpin/../../secret/v_SalsaSpin_g01_c01.avi 77\r\n/abs/v_SalsaSpin_g01_c01.avi\r\n"
        b"SalsaSpin/v_Other_g01_c01.avi\r\nSalsaSpin/v_SalsaSpin_g01_c01.mp4\r\nSalsaSpin/v_SalsaSpin_g01_c01.avi\r\n"
    )
    (lists / "testlist01.txt").write_bytes("SalsaSpin/v_SalsaSpin_g02_c01.avi\u00a0x\n".encode())
    plan = UCF101Builder(tmp_path).plan()
    assert plan.records == []
    assert reasons(plan) == {"malformed line": 4, "missing video": 2}
    assert all("secret" not in getattr(r.media, "path", "") for r in plan.records)


# -- YouTube-8M vocabulary -------------------------------------------------------------------
def test_vocabulary_encoding_and_empty_file_are_clear_errors(tmp_path: Path) -> None:
    vocab = tmp_path / "vocabulary.csv"
    write_youtube8m_vocabulary(vocab)
    builder = YouTube8MBuilder(tmp_path)
    assert {e.name for e in builder.dance_entities(vocab)} >= {"Dance", "Ballet", "Flamenco"}
    vocab.write_bytes("\ufeff".encode() + vocab.read_bytes().replace(b"\n", b"\r\n"))  # BOM + CRLF: still read
    assert {e.name for e in builder.dance_entities(vocab)} >= {"Dance", "Ballet", "Flamenco"}
    vocab.write_bytes(vocab.read_text(encoding="utf-8-sig").replace("Flamenco", "Flamenco \u00e9").encode("latin-1"))
    with pytest.raises(AnnotationError, match="not UTF-8 text"):
        builder.dance_entities(vocab)
    vocab.write_text("Index,TrainVideoCount,KnowledgeGraphId,Name\n")
    with pytest.raises(AnnotationError, match="a header and no entities"):
        builder.dance_entities(vocab)
    vocab.write_text("Index,TrainVideoCount,KnowledgeGraphId,Name\n0,5,/m/x,Game\n")
    with pytest.raises(AnnotationError, match="none of the .* dance entities"):
        builder.dance_entities(vocab)
