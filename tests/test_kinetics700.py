"""Kinetics-700-2020: the plan of the real ``validate.csv`` (counts derived from the file),
the release's file names, one video with several segments, and the sample build where a
Kinetics-600 and a Kinetics-700 copy of one clip end as one row of ``all``."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

import dance_aggregate as da
from dance_aggregate.builders import kinetics700, registry
from dance_aggregate.builders.kinetics700 import Kinetics700Builder
from dance_aggregate.errors import DataDirError
from dance_aggregate.output.folder import read_config
from dance_aggregate.records import RemoteCut
from tests.helpers_sample import expected_kinetics600, expected_kinetics700

DATA = Path(__file__).parent / "data"
K700 = DATA / "kinetics700"
LABELS = DATA / "labels"
HEADER = "label,youtube_id,time_start,time_end,split"


def real_rows() -> list[dict[str, str]]:
    with (K700 / "validate.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, HEADER.split(","), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def test_registered_after_kinetics600_in_dedup_priority() -> None:
    assert registry.get_config("kinetics700").builder is Kinetics700Builder
    assert registry.get_config("kinetics700").default_build and registry.in_all("kinetics700")
    order = registry.dedup_priority()
    assert order.index("kinetics600") < order.index("kinetics700") < order.index("activitynet")
    assert registry.source("kinetics700").title == "Kinetics-700-2020"


def test_plan_of_the_real_validate_csv() -> None:
    """Counts per label and split derived from the file by reading the crosswalk file
    directly (not through the taxonomy or the builder)."""
    rows = real_rows()
    assert len(rows) == 34173 and {r["split"] for r in rows} == {"validate"}
    crosswalk = yaml.safe_load((Path(kinetics700.__file__).parent / "crosswalk.yaml").read_text(encoding="utf-8"))
    dance = {name.casefold(): m["label"] for name, m in crosswalk["labels"].items()}
    expected = Counter(("validation", dance[r["label"].casefold()]) for r in rows if r["label"].casefold() in dance)
    # shared/data/real/kinetics700/NOTES.md: 987 clips of the 20 Kinetics-600 classes, 50 shoot dance, 49 silent disco
    assert len(expected) == 22 and sum(expected.values()) == 987 + 50 + 49

    plan = Kinetics700Builder(K700).plan()
    assert Counter((r.split, r.label) for r in plan.records) == expected
    assert plan.records_read == len(rows) == len(plan.records) + len(plan.exclusions)
    assert Counter(e.reason for e in plan.exclusions) == {"not a dance class": len(rows) - sum(expected.values())}
    # Every record: id and times from its own line, the YouTube id as group, a remote cut.
    by_key = {f"{r['youtube_id']}_{int(r['time_start']):06d}_{int(r['time_end']):06d}": r for r in rows}
    assert len(by_key) == len(rows)  # (youtube_id, start, end) is a key of the file
    for rec in plan.records:
        line = by_key[rec.source_id]
        assert rec.id == f"kinetics700/{rec.source_id}" and rec.source_label == line["label"]
        assert (rec.start_time, rec.end_time) == (float(line["time_start"]), float(line["time_end"]))
        assert rec.group == rec.youtube_id == line["youtube_id"]
        assert isinstance(rec.media, RemoteCut) and rec.media.youtube_id == rec.youtube_id
    assert len({x.id for x in [*plan.records, *plan.exclusions]}) == len(rows)
    # Ski ballet is freestyle skiing: excluded with the crosswalk's reason in the detail.
    ski = [e for e in plan.exclusions if e.source_label == "ski ballet"]
    assert len(ski) == sum(r["label"] == "ski ballet" for r in rows) == 49
    assert all(e.reason == "not a dance class" and e.detail.startswith("ski ballet: ") and "skiing" in e.detail for e in ski)
    # An ordinary non-dance class carries only its name.
    assert {e.detail for e in plan.exclusions if e.source_label == "testifying"} == {"testifying"}


def test_real_validation_overlap_with_kinetics_400_and_600_val() -> None:
    """README's figures: 9 of the 1,086 dance clips share a video with Kinetics-400 val, none
    with Kinetics-600 val. These are the excerpts in tests/data; the full validation files
    (shared/data/real/kinetics/) give the same 9 and 0."""
    from dance_aggregate.dedup.pretraining import load_pretraining_sets, overlap_column

    dance = Kinetics700Builder(K700).plan().records
    assert len(dance) == 1086
    sets = load_pretraining_sets({"k400_val": DATA / "pretraining" / "kinetics-400_val.crosswalk.csv",
                                  "k600_val": DATA / "kinetics600" / "validate.csv"})
    overlap = Counter(tuple(v) for v in overlap_column([r.youtube_id for r in dance], sets))
    assert overlap == {(): 1086 - 9, ("k400_val",): 9}


def test_one_video_with_two_segments_gives_two_records(tmp_path: Path) -> None:
    rows = real_rows()
    per_id = Counter(r["youtube_id"] for r in rows)
    twice = [r for r in rows if per_id[r["youtube_id"]] > 1]
    assert len({r["youtube_id"] for r in twice}) == 53 and len(twice) == 106
    for yid in {r["youtube_id"] for r in twice}:  # each time with another label and segment
        pair = [r for r in twice if r["youtube_id"] == yid]
        assert pair[0]["label"] != pair[1]["label"] and pair[0]["time_start"] != pair[1]["time_start"]
    # None of the 53 is a dance class in the real file; relabelled to one, both segments of
    # each video are records of their own, with the video as their shared group.
    write_csv(tmp_path / "validate.csv", [dict(r, label="zumba") for r in twice])
    plan = Kinetics700Builder(tmp_path).plan()
    assert len(plan.records) == 106 and not plan.exclusions
    assert len({r.id for r in plan.records}) == 106
    by_video: dict[str, list] = defaultdict(list)
    for r in plan.records:
        by_video[r.youtube_id].append(r)
    assert all(len(v) == 2 and v[0].group == v[1].group and v[0].start_time != v[1].start_time for v in by_video.values())
    # The same segment twice is one record and a counted duplicate.
    write_csv(tmp_path / "validate.csv", [dict(twice[0], label="zumba")] * 2)
    plan = Kinetics700Builder(tmp_path).plan()
    assert len(plan.records) == 1 and [e.reason for e in plan.exclusions] == ["duplicate row"]


@pytest.mark.parametrize("rel", ["validate.csv", "val.csv", "kinetics700_2020/validate.csv", "annotations/val.csv"])
def test_official_file_names(tmp_path: Path, rel: str) -> None:
    """DeepMind's validate.csv (also in kinetics700_2020.tar.gz) and CVDF's annotations/val.csv."""
    rows = [r for r in real_rows() if r["label"] in ("shoot dance", "silent disco", "abseiling")]
    write_csv(tmp_path / rel, rows)
    plan = Kinetics700Builder(tmp_path).plan()
    assert len(plan.records) == sum(r["label"] != "abseiling" for r in rows) == 99
    assert {r.split for r in plan.records} == {"validation"}


def test_train_and_test_lists_and_json_twin(tmp_path: Path) -> None:
    real = real_rows()
    train = [dict(r, split="train") for r in real if r["label"] == "shoot dance"][:5]
    write_csv(tmp_path / "annotations" / "train.csv", train)
    (tmp_path / "annotations" / "test.csv").write_text(
        "youtube_id,time_start,time_end,split\n" + "".join(f"{r['youtube_id']},{r['time_start']},{r['time_end']},test\n"
                                                           for r in real[:3]), encoding="utf-8")
    plan = Kinetics700Builder(tmp_path).plan()
    assert Counter(r.split for r in plan.records) == {"train": 5}
    assert Counter(e.reason for e in plan.exclusions) == {"no label": 3}
    # The JSON twin of DeepMind's archive, a re-cased class name.
    twin = {r["youtube_id"]: {"annotations": {"label": r["label"].title(), "segment": [int(r["time_start"]), int(r["time_end"])]},
                              "subset": "validate"} for r in real if r["label"] == "silent disco"}
    (tmp_path / "j" / "kinetics700_2020").mkdir(parents=True)
    (tmp_path / "j" / "kinetics700_2020" / "validate.json").write_text(json.dumps(twin), encoding="utf-8")
    plan = Kinetics700Builder(tmp_path / "j").plan()
    assert len(plan.records) == len(twin) == 49
    assert {r.label for r in plan.records} == {"silent_disco"} and {r.source_label for r in plan.records} == {"Silent Disco"}


def test_kinetics600_names_are_not_kinetics700_lists(tmp_path: Path) -> None:
    write_csv(tmp_path / "kinetics-600_val.csv", real_rows()[:5])
    with pytest.raises(DataDirError, match="kinetics700") as err:
        Kinetics700Builder(tmp_path).plan()
    assert "annotations/{train,val,test}.csv" in str(err.value) and "kinetics700_2020/" in str(err.value)


def test_a_motion_config_would_name_its_own_source(tmp_path: Path) -> None:
    """The reason of a dance row in a motion config names the builder's source."""

    class Motion(Kinetics700Builder):
        config_name = "kinetics700_motion"
        motion = True

    rows = [r for r in real_rows() if r["label"] in ("shoot dance", "abseiling")]
    write_csv(tmp_path / "validate.csv", rows)
    reasons = Counter(e.reason for e in Motion(tmp_path, taxonomy=registry.taxonomy()).plan().exclusions)
    n = Counter(r["label"] for r in rows)
    assert reasons == {"dance class (in the kinetics700 config)": n["shoot dance"], "not a motion class": n["abseiling"]}


def test_sample_is_drawn_from_the_real_list_and_shares_a_video_with_kinetics600(tmp_path: Path) -> None:
    from dance_aggregate.builders.kinetics600.sample import make_sample as make_k600
    from dance_aggregate.builders.kinetics700.sample import make_sample as make_k700

    k600, k700 = make_k600(tmp_path), make_k700(tmp_path)
    assert Kinetics700Builder(k700.data_dir).annotation_files() == {
        split: k700.data_dir / "annotations" / f"{name}.csv" for split, name in
        (("train", "train"), ("validation", "val"), ("test", "test"))}
    classes = set((LABELS / "label_map_k700.txt").read_text(encoding="utf-8").splitlines())
    real = {r["youtube_id"] for r in real_rows()}
    with (k700.data_dir / "annotations" / "val.csv").open(encoding="utf-8", newline="") as f:
        val = list(csv.DictReader(f))
    assert {r["label"] for r in val} <= classes and {"shoot dance", "silent disco", "ski ballet"} <= {r["label"] for r in val}
    foreign = {r["youtube_id"] for r in val} - real
    assert len(foreign) == 1  # the clip shared with the Kinetics-600 sample
    (shared,) = foreign
    mine = list(k700.video_dir.rglob(f"{shared}_*"))
    theirs = list(k600.video_dir.rglob(mine[0].name))
    assert len(mine) == len(theirs) == 1 and mine[0].read_bytes() == theirs[0].read_bytes()


@pytest.mark.slow
def test_sample_build_keeps_one_copy_of_the_shared_clip_and_fills_pretraining_overlap(tmp_path: Path) -> None:
    """The Kinetics-600 and Kinetics-700 samples share one clip (same YouTube id, same
    segment, same video): `all` keeps the Kinetics-600 row with the Kinetics-700 id in
    `duplicate_ids`. The real K700 validate.csv as a pretraining set marks exactly the rows
    whose video it lists."""
    from dance_aggregate.sample.makers import make_sample

    out = tmp_path / "dance_aggregate"
    res = da.build(sample=True, configs=["kinetics600", "kinetics700"], output=out, cache_dir=tmp_path / "cache",
                   progress=False, pretraining_ids={"k700_val": K700 / "validate.csv"})
    assert res.ok, res.failures
    srcs = {s.config: s for s in make_sample(tmp_path / "cache")}
    expected = {
        "kinetics600": expected_kinetics600(srcs["kinetics600"].data_dir, srcs["kinetics600"].video_dir),
        "kinetics700": expected_kinetics700(srcs["kinetics700"].data_dir, srcs["kinetics700"].video_dir),
    }
    acc = res.accounting()
    for config, exp in expected.items():
        assert (acc[config].records_read, acc[config].rows_written) == (exp.records_read, exp.rows_written), config
        assert acc[config].excluded == dict(exp.excluded) and acc[config].adds_up, config
    assert {"missing video", "not a dance class", "no label"} <= set(acc["kinetics700"].excluded)

    meta = ["id", "youtube_id", "start_time", "end_time", "label", "group", "duplicate_ids", "pretraining_overlap"]
    rows = {c: {s: t.select(meta).to_pylist() for s, t in read_config(out, c).items()} for c in (*expected, "all")}
    names = registry.taxonomy().names  # `label` is a ClassLabel index
    for r in (r for by_split in rows.values() for t in by_split.values() for r in t):
        r["label"] = names[r["label"]]
    k700 = [r for t in rows["kinetics700"].values() for r in t]
    assert Counter((s, r["label"]) for s, t in rows["kinetics700"].items() for r in t) == Counter(
        (s, label) for s, c in expected["kinetics700"].labels.items() for label, n in c.items() for _ in range(n))
    assert {"shoot_dance", "silent_disco"} <= {r["label"] for r in k700}
    # Two segments of one video: two rows, two ids, one group.
    per_video = Counter(r["youtube_id"] for r in k700)
    two = [r for r in k700 if per_video[r["youtube_id"]] == 2]
    assert len(two) == 2 and two[0]["id"] != two[1]["id"] and two[0]["group"] == two[1]["group"]

    # The shared clip: one row of `all`, the other copy in its duplicate_ids and in the report.
    key = lambda r: (r["youtube_id"], r["start_time"], r["end_time"])  # noqa: E731
    k600 = [r for t in rows["kinetics600"].values() for r in t]
    shared = {key(r) for r in k600} & {key(r) for r in k700}
    assert len(shared) == 1
    copies = {r["id"].split("/")[0]: r["id"] for r in [*k600, *k700] if key(r) in shared}
    all_rows = [r for t in rows["all"].values() for r in t]
    assert len(all_rows) == len(k600) + len(k700) - 1
    kept = [r for r in all_rows if key(r) in shared]
    assert [r["id"] for r in kept] == [copies["kinetics600"]] and kept[0]["duplicate_ids"] == copies["kinetics700"]
    with (out / "reports" / "all.excluded.csv").open(encoding="utf-8", newline="") as f:
        removed = [(r["id"], r["reason"]) for r in csv.DictReader(f)]
    assert removed == [(copies["kinetics700"], "duplicate")]
    assert res.all is not None and res.all.records_read == len(k600) + len(k700) and res.all.adds_up

    # Pretraining overlap, from the real list read independently.
    real = {r["youtube_id"] for r in real_rows()}
    for config in (*expected, "all"):
        for r in (r for t in rows[config].values() for r in t):
            assert r["pretraining_overlap"] == ("k700_val" if r["youtube_id"] in real else ""), (config, r["id"])
    marked = Counter(s for s, t in rows["kinetics700"].items() for r in t if r["youtube_id"] in real)
    assert sum(marked.values()) == len(k700) - 1  # all but the clip taken from the Kinetics-600 sample
    report = json.loads((out / "reports" / "kinetics700.json").read_text(encoding="utf-8"))["pretraining"]
    assert report["rows_overlapping"] == {"k700_val": dict(marked)}
