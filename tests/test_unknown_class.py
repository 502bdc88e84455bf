"""A label that is no class of its source (a typo, or another release's class) is excluded as
``unknown class``, never as ``not a dance class``: counted, and named in one warning per config.

Each source's class list is checked against the real label files in ``tests/data/``; each
builder is given a typo and a label of another release of its source.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import dance_aggregate as da
from dance_aggregate.builders import registry
from dance_aggregate.builders.activitynet import ActivityNetBuilder
from dance_aggregate.builders.base import load_crosswalk
from dance_aggregate.builders.classlist import read_class_list, unknown_class_warning
from dance_aggregate.builders.kinetics600 import Kinetics600Builder, Kinetics600MotionBuilder
from dance_aggregate.builders.letsdance import LetsDanceBuilder
from dance_aggregate.builders.ucf101 import UCF101Builder
from dance_aggregate.builders.youtube8m import YouTube8MBuilder
from dance_aggregate.builders.youtube8m.sample import write_youtube8m_vocabulary
from dance_aggregate.builders.youtube8m.tfrecord import make_example, write_records
from dance_aggregate.builders.youtube8m.vocabulary import IndexSet, index_runs
from dance_aggregate.errors import TaxonomyError
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.files.csvfiles import read_rows
from dance_aggregate.media.synth import write_video
from dance_aggregate.records import Exclusion
from dance_aggregate.taxonomy import NOT_DANCE, UNKNOWN_CLASS, Taxonomy

DATA = Path(__file__).parent / "data"
LABELS = DATA / "labels"
PACKAGE = Path(da.__file__).parent
#: Kinetics-700-2020 classes that Kinetics-600 lacks (label_map_k700.txt of the release; the
#: two dance ones are in the design notes).
K700_ONLY = ("shoot dance", "silent disco", "ski ballet")


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return registry.taxonomy()


def _lines(path: Path) -> list[str]:
    return [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _reasons(exclusions: list[Exclusion]) -> Counter[str]:
    out: Counter[str] = Counter()
    for e in exclusions:
        out[e.reason] += e.count
    return out


# -- the class lists against the real files ---------------------------------------------------
def test_every_class_of_the_real_lists_is_known(tax):
    """Each declared list is the real one, name for name, and each of its classes is a class."""
    real = {
        "kinetics600": _lines(LABELS / "label_map_600.txt"),
        "ucf101": [line.split()[1] for line in _lines(DATA / "ucf101" / "classInd.txt")],
        "activitynet": [r["action"] for r in csv.DictReader((LABELS / "action_name.csv").open(encoding="utf-8"))],
        "letsdance": sorted({line.split("\t")[0] for line in _lines(LABELS / "letsdance_all_videos_complete.csv")}),
    }
    assert {s: len(v) for s, v in real.items()} == {"kinetics600": 600, "ucf101": 101, "activitynet": 200, "letsdance": 16}
    for source, names in real.items():
        cw = tax.crosswalk(source)
        assert sorted(cw.classes or ()) == sorted(names), source
        assert all(tax.is_class(source, n) for n in names), source
        # Lookups ignore case and spacing, as label lookups do.
        assert all(tax.is_class(source, f"  {n.upper()} ") for n in names), source
    # The shipped copies are the real files, byte for byte.
    assert (PACKAGE / "builders/kinetics600/classes.txt").read_bytes() == (LABELS / "label_map_600.txt").read_bytes()
    assert (PACKAGE / "builders/ucf101/classInd.txt").read_bytes() == (DATA / "ucf101" / "classInd.txt").read_bytes()
    assert (PACKAGE / "builders/activitynet/action_name.csv").read_bytes() == (LABELS / "action_name.csv").read_bytes()


def test_every_crosswalk_entry_is_a_class(tax):
    """A key of `labels` or `exclude` that is no class would be a typo in the crosswalk; the one
    exception is Kinetics-400's `swinging legs`, which Kinetics-600 dropped."""
    outside = {}
    for source, cw in tax.crosswalks.items():
        if cw.classes is None:
            continue
        keys = {k.casefold() for k in cw.classes}
        outside[source] = sorted(k for k in [*cw.labels, *cw.exclude] if k.casefold() not in keys)
    assert {"ucf101", "activitynet", "kinetics600", "letsdance"} <= set(outside)
    assert {s: keys for s, keys in outside.items() if keys} == {"kinetics600": ["swinging legs"]}


def test_another_releases_classes_are_unknown(tax):
    k600 = set(_lines(LABELS / "label_map_600.txt"))
    k400 = _lines(LABELS / "label_map.txt")
    dropped = {n for n in k400 if n not in k600}  # Kinetics-400 names Kinetics-600 renamed or dropped
    assert len(dropped) == 32 and "swinging legs" in dropped
    # ... one of them only by case: "passing American football (not in game)" is a class.
    dropped -= {n for n in dropped if n.casefold() in {x.casefold() for x in k600}}
    assert dropped and "passing American football (not in game)" not in dropped
    assert {n for n in k400 if not tax.is_class("kinetics600", n)} == dropped - {"swinging legs"}
    for name in K700_ONLY:
        assert name not in k600 and not tax.is_class("kinetics600", name)
    assert not tax.is_class("kinetics600", "salsa dancin") and tax.is_class("kinetics600", "Salsa  Dancing")
    # ActivityNet: a leaf of the website's older v1.0 tree that is no 1.3 class.
    assert not tax.is_class("activitynet", "Bowling") and tax.is_class("activitynet", "bowling", frozenset({"bowling"}))
    # YouTube-8M declares none: its vocabulary.csv is read from the data dir.
    assert tax.crosswalk("youtube8m").classes is None and tax.is_class("youtube8m", "anything")


def test_real_vocabulary_indices(tmp_path):
    """The 2018 vocabulary's indices are one run, 0..3861; a trimmed one has gaps."""
    (tmp_path / "vocabulary.csv").write_bytes((LABELS / "yt8m_vocabulary_names.csv").read_bytes())
    entities, runs = YouTube8MBuilder(tmp_path).read_vocabulary(tmp_path / "vocabulary.csv")
    assert runs == [[0, 3861]] and {e.name for e in entities} >= {"Dance", "Ballet"}
    known = IndexSet(runs)
    assert known(0) and known(3861) and not known(3862) and not known(-1) and not known(4715)
    assert index_runs({0, 1, 2, 5, 7, 8}) == [[0, 2], [5, 5], [7, 8]]
    gaps = IndexSet(index_runs({0, 1, 2, 5, 7, 8}))
    assert [i for i in range(-1, 10) if gaps(i)] == [0, 1, 2, 5, 7, 8]
    assert IndexSet(None)(10**9)  # a plan made without the indices treats every index as known


def test_class_list_forms(tmp_path):
    assert read_class_list("dance_aggregate.builders.ucf101", {"file": "classInd.txt", "numbered": True})[76] == "SalsaSpin"
    assert read_class_list("x", ["a  b", "c"]) == ["a b", "c"]
    assert load_crosswalk("dance_aggregate.builders.letsdance")["classes"][0] == "ballet"
    for bad, match in [(5, "expected a file name"), ({"file": "nope.txt"}, "cannot read"),
                       ({"file": "crosswalk.yaml", "numbered": True}, "is not '<index> <class>'"), ([""], "empty")]:
        with pytest.raises(TaxonomyError, match=match):
            read_class_list("dance_aggregate.builders.ucf101", bad)
    with pytest.raises(TaxonomyError, match="expected a list"):
        registry.taxonomy().with_crosswalks({"x": {"labels": {}, "classes": "classes.txt"}})


# -- the warning ---------------------------------------------------------------------------------
def test_warning_names_the_commonest_examples_and_the_count():
    ex = [Exclusion(f"k/{i}", UNKNOWN_CLASS, "", "train", "salsa dancin") for i in range(2)]
    ex += [Exclusion("k/3", UNKNOWN_CLASS, "", "train", "shoot dance"), Exclusion("k/4", NOT_DANCE, "", "train", "abseiling")]
    msg = unknown_class_warning("kinetics600", "Kinetics-600", ex)
    assert msg == (
        "kinetics600: 3 records have a label that is not a class of Kinetics-600 ('salsa dancin' x2, 'shoot dance' x1): "
        "typos, or another release's file? They are excluded as 'unknown class' (each is in "
        "reports/kinetics600.excluded.csv)"
    )
    assert unknown_class_warning("kinetics600", "Kinetics-600", ex[3:]) is None
    many = [Exclusion(f"y/{i}", UNKNOWN_CLASS, "", "train", str(4000 + i), count=10 - i) for i in range(5)]
    many.append(Exclusion("y/x", UNKNOWN_CLASS, "", "train", "a\x00" + "b" * 500))
    msg = unknown_class_warning("youtube8m", "YouTube-8M", many)
    assert "41 records" in msg and "6 distinct labels, e.g. '4000' x10, '4001' x9, '4002' x8" in msg and "\x00" not in msg


# -- each builder ---------------------------------------------------------------------------------
K_ROWS = [
    "salsa dancin,aaaaaaaaaaa,1,11,val",  # a typo
    "salsa dancin,bbbbbbbbbbb,1,11,val",
    "shoot dance,ccccccccccc,1,11,val",  # a Kinetics-700 class
    "abseiling,ddddddddddd,1,11,val",  # a Kinetics-600 class that is not dance
    "Salsa  Dancing ,eeeeeeeeeee,1,11,val",  # case and spacing aside, a dance class
    "cartwheeling,fffffffffff,1,11,val",  # motion family
]


def _kinetics(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "validate.csv").write_text("label,youtube_id,time_start,time_end,split\n" + "\n".join(K_ROWS) + "\n")
    return root


def test_kinetics(tmp_path):
    plan = Kinetics600Builder(_kinetics(tmp_path / "k")).plan()
    assert [r.source_label for r in plan.records] == ["Salsa  Dancing"]
    assert _reasons(plan.exclusions) == {UNKNOWN_CLASS: 3, NOT_DANCE: 2}
    assert sorted(e.source_label for e in plan.exclusions if e.reason == UNKNOWN_CLASS) == ["salsa dancin"] * 2 + ["shoot dance"]
    motion = Kinetics600MotionBuilder(tmp_path / "k").plan()
    assert [r.source_label for r in motion.records] == ["cartwheeling"]
    assert _reasons(motion.exclusions) == {UNKNOWN_CLASS: 3, "not a motion class": 1, "dance class (in the kinetics600 config)": 1}
    msg = unknown_class_warning("kinetics600", "Kinetics-600", plan.exclusions)
    assert msg is not None and "3 records" in msg and "'salsa dancin' x2, 'shoot dance' x1" in msg


def test_ucf101(tmp_path):
    base = tmp_path / "ucf"
    (base / "UCF-101" / "SalsaSpin").mkdir(parents=True)
    (base / "ucfTrainTestlist").mkdir()
    lines = ["SalsaSpinn/v_SalsaSpinn_g01_c01.avi 1",  # a typo
             "Walking/v_Walking_g01_c01.avi 2",  # a class of UCF11, not of UCF101
             "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 1",  # a UCF101 class, not dance
             "salsaspin/v_SALSASPIN_g02_c01.avi 77"]  # SalsaSpin, case aside (no video here)
    (base / "ucfTrainTestlist" / "trainlist01.txt").write_text("\r\n".join(lines) + "\r\n")
    (base / "ucfTrainTestlist" / "testlist01.txt").write_text("")
    plan = UCF101Builder(base).plan()
    assert _reasons(plan.exclusions) == {UNKNOWN_CLASS: 2, NOT_DANCE: 1, "missing video": 1}
    assert {e.source_label for e in plan.exclusions if e.reason == UNKNOWN_CLASS} == {"SalsaSpinn", "Walking"}


def test_activitynet(tmp_path):
    def plan(taxonomy: list | None):
        labels = ["Tangoo", "Bowling", "Washing dishes", "tango"]  # typo, a v1.0-tree leaf, not dance, dance
        db = {"abcdefghijk": {"duration": 30, "subset": "training",
                              "annotations": [{"segment": [i, i + 1], "label": x} for i, x in enumerate(labels)]}}
        (tmp_path / "anet").mkdir(exist_ok=True)
        doc = {"version": "VERSION 1.3", "database": db, **({"taxonomy": taxonomy} if taxonomy else {})}
        (tmp_path / "anet" / "activity_net.v1-3.min.json").write_text(json.dumps(doc))
        return ActivityNetBuilder(tmp_path / "anet").plan()

    p = plan(None)
    assert [r.source_label for r in p.records] == ["tango"]
    assert {e.source_label: e.reason for e in p.exclusions} == {
        "Tangoo": UNKNOWN_CLASS, "Bowling": UNKNOWN_CLASS, "Washing dishes": NOT_DANCE}
    # A tree given with the annotations adds its leaves to the 200 classes.
    tree = [{"nodeId": 1, "nodeName": "Root", "parentId": None}, {"nodeId": 2, "nodeName": "Bowling", "parentId": 1},
            {"nodeId": 3, "nodeName": "Dancing", "parentId": 1}, {"nodeId": 4, "nodeName": "Tango", "parentId": 3}]
    p = plan(tree)
    assert {e.source_label: e.reason for e in p.exclusions} == {
        "Tangoo": UNKNOWN_CLASS, "Bowling": NOT_DANCE, "Washing dishes": NOT_DANCE}


def test_letsdance(tmp_path):
    root = tmp_path / "ld"
    for start, cls in enumerate(("TANGO", "balet", "salsa")):  # a class (case aside), a typo, no class of Let's Dance
        (root / cls).mkdir(parents=True)
        for i in range(1, 4):
            (root / cls / f"0DvqbnEtyNY_{start:03d}_{i:04d}.jpg").write_bytes(b"")
    plan = LetsDanceBuilder(root).plan()
    assert [r.source_label for r in plan.records] == ["TANGO"]
    assert {e.source_label: e.reason for e in plan.exclusions} == {"balet": UNKNOWN_CLASS, "salsa": UNKNOWN_CLASS}


def _example(vid: str, labels: list[int]) -> bytes:
    return make_example({"id": vid.encode(), "labels": np.array(labels, np.int64),
                         "mean_rgb": np.zeros(1024, np.float32), "mean_audio": np.zeros(128, np.float32)})


YT_VIDEOS = [("aa01", [9999]), ("aa02", [1, 9999]), ("aa03", [4000, 5000]), ("aa04", [-1]),  # no class of the vocabulary
             ("aa05", [0, 1]),  # classes, not dance
             ("aa06", [8, 9999])]  # dance: a row (the unknown index costs nothing)


def _yt8m(root: Path) -> Path:
    write_youtube8m_vocabulary(root / "vocabulary.csv")  # 27 real rows, indices 0..3802 with gaps
    write_records(root / "train0000.tfrecord", [_example(v, labels) for v, labels in YT_VIDEOS])
    return root


def test_youtube8m(tmp_path):
    builder = YouTube8MBuilder(_yt8m(tmp_path / "yt"))
    plan = builder.plan()
    produced = builder.read_features(plan.records[0].media, builder.options)
    assert [r["source_id"] for r in produced.rows] == ["aa06"]
    assert _reasons(produced.exclusions) == {UNKNOWN_CLASS: 4, NOT_DANCE: 1}
    unknown = {e.source_label: e.count for e in produced.exclusions if e.reason == UNKNOWN_CLASS}
    assert unknown == {"9999": 2, "4000": 1, "-1": 1}  # each video under its smallest unknown index
    assert produced.read == len(produced.rows) + sum(e.count for e in produced.exclusions)
    # 2 is between the sample's indices 1 and 3: a gap of the trimmed vocabulary, unknown too.
    assert not IndexSet(plan.records[0].media.context["classes"])(2)


# -- through the build: counted, reported, one warning ------------------------------------------
def _unknown_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "not a class of" in r.getMessage()]


def test_build_counts_reports_and_warns_once(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="dance_aggregate")
    data = {"kinetics600": _kinetics(tmp_path / "k"), "youtube8m": _yt8m(tmp_path / "yt")}
    # The dance row's video, in the mirror's naming (<split>/<id>_<start>_<end>.mp4).
    write_video(tmp_path / "kv" / "val" / "eeeeeeeeeee_000001_000011.mp4", seed=1, seconds=10.0, fps=10, width=64, height=48)
    result = da.build(configs=["kinetics600", "youtube8m"], data_dirs=data, video_dirs={"kinetics600": tmp_path / "kv"},
                      output=tmp_path / "out", progress=False, fetch=FetchOptions(offline=True))
    acc = result.accounting()
    assert acc["kinetics600"].excluded == {UNKNOWN_CLASS: 3, NOT_DANCE: 2} and acc["kinetics600"].rows_written == 1
    assert acc["youtube8m"].excluded == {UNKNOWN_CLASS: 4, NOT_DANCE: 1} and acc["youtube8m"].rows_written == 1
    warnings = _unknown_warnings(caplog)
    assert len(warnings) == 2, warnings  # one per config
    k = next(w for w in warnings if w.startswith("kinetics600:"))
    assert "3 records" in k and "Kinetics-600" in k and "'salsa dancin' x2, 'shoot dance' x1" in k
    y = next(w for w in warnings if w.startswith("youtube8m:"))
    assert "4 records" in y and "YouTube-8M" in y and "'9999' x2" in y
    rows = list(read_rows(tmp_path / "out" / "reports" / "kinetics600.excluded.csv"))
    assert sorted(r["source_label"] for r in rows if r["reason"] == UNKNOWN_CLASS) == ["salsa dancin", "salsa dancin", "shoot dance"]
