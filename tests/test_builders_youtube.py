"""Kinetics-600 and ActivityNet parsers on the real annotation files (excerpts in tests/data),
the JSON twin and official JSON formats, mirrors, and the offline ``--sample`` build."""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from dance_aggregate.builders import registry
from dance_aggregate.builders.activitynet.builder import (
    ActivityNetBuilder,
    _nodes,
    spread_windows,
    taxonomy_leaves_under,
)
from dance_aggregate.builders.kinetics600 import (
    Kinetics600Builder,
    Kinetics600MotionBuilder,
)
from dance_aggregate.cli import cli
from dance_aggregate.errors import ConfigError, DataDirError
from dance_aggregate.records import LocalCut, RemoteCut
from tests.helpers_sample import expected_activitynet, expected_kinetics600

DATA = Path(__file__).parent / "data"
K600 = DATA / "kinetics600"
ANET = DATA / "activitynet"
LABELS = DATA / "labels"  # the ActivityNet taxonomy files (shared with the taxonomy tests)


@pytest.fixture
def anet_dir(tmp_path: Path) -> Path:
    """The BSN copy (excerpt) plus the official taxonomy tree, in one --data-dir."""
    import shutil

    d = tmp_path / "anet"
    d.mkdir()
    for name in ("anet_anno_action.json", "video_info_new.csv"):
        shutil.copy(ANET / name, d / name)
    shutil.copy(LABELS / "activity_net_taxonomy.json", d / "activity_net_taxonomy.json")
    return d


def test_registry_and_default_build() -> None:
    assert registry.get_config("kinetics600").builder is Kinetics600Builder
    assert registry.get_config("kinetics600_motion").builder is Kinetics600MotionBuilder
    assert registry.get_config("activitynet").builder is ActivityNetBuilder
    assert registry.get_config("kinetics600").default_build and not registry.get_config("kinetics600_motion").default_build


def test_kinetics_real_csvs(tmp_path: Path) -> None:
    plan = Kinetics600Builder(K600).plan()
    with (K600 / "validate.csv").open() as f:
        val = list(csv.DictReader(f))
    with (K600 / "test.csv").open() as f:
        test = list(csv.DictReader(f))
    assert plan.records_read == len(val) + len(test)
    labels = Counter(r.source_label for r in plan.records)
    # 20 dance classes, 50 val clips each (marching is not dance: it is in kinetics600_motion)
    assert len(labels) == 20 and set(labels.values()) == {50} and "marching" not in labels
    assert {r.split for r in plan.records} == {"validation"}
    reasons = Counter(e.reason for e in plan.exclusions)
    assert reasons["no label"] == len(test)
    assert reasons["not a dance class"] == len(val) - 20 * 50
    r = plan.records[0]
    assert r.group == r.youtube_id and r.id == f"kinetics600/{r.youtube_id}_{int(r.start_time):06d}_{int(r.end_time):06d}"
    assert isinstance(r.media, RemoteCut) and r.media.youtube_id == r.youtube_id


def test_kinetics_motion_config(tmp_path: Path) -> None:
    plan = Kinetics600MotionBuilder(K600).plan()
    assert {r.family for r in plan.records} == {"motion"}
    assert len(plan.records) == 10 * 50  # the 9 body-motion classes and marching
    assert Counter(r.source_label for r in plan.records)["marching"] == 50
    assert Counter(e.reason for e in plan.exclusions)["dance class (in the kinetics600 config)"] == 20 * 50


def test_kinetics_json_twin_and_mirror(tmp_path: Path) -> None:
    with (K600 / "validate.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["label"] in ("salsa dancing", "abseiling")][:60]
    twin = {
        r["youtube_id"]: {
            "annotations": {"label": r["label"], "segment": [float(r["time_start"]), float(r["time_end"])]},
            "duration": 10.0,
            "subset": "validate",
            "url": f"https://www.youtube.com/watch?v={r['youtube_id']}",
        }
        for r in rows
    }
    data = tmp_path / "k"
    data.mkdir()
    (data / "validate.json").write_text(json.dumps(twin))
    first = next(r for r in rows if r["label"] == "salsa dancing")
    stem = f"{first['youtube_id']}_{int(first['time_start']):06d}_{int(first['time_end']):06d}"
    mirror = tmp_path / "videos" / "val"
    mirror.mkdir(parents=True)
    (mirror / f"{stem}.webm").write_bytes(b"x")
    plan = Kinetics600Builder(data, video_dir=tmp_path / "videos").plan()
    assert len(plan.records) == sum(r["label"] == "salsa dancing" for r in rows)
    by_id = {r.source_id: r for r in plan.records}
    assert by_id[stem].media == LocalCut(str(mirror / f"{stem}.webm"), 0.0, 10.0)
    assert {r.split for r in plan.records} == {"validation"}


def test_kinetics_layout_error(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match="validate.csv"):
        Kinetics600Builder(tmp_path).plan()


def _dance_leaves(name: str) -> set[str]:
    roots = registry.taxonomy().crosswalk("activitynet").taxonomy_roots
    return taxonomy_leaves_under(_nodes(json.loads((LABELS / name).read_text())), roots)


def test_activitynet_taxonomy_tree_and_crosswalk_agree() -> None:
    cw = registry.taxonomy().crosswalk("activitynet")
    for name in ("activity_net_taxonomy.json", "simple_activitynet_hierarchy.json"):
        leaves = _dance_leaves(name)
        assert leaves == {"Belly dance", "Breakdancing", "Cheerleading", "Cumbia", "Tango"}, name
        assert leaves <= set(cw.labels)
    # Every crosswalk label is an ActivityNet leaf (Ballet and Zumba sit elsewhere in the tree).
    nodes = _nodes(json.loads((LABELS / "simple_activitynet_hierarchy.json").read_text()))
    assert set(cw.labels) <= {n["nodeName"] for n in nodes}


def test_activitynet_bsn_copy(anet_dir: Path, tmp_path: Path) -> None:
    opts = ActivityNetBuilder.Options(max_window=10.0, max_windows_per_segment=0)  # every window
    plan = ActivityNetBuilder(anet_dir, opts).plan()
    anno = json.loads((ANET / "anet_anno_action.json").read_text())
    with (ANET / "video_info_new.csv").open() as f:
        subset = {r["video"]: r["subset"] for r in csv.DictReader(f)}
    dance = set(registry.taxonomy().crosswalk("activitynet").labels)
    # Independent accounting: testing videos + non-dance segments + windows of dance segments
    # + dropped degenerate dance segments.
    expected_windows, degenerate, testing, other = 0, 0, 0, 0
    for key, v in anno.items():
        if subset[key] == "testing":
            testing += 1
            continue
        for a in v["annotations"]:
            if a["label"] not in dance:
                other += 1
                continue
            s, e = max(0.0, a["segment"][0]), min(a["segment"][1], v["duration_second"])
            if e - s < 0.5:
                degenerate += 1
            else:
                expected_windows += math.ceil((e - s) / 10.0 - 1e-9)
    reasons = Counter(e.reason for e in plan.exclusions)
    assert len(plan.records) == expected_windows
    assert reasons["testing subset has no labels"] == testing == 100
    assert reasons["not a dance class"] == other
    assert reasons["degenerate segment"] + reasons["segment beyond the video"] == degenerate > 0
    assert plan.records_read == expected_windows + testing + other + degenerate
    assert {r.split for r in plan.records} == {"train", "validation"}
    # Windows: at most max_window, consecutive, covering the clamped segment, one group per video.
    by_seg: dict[str, list] = {}
    for r in plan.records:
        assert 0 < r.end_time - r.start_time <= 10.0 + 1e-6
        assert r.group == r.youtube_id and not r.youtube_id.startswith("v_")
        by_seg.setdefault(r.source_id.rsplit("_w", 1)[0], []).append(r)
    for recs in by_seg.values():
        recs.sort(key=lambda r: r.start_time)
        for a, b in itertools.pairwise(recs):
            assert a.end_time == pytest.approx(b.start_time)
        assert len({(r.media.fetch_start, r.media.fetch_end) for r in recs}) == 1  # one download
    assert any(len(v) > 1 for v in by_seg.values())


def test_spread_windows() -> None:
    assert spread_windows(13, 0) == list(range(13)) and spread_windows(2, 3) == [0, 1]
    assert spread_windows(13, 1) == [6] and spread_windows(13, 3) == [0, 6, 12]
    assert spread_windows(10, 4) == [0, 3, 6, 9] and spread_windows(5, 5) == [0, 1, 2, 3, 4]
    for n in range(1, 40):
        for cap in range(1, 8):
            kept = spread_windows(n, cap)
            assert len(kept) == min(n, cap) and kept == sorted(set(kept)) and 0 <= kept[0] and kept[-1] < n


def test_activitynet_window_cap_keeps_every_video(anet_dir: Path, tmp_path: Path) -> None:
    """The cap lowers rows per video, never the videos per label; dropped windows are counted."""
    plans = {
        cap: ActivityNetBuilder(anet_dir, ActivityNetBuilder.Options(max_windows_per_segment=cap)).plan()
        for cap in (0, 1, 3)
    }
    assert ActivityNetBuilder.Options().max_windows_per_segment == 3  # the documented default
    full = {r.id: r for r in plans[0].records}
    for cap, plan in plans.items():
        assert plan.records_read == plans[0].records_read  # the same input, accounted for
        videos = {label: {r.group for r in plan.records if r.label == label} for label in {r.label for r in full.values()}}
        assert videos == {label: {r.group for r in full.values() if r.label == label} for label in videos}
        by_seg = Counter(r.source_id.rsplit("_w", 1)[0] for r in plan.records)
        if cap:
            assert max(by_seg.values()) == cap
            capped = [e for e in plan.exclusions if e.reason == "window cap"]
            assert sum(e.count for e in capped) == len(full) - len(plan.records) > 0
            assert all(f"max_windows_per_segment={cap}" in e.detail for e in capped)
        for r in plan.records:  # a kept window is the same window, same id, as without a cap
            assert (r.start_time, r.end_time) == (full[r.id].start_time, full[r.id].end_time)
    assert len(plans[1].records) < len(plans[3].records) < len(plans[0].records)


def test_activitynet_official_format_and_mirror(tmp_path: Path) -> None:
    from dance_aggregate.builders.activitynet.sample import make_sample as make_activitynet

    src = make_activitynet(tmp_path)
    b = ActivityNetBuilder(src.data_dir, ActivityNetBuilder.Options(max_window=2.0), video_dir=src.video_dir)
    plan = b.plan()
    expected = expected_activitynet(src.data_dir, src.video_dir, max_window=2.0)
    assert len(plan.records) == expected.planned
    assert Counter(e.reason for e in plan.exclusions) == expected.plan_exclusions
    # The Tango segment of the first video (the first annotation): equal consecutive windows.
    doc = json.loads((src.data_dir / "activity_net.v1-3.min.json").read_text())
    ann = doc["database"]["sJFgo9H6zNo"]["annotations"][0]
    (start, end), n = ann["segment"], math.ceil((ann["segment"][1] - ann["segment"][0]) / 2.0)
    assert ann["label"] == "Tango" and n > 1
    tango = sorted((r for r in plan.records if r.youtube_id == "sJFgo9H6zNo" and r.source_label == "Tango"), key=lambda r: r.start_time)
    step = (end - start) / n
    bounds = [b for r in tango for b in (r.start_time, r.end_time)]
    assert bounds == pytest.approx([b for i in range(n) for b in (start + i * step, start + (i + 1) * step)])
    assert tango[-1].id == f"activitynet/sJFgo9H6zNo_s00_w{n - 1:02d}"
    assert tango[0].media.path.endswith("v_sJFgo9H6zNo.mp4")
    assert expected.missing  # the sample lists a video its mirror lacks: planned, with no local path
    assert all(isinstance(r.media, RemoteCut) for r in plan.records if r.youtube_id in expected.missing)


def test_activitynet_unmapped_dance_leaf_is_reported(tmp_path: Path) -> None:
    doc = {
        "version": "VERSION 1.3",
        "taxonomy": [
            {"nodeId": 1, "nodeName": "Dancing", "parentId": None, "parentName": None},
            {"nodeId": 2, "nodeName": "Polka", "parentId": 1, "parentName": "Dancing"},
        ],
        "database": {"abcdefghijk": {"duration": 9, "subset": "training", "annotations": [{"segment": [1, 3], "label": "Polka"}]}},
    }
    (tmp_path / "activity_net.v1-3.min.json").write_text(json.dumps(doc))
    plan = ActivityNetBuilder(tmp_path).plan()
    assert [e.reason for e in plan.exclusions] == ["dance class missing from the crosswalk"]


def test_label_lookups_ignore_case_and_spacing(tmp_path: Path) -> None:
    """`Tango ` and `Salsa Dancing` are dance classes; rows keep the source's spelling."""
    doc = {
        "version": "VERSION 1.3",
        "database": {
            "abcdefghijk": {"duration": 30, "subset": "training", "annotations": [
                {"segment": [1, 5], "label": "Tango "}, {"segment": [6, 9], "label": "belly  DANCE"},
                {"segment": [10, 12], "label": "Washing dishes"}]},
        },
    }
    (tmp_path / "anet").mkdir()
    (tmp_path / "anet" / "activity_net.v1-3.min.json").write_text(json.dumps(doc))
    plan = ActivityNetBuilder(tmp_path / "anet").plan()
    assert [(r.label, r.source_label) for r in plan.records] == [("tango", "Tango "), ("belly_dance", "belly  DANCE")]
    assert [e.reason for e in plan.exclusions] == ["not a dance class"]
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "validate.csv").write_text(
        "label,youtube_id,time_start,time_end,split\nSalsa Dancing,abcdefghijk,0,10,val\nTANGO DANCING ,bcdefghijkl,5,15,val\n"
    )
    plan = Kinetics600Builder(tmp_path / "k").plan()
    assert [(r.label, r.source_label) for r in plan.records] == [("salsa", "Salsa Dancing"), ("tango", "TANGO DANCING")]


def test_activitynet_options() -> None:
    with pytest.raises(ConfigError):
        ActivityNetBuilder.parse_options({"max_window": "0"})
    assert ActivityNetBuilder.parse_options({"max_window": "4.5"}).max_window == 4.5
    assert ActivityNetBuilder.parse_options({"max_windows_per_segment": "0"}).max_windows_per_segment == 0
    with pytest.raises(ConfigError, match="0 \\(every window, up to 1000 a segment\\)"):
        ActivityNetBuilder.parse_options({"max_windows_per_segment": "-1"})


@pytest.mark.slow
def test_sample_build_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "dance_aggregate"
    res = CliRunner().invoke(
        cli, ["build", "kinetics600", "activitynet", "--sample", "--cache-dir", str(tmp_path / "cache"), "-O", str(out), "-q"]
    )
    assert res.exit_code == 0, res.output
    from dance_aggregate.sample.makers import make_sample

    srcs = {s.config: s for s in make_sample(tmp_path / "cache")}  # generated by the build: read back
    expected = {
        "kinetics600": expected_kinetics600(srcs["kinetics600"].data_dir, srcs["kinetics600"].video_dir),
        "activitynet": expected_activitynet(
            srcs["activitynet"].data_dir, srcs["activitynet"].video_dir, float(srcs["activitynet"].options["max_window"])
        ),
    }
    for config, exp in expected.items():
        assert exp.summary(config) in res.output
    truncated = sum(exp.truncated for exp in expected.values())
    assert truncated and f"truncated: {truncated} row" in res.output
    with (out / "reports" / "kinetics600.download_ledger.csv").open() as f:
        ledger = sorted((r["youtube_id"], r["status"], r["reason"]) for r in csv.DictReader(f))
    assert expected["kinetics600"].missing and ledger == sorted((i, "missing", "missing video") for i in expected["kinetics600"].missing)
    from datasets import load_dataset

    for config, exp in expected.items():
        ds = load_dataset("dance_aggregate", config)
        assert {split: d.num_rows for split, d in ds.items()} == exp.rows
        row = next(iter(load_dataset("dance_aggregate", config, streaming=True)["train"].decode(False)))
        assert row["video"]["path"].endswith(".mp4") and row["video"]["bytes"]


def test_cli_rejects_url_template_without_id(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["build", "kinetics600", "--data-dir", f"kinetics600={K600}", "--url-template", "http://mirror/", "-O", str(tmp_path / "o")]
    )
    assert res.exit_code != 0 and "{youtube_id}" in res.output
