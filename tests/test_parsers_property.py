"""Property tests of every parser: generated malformed inputs never raise anything but the
package's own errors, and every input record ends as a plan record, an exclusion with a
reason, or in a clear error for the whole file.

Runs on ``plan()`` (and YouTube-8M's per-shard ``produce()``), never on media. Examples are
derandomized and bounded, so the suite is deterministic and fast.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dance_aggregate.builders.activitynet import ActivityNetBuilder
from dance_aggregate.builders.annotations import display_id
from dance_aggregate.builders.kinetics600 import Kinetics600Builder
from dance_aggregate.builders.letsdance import LetsDanceBuilder, parse_frame_name
from dance_aggregate.builders.ucf101 import UCF101Builder
from dance_aggregate.builders.youtube8m import YouTube8MBuilder
from dance_aggregate.builders.youtube8m.sample import write_youtube8m_vocabulary
from dance_aggregate.builders.youtube8m.tfrecord import frame_record, make_example, make_sequence_example
from dance_aggregate.errors import DanceAggregateError
from dance_aggregate.records import ClipRecord, Exclusion, Plan

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- strategies ---------------------------------------------------------------------------------
#: Text on one line (the line-based formats split on LF and CR).
line_text = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=30)
yt_ids = st.one_of(
    st.sampled_from(["-5Yp-vToI2E", "kRb0xS2sTzA", "Q3n_9xYw8aE", "aB3dE5fG7hI"]),
    st.text(st.sampled_from("abcXYZ019_-"), min_size=11, max_size=11),
    line_text,
    st.sampled_from(["", "..", "/", "../../x/pwn", "a" * 300, "x\x00y"]),
)
numbers = st.one_of(
    st.integers(-10, 10_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "nan", "inf", "-inf", "1e400", "abc", " 12 ", "0x10", "1_0"]),
    line_text,
)
labels = st.one_of(st.sampled_from(["salsa dancing", "tango dancing", "zumba", "abseiling", "cartwheeling", ""]), line_text)
splits = st.one_of(st.sampled_from(["train", "val", "validate", "test", "", "VAL", "someday"]), line_text)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True), st.text(max_size=8))
json_any = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                        max_leaves=8)


_BASE: list[Path] = []


@pytest.fixture(autouse=True, scope="module")
def _scratch(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Examples write under pytest's temporary root (removed by its retention policy)."""
    _BASE.append(tmp_path_factory.mktemp("prop"))


def temp_dir() -> Path:
    return Path(tempfile.mkdtemp(dir=_BASE[-1]))


def plan_or_clear_error(make: Callable[[], Plan]) -> Plan | None:
    """The plan, or ``None`` when the file as a whole is refused with the package's error.
    Any other exception fails the test (hypothesis shows the input)."""
    try:
        plan = make()
    except DanceAggregateError as exc:
        assert str(exc), "an error without a message"
        return None
    for e in plan.exclusions:
        assert isinstance(e, Exclusion) and e.reason and e.count >= 1
    assert all(isinstance(r, ClipRecord) for r in plan.records)
    return plan


def report_ids(plan: Plan) -> set[str]:
    return {r.id for r in plan.records} | {e.id for e in plan.exclusions}


# -- Kinetics CSV --------------------------------------------------------------------------------
@st.composite
def kinetics_csv(draw: st.DrawFn) -> tuple[str, int, bool]:
    """(text, records, header complete)"""
    columns = ["label", "youtube_id", "time_start", "time_end", "split"]
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))
    if draw(st.integers(0, 9)) == 0:
        columns = columns[: draw(st.integers(0, 4))]  # a file without the columns it needs
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        values = {"label": draw(labels), "youtube_id": draw(yt_ids), "time_start": draw(numbers),
                  "time_end": draw(numbers), "split": draw(splits)}
        cells = [values[c] for c in columns]
        if draw(st.integers(0, 7)) == 0:
            cells = cells[: draw(st.integers(0, len(cells)))] + draw(st.lists(line_text, max_size=2))
        rows.append(cells)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    pad = draw(st.sampled_from(["", " ", "\t"]))
    w.writerow([f"{pad}{c}{pad}" for c in columns])
    count = 0
    for cells in rows:
        w.writerow(cells)
        count += any(c.strip() for c in cells)
    for _ in range(draw(st.integers(0, 3))):  # raw garbage lines (never blank)
        buf.write(draw(line_text.filter(lambda t: t.strip(' ,"\t\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0')
                                        and not t.isspace())) + "\n")
        count += 1
    text = buf.getvalue()
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        text = "\ufeff" + text
    needed = {"youtube_id", "time_start", "time_end"} <= set(columns)
    return text, count, needed


@PROPERTY
@given(kinetics_csv())
def test_kinetics_csv(case: tuple[str, int, bool]) -> None:
    text, count, complete = case
    d = temp_dir()
    (d / "validate.csv").write_text(text, encoding="utf-8")
    plan = plan_or_clear_error(lambda: Kinetics600Builder(d).plan())
    if plan is None:
        assert not complete  # refused as a whole only for a header without the needed columns
        return
    assert complete
    assert plan.records_read == count
    for r in plan.records:  # planned records are clean
        assert r.start_time is not None and 0 <= r.start_time < r.end_time and r.youtube_id and len(r.youtube_id) == 11


# -- Kinetics and ActivityNet JSON ------------------------------------------------------------------
def json_object(pairs: list[tuple[str, Any]]) -> str:
    """A JSON object text that may repeat keys (``json.dumps`` cannot)."""
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"


segments = st.one_of(
    st.lists(st.one_of(st.floats(-5, 500), st.sampled_from([float("nan"), float("inf")]), st.integers(-5, 500)), min_size=2, max_size=2),
    json_any,
    st.sampled_from(["15", [1, 5, 7], [], None, ["1", "3"], [True, False]]),
)


@PROPERTY
@given(st.lists(st.tuples(yt_ids, st.one_of(
    st.fixed_dictionaries({"annotations": st.fixed_dictionaries({"label": labels, "segment": segments}), "subset": splits}),
    json_any)), max_size=8))
def test_kinetics_json(pairs: list[tuple[str, Any]]) -> None:
    d = temp_dir()
    (d / "train.json").write_text(json_object(pairs), encoding="utf-8")
    plan = plan_or_clear_error(lambda: Kinetics600Builder(d).plan())
    assert plan is not None and plan.records_read == len(pairs)


annotations = st.lists(st.one_of(st.fixed_dictionaries({"segment": segments, "label": st.sampled_from(
    ["Tango", "Ballet", "Zumba", "Cumbia", "Doing step aerobics", "", 5])}), json_any), max_size=4)
anet_videos = st.one_of(
    st.fixed_dictionaries({"duration": st.one_of(st.floats(-1, 600), st.just(float("nan")), json_scalars),
                           "subset": st.sampled_from(["training", "validation", "testing", "", "x"]),
                           "annotations": st.one_of(annotations, json_any)}),
    json_any,
)


def check_coverage(plan: Plan, pairs: list[tuple[str, Any]], anns_of: Callable[[Any], Any], key_of=lambda k: k) -> None:
    """Every video is in the report; a video not excluded as a whole has every segment there."""
    ids = report_ids(plan)
    for key, entry in pairs:
        vid = display_id(key_of(key))
        prefix = f"activitynet/{vid}"
        mine = {i for i in ids if i == prefix or i.startswith(prefix + "_s")}
        assert mine, f"video {key!r} vanished"
        if prefix in {e.id for e in plan.exclusions}:
            continue  # excluded as a whole (bad id, subset, entry...)
        anns = anns_of(entry)
        for n in range(len(anns)):
            assert any(i.startswith(f"{prefix}_s{n:02d}") for i in mine), f"segment {n} of {key!r} vanished"


@PROPERTY
@given(st.lists(st.tuples(yt_ids, anet_videos), max_size=6), st.sampled_from(["ok", "list", "nodb"]))
def test_activitynet_official_json(pairs: list[tuple[str, Any]], shape: str) -> None:
    d = temp_dir()
    tax = '[{"nodeId": 136, "nodeName": "Dancing", "parentId": 0}, {"nodeId": 141, "nodeName": "Tango", "parentId": 136}]'
    database = {"ok": json_object(pairs), "list": json.dumps([v for _, v in pairs]), "nodb": "1"}[shape]
    (d / "activity_net.v1-3.min.json").write_text(f'{{"taxonomy": {tax}, "database": {database}}}', encoding="utf-8")
    plan = plan_or_clear_error(lambda: ActivityNetBuilder(d).plan())
    if shape != "ok":
        assert plan is None
        return
    assert plan is not None
    check_coverage(plan, pairs, lambda e: e.get("annotations") or [])


@PROPERTY
@given(st.lists(st.tuples(yt_ids.map(lambda v: f"v_{v}"), anet_videos), max_size=6),
       st.lists(st.tuples(line_text, st.sampled_from(["training", "validation", "testing", "x", ""])), max_size=4),
       st.booleans())
def test_activitynet_bsn(pairs: list[tuple[str, Any]], extra_rows: list[tuple[str, str]], with_subset: bool) -> None:
    d = temp_dir()
    (d / "anet_anno_action.json").write_text(json_object(pairs), encoding="utf-8")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["video", "numFrame", "seconds", "fps", "rfps", "subset" if with_subset else "part", "featureFrame"])
    for key, _ in pairs:
        w.writerow([key, 100, 10, 30, 30, "training", 96])
    for video, subset in extra_rows:
        w.writerow([video, 1, 1, 1, 1, subset, 1])
    (d / "video_info_new.csv").write_text(buf.getvalue(), encoding="utf-8")
    plan = plan_or_clear_error(lambda: ActivityNetBuilder(d).plan())
    if not with_subset:
        assert plan is None
        return
    assert plan is not None
    check_coverage(plan, pairs, lambda e: e.get("annotations") or [], key_of=lambda k: k.removeprefix("v_"))


# -- UCF101 split lists -----------------------------------------------------------------------------
ucf_lines = st.one_of(
    st.builds(lambda g, c, idx: f"SalsaSpin/v_SalsaSpin_g{g:02d}_c{c:02d}.avi{idx}", st.integers(0, 30), st.integers(0, 9),
              st.sampled_from(["", " 77", "\t77 x"])),
    st.sampled_from(["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1", "HandstandPushups/v_HandStandPushups_g01_c01.avi",
                     "SalsaSpin/../../x/v_SalsaSpin_g01_c01.avi", "", "   "]),
    line_text,
)


@PROPERTY
@given(st.lists(ucf_lines, max_size=12), st.lists(ucf_lines, max_size=6), st.sampled_from(["\n", "\r\n", "\r"]))
def test_ucf101_split_lists(train: list[str], test: list[str], end: str) -> None:
    d = temp_dir()
    (d / "UCF-101" / "SalsaSpin").mkdir(parents=True)
    (d / "UCF-101" / "SalsaSpin" / "v_SalsaSpin_g01_c01.avi").write_bytes(b"")
    lists = d / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "trainlist01.txt").write_text(end.join(train), encoding="utf-8", newline="")
    (lists / "testlist01.txt").write_text(end.join(test), encoding="utf-8", newline="")
    plan = plan_or_clear_error(lambda: UCF101Builder(d).plan())
    assert plan is not None
    assert plan.records_read == sum(1 for line in train + test if line.strip())
    assert all(Path(r.media.path).parent == d / "UCF-101" / "SalsaSpin" for r in plan.records)


# -- Let's Dance names and split lists ----------------------------------------------------------
frame_names = st.one_of(
    st.builds(lambda yt, s, r: f"{yt}_{s}_{r:04d}.jpg", yt_ids.filter(lambda v: "/" not in v and v not in (".", "..")),
              st.sampled_from(["053", "1314", "075", "0"]), st.integers(0, 40)),
    line_text.map(lambda t: t.replace("/", "_") + ".jpg"),
    st.sampled_from(["cover.jpg", "notes.txt", "_053_0001.jpg", "x_y_z.JPG"]),
)
list_lines = st.one_of(
    st.builds(lambda c, k, n: f"{c}\t{k}\t{n}", st.sampled_from(["ballet", "tango", "nope"]),
              st.sampled_from(["0DvqbnEtyNY_053", "-2W1PfHleRM_033", "../../x_001", "abc_1", "nokey"]),
              st.sampled_from(["30", "", "lots", "-1"])),
    line_text,
)


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(["ballet", "tango", "weird class"]), frame_names), min_size=1, max_size=15),
       st.one_of(st.none(), st.lists(list_lines, max_size=8)))
def test_letsdance_names_and_split_lists(members: list[tuple[str, str]], lines: list[str] | None) -> None:
    d = temp_dir()
    archive = d / "letsdance.zip"
    names = sorted({f"rgb/{cls}/{name}" for cls, name in members})
    with zipfile.ZipFile(archive, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # names cut at a NUL may repeat
        for name in names:
            zf.writestr(name, b"")
    with zipfile.ZipFile(archive) as zf:  # the names as stored (zipfile cuts a name at NUL)
        names = [i.orig_filename for i in zf.infolist() if not i.orig_filename.endswith("/")]
    options: dict[str, str] = {}
    if lines is not None:
        (d / "lists").mkdir()
        (d / "lists" / "train.csv").write_text("\n".join(lines), encoding="utf-8")
        options["splits"] = str(d / "lists")
    plan = plan_or_clear_error(lambda: LetsDanceBuilder(archive, LetsDanceBuilder.parse_options(options)).plan())
    frames = [n for n in names if n.lower().endswith((".jpg", ".jpeg"))]
    if plan is None:
        assert not frames or not any(parse_frame_name(n) for n in frames)  # nothing to build from
        return
    ids = report_ids(plan)
    stray = sum(e.count for e in plan.exclusions if e.reason == "unreadable frame name")
    assert stray == sum(1 for n in frames if parse_frame_name(n) is None)
    for n in frames:
        parsed = parse_frame_name(n)
        if parsed:
            assert f"letsdance/{display_id(f'{parsed[0]}_{parsed[1]}')}" in ids, n
    for i, line in enumerate(lines or [], start=1):
        if not line.strip():
            continue
        fields = [x.strip() for x in line.split("\t")]
        key_covered = len(fields) > 1 and f"letsdance/{display_id(fields[1])}" in ids
        assert key_covered or f"letsdance/train.csv:{i}" in ids, line


# -- YouTube-8M vocabulary and TFRecords ----------------------------------------------------------------
@PROPERTY
@given(st.lists(line_text, max_size=6), st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
       st.booleans(), st.booleans())
def test_youtube8m_vocabulary(extra: list[str], encoding: str, keep_rows: bool, drop_column: bool) -> None:
    d = temp_dir()
    vocab = d / "vocabulary.csv"
    write_youtube8m_vocabulary(vocab)
    lines = vocab.read_text(encoding="utf-8").splitlines()
    if drop_column:
        lines[0] = lines[0].replace("TrainVideoCount", "Count")
    lines = lines if keep_rows else lines[:1]
    text = "\n".join(lines + extra) + "\n"
    try:
        vocab.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        return
    try:
        entities = YouTube8MBuilder(d).dance_entities(vocab)
    except DanceAggregateError:
        return
    assert entities and keep_rows and not drop_column


feature_values = st.one_of(
    st.binary(max_size=8),
    st.lists(st.binary(max_size=4), max_size=3),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=4).map(lambda v: np.array(v, dtype=np.int64)),
    st.integers(0, 1100).map(lambda n: np.zeros(n, dtype=np.float32)),
)
contexts = st.dictionaries(st.sampled_from(["id", "video_id", "labels", "mean_rgb", "mean_audio", "x"]), feature_values,
                           max_size=5)
records = st.one_of(
    contexts.map(make_example),
    st.tuples(contexts, st.dictionaries(st.sampled_from(["rgb", "audio"]),
                                        st.lists(st.binary(max_size=1030), max_size=3), max_size=2))
    .map(lambda cs: make_sequence_example(*cs)),
    st.builds(lambda vid, labels: make_example({"id": vid.encode("utf-8", "surrogatepass"), "labels": np.array(labels, np.int64),
                                                "mean_rgb": np.zeros(1024, np.float32), "mean_audio": np.zeros(128, np.float32)}),
              yt_ids, st.lists(st.sampled_from([8, 206, 0, 3737, -1]), max_size=3)),
    st.binary(max_size=40),  # not a message at all
)


@PROPERTY
@given(st.lists(records, max_size=8), st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.integers(0, 255))),
       st.one_of(st.none(), st.integers(0, 10_000)))
def test_youtube8m_tfrecords(messages: list[bytes], flip: tuple[int, int] | None, cut: int | None) -> None:
    d = temp_dir()
    write_youtube8m_vocabulary(d / "vocabulary.csv")
    data = bytearray(b"".join(frame_record(m) for m in messages))
    if flip and data:
        data[flip[0] % len(data)] ^= flip[1] or 1
    if cut is not None and data:
        data = data[: cut % len(data)]
    (d / "train0000.tfrecord").write_bytes(bytes(data))
    builder = YouTube8MBuilder(d)
    plan = plan_or_clear_error(builder.plan)
    assert plan is not None
    for record in plan.records:
        produced = builder.read_features(record.media, builder.options)  # never raises: every record is a row or an exclusion
        assert produced.read == len(produced.rows) + sum(e.count for e in produced.exclusions)
        if flip is None and cut is None:
            assert produced.read == len(messages)
