"""Dedup: exact index, fingerprints, precision/recall on a planted corpus, split rule,
leakage check both ways, the ``all`` config (default, loads and streams)."""

from __future__ import annotations

import csv
import itertools
import json
from collections import Counter
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from dance_aggregate.cli import cli
from dance_aggregate.dedup.combine import build_all, pixel_configs
from dance_aggregate.dedup.index import band_layout, brute_force_pairs, hamming, near_pairs
from dance_aggregate.dedup.leakage import check_no_leaks, find_leaks
from dance_aggregate.errors import OutputError
from dance_aggregate.media.fingerprint import BLANK, FrameHasher
from dance_aggregate.output.folder import read_config
from dance_aggregate.output.reports import read_report
from dance_aggregate.output.shards import write_config
from dance_aggregate.schema import decode_id_list, rows_to_table
from tests.helpers_dedup import apply_split_rule, encode_corpus, plan_corpus, true_pairs


# -- index -------------------------------------------------------------------------------
def test_bands_cover_64_bits_and_pigeonhole():
    layout = band_layout(4)
    assert len(layout) == 5
    assert sum(w for _, w in layout) == 64
    assert sorted(s for s, _ in layout) == [0, 12, 25, 38, 51]


def test_index_finds_exactly_what_brute_force_finds():
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**63, size=3000, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, 3000, dtype=np.uint64)
    near = base[:600].copy()
    for k in range(600):  # plant neighbours 0..6 bits away
        for bit in rng.choice(64, size=k % 7, replace=False):
            near[k] ^= np.uint64(1) << np.uint64(int(bit))
    h = np.concatenate([base, near])
    i, j, d = near_pairs(h, 4)
    got = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(got) == len(i), "a pair was reported twice"
    assert np.all(d == hamming(h[i], h[j])) and np.all(d <= 4)
    q, c, _ = brute_force_pairs(h, np.arange(len(h)), 4)
    want = {(min(a, b), max(a, b)) for a, b in zip(q.tolist(), c.tolist(), strict=True)}
    assert got == want
    assert len(want) >= 400


def test_index_with_crowded_bands_matches_brute_force():
    # Every hash shares its top 26 bits: two bands are one long run (the dense code path).
    rng = np.random.default_rng(3)
    low = rng.integers(0, 2**38, size=1500, dtype=np.uint64)
    h = (np.uint64(0x2AAAAAA) << np.uint64(38)) | low
    h[750:900] = h[:150] ^ (np.uint64(1) << rng.integers(0, 38, 150, dtype=np.uint64))
    i, j, _ = near_pairs(h, 4)
    q, c, _ = brute_force_pairs(h, np.arange(len(h)), 4)
    want = {(min(a, b), max(a, b)) for a, b in zip(q.tolist(), c.tolist(), strict=True)}
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == want and len(i) == len(want) >= 150


# -- tier 1 on real annotations ---------------------------------------------------------
def test_tier1_on_real_kinetics_400_and_600_val_dance_rows():
    """Kinetics-600 val re-uses Kinetics-400 val videos: every shared id is a tier-1 pair,
    and the split rule puts both copies in the held-out split."""
    from dance_aggregate.dedup.match import ranges_overlap, tier1_pairs
    from dance_aggregate.dedup.splits import assign_splits

    rows = []
    for version, split in (("400", "train"), ("600", "validation")):  # as if K400 val were used for training
        path = Path(__file__).parent / "data" / "dedup" / f"kinetics-{version}_val.dancing.csv"
        with path.open(newline="") as f:
            rows += [dict(r, version=version, our_split=split) for r in csv.DictReader(f)]
    ytid = [r["youtube_id"] for r in rows]
    start = [float(r["time_start"]) for r in rows]
    end = [float(r["time_end"]) for r in rows]
    pairs = tier1_pairs(ytid, start, end)
    shared = {r["youtube_id"] for r in rows if r["version"] == "400"} & {r["youtube_id"] for r in rows if r["version"] == "600"}
    assert len(shared) == 515
    assert len(pairs) == 515
    assert all(rows[p.i]["version"] != rows[p.j]["version"] and ytid[p.i] == ytid[p.j] for p in pairs)
    assert all(ranges_overlap((start[p.i], end[p.i]), (start[p.j], end[p.j])) for p in pairs)
    ids = [f"k{r['version']}/{r['youtube_id']}" for r in rows]
    new, moves = assign_splits(ids, [r["our_split"] for r in rows], ytid, ytid, pairs)
    assert len(moves) == 515
    assert all(new[i] == "validation" for i, y in enumerate(ytid) if y in shared)


# -- fingerprints ------------------------------------------------------------------------
def _frame(img: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")


def test_blank_and_faded_windows():
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)
    texture = np.kron(texture[::10, ::10], np.ones((10, 10, 1), np.uint8))
    hasher = FrameHasher(rate=1)
    hasher.add(_frame(np.zeros((60, 80, 3), np.uint8)), 0.0)  # black
    hasher.add(_frame(np.full((60, 80, 3), 128, np.uint8)), 1.0)  # flat grey
    hasher.add(_frame((texture * 0.05).astype(np.uint8)), 2.0)  # end of a fade: dark, no detail
    hasher.add(_frame(texture), 3.0)
    hasher.add(_frame((texture * 0.5).astype(np.uint8)), 4.0)  # half-way through a fade
    h = hasher.hashes()
    assert h[:3] == [BLANK, BLANK, BLANK]
    assert h[3] != BLANK
    assert int(hamming(h[3], h[4])) <= 4  # a partial fade is still the same content


def _variant(src: Path, dst: Path, *, crf: int = 23, scale: float = 1.0, crop: float = 0.0, letterbox: float = 0.0) -> Path:
    """Re-encode ``src`` (video only) with another quality, size, a crop or black bars."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vs = inp.streams.video[0]
        w, h = vs.width, vs.height
        cw, ch = int(w * crop), int(h * crop)
        ow, oh = int(w * scale) // 2 * 2, int(h * scale) // 2 * 2
        v = out.add_stream("libx264", rate=vs.average_rate)
        v.width, v.height, v.pix_fmt = ow, oh, "yuv420p"
        v.options = {"crf": str(crf), "preset": "ultrafast"}
        for n, frame in enumerate(inp.decode(vs)):
            img = frame.to_ndarray(format="rgb24")[ch : h - ch, cw : w - cw]
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24").reformat(width=ow, height=oh)
            if letterbox:
                bar = int(oh * letterbox) // 2 * 2
                inner = f.reformat(width=ow, height=oh - 2 * bar).to_ndarray(format="rgb24")
                img = np.zeros((oh, ow, 3), np.uint8)
                img[bar : oh - bar] = inner
                f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = n
            f.time_base = 1 / Fraction(vs.average_rate)
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    return dst


@pytest.mark.slow
def test_real_footage_copies_found_and_other_segments_not(tmp_path):
    from dance_aggregate.dedup.match import tier2_pairs
    from dance_aggregate.media.clip import EncodeOptions, cut_and_encode

    real = Path(__file__).parent / "data" / "media" / "test.avi"  # real Xvid/MP3 AVI (see tests/data/SOURCES.md)
    enc = EncodeOptions(preset="ultrafast")

    def hashes(path, start, end):
        return cut_and_encode(path, start, end, enc).frame_hashes

    clips = {
        "original": hashes(real, 0.0, 6.0),
        "crf40": hashes(_variant(real, tmp_path / "re.mp4", crf=40), 0.0, 6.0),
        "half": hashes(_variant(real, tmp_path / "half.mp4", scale=0.5), 0.0, 6.0),
        "crop5": hashes(_variant(real, tmp_path / "crop.mp4", crop=0.05), 0.0, 6.0),
        "letterbox": hashes(_variant(real, tmp_path / "lb.mp4", letterbox=0.12), 0.0, 6.0),
        "shift1.3": hashes(real, 1.3, 6.56),
        "first_half": hashes(real, 0.0, 3.0),  # with the next one: same scene, other moments
        "second_half": hashes(real, 3.3, 6.5),
    }
    names = list(clips)
    found = {tuple(sorted((names[p.i], names[p.j]))) for p in tier2_pairs(list(clips.values()))}
    copies = ["original", "crf40", "half", "crop5", "letterbox", "shift1.3"]
    want = {tuple(sorted(x)) for x in itertools.combinations(copies, 2)}
    assert want <= found
    assert ("first_half", "second_half") not in found and ("second_half", "first_half") not in found


# -- the planted corpus ------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    clips = plan_corpus(root / "videos")
    encode_corpus(clips)
    return clips


def _write_sources(folder: Path, clips) -> dict[str, int]:
    by: dict[str, dict[str, list]] = {}
    for c in clips:
        by.setdefault(c.source, {}).setdefault(c.split, []).append(c.row)
    for config, splits in by.items():
        write_config(folder, config, {s: rows_to_table(sorted(r, key=lambda r: r["id"])) for s, r in splits.items()})
    return {config: sum(len(r) for r in splits.values()) for config, splits in by.items()}


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("out") / "dance_aggregate"
    inputs = _write_sources(folder, corpus)
    acc = build_all(folder)
    return folder, inputs, acc


def test_precision_and_recall_on_planted_corpus(corpus, built):
    folder, _, _ = built
    with (folder / "reports" / "duplicates.csv").open() as f:
        clusters = list(csv.DictReader(f))  # one line per member of each cluster
    members: dict[str, list[str]] = {}
    for row in clusters:
        members.setdefault(row["cluster"], []).append(row["id"])
    assert all(sum(r["kept"] == "yes" for r in clusters if r["cluster"] == c) == 1 for c in members)
    predicted = {(a, b) for ids in members.values() for a, b in itertools.combinations(sorted(ids), 2)}
    truth = true_pairs(corpus)
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(truth)
    kinds = {c.id: c.kind for c in corpus}
    print(
        f"\ndedup on {len(corpus)} clips: {len(truth)} true duplicate pairs, {len(predicted)} predicted; "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    print("false positives:", sorted((kinds[a], kinds[b]) for a, b in predicted - truth))
    print("missed:", sorted((kinds[a], kinds[b]) for a, b in truth - predicted))
    assert precision >= 0.95
    assert recall >= 0.95
    tiers = {row["tier"] for row in clusters}
    assert "1" in tiers or "1+2" in tiers  # the cross-source copies sharing a YouTube id


def test_all_keeps_one_best_copy_per_cluster_and_adds_up(corpus, built):
    folder, inputs, acc = built
    tables = read_config(folder, "all")
    rows = [r for t in tables.values() for r in t.select(["id", "duplicate_ids", "width", "group"]).to_pylist()]
    ids = {r["id"] for r in rows}
    by_truth: dict[str, list] = {}
    for c in corpus:
        if c.truth:
            by_truth.setdefault(c.truth, []).append(c)
    for members in by_truth.values():
        kept = [c for c in members if c.id in ids]
        assert len(kept) == 1, [c.id for c in members]
        row = next(r for r in rows if r["id"] == kept[0].id)
        assert set(decode_id_list(row["duplicate_ids"])) == {c.id for c in members} - {kept[0].id}
        assert row["width"] == max(c.row["width"] for c in members)  # never the downscaled copy
    report = json.loads((folder / "reports" / "all.json").read_text())
    a = report["accounting"]
    assert report["inputs"] == inputs
    assert a["records_read"] == sum(inputs.values()) == len(corpus)
    assert a["records_read"] == a["rows_written"] + a["excluded"]["duplicate"]
    assert a["rows_written"] == len(rows)
    assert report["dedup"]["duplicates_removed"] == a["excluded"]["duplicate"]
    assert acc.adds_up
    # A rebuild with unchanged inputs keeps `all` as it is.
    before = sorted((p.name, p.stat().st_mtime_ns) for p in (folder / "data" / "all").iterdir())
    assert build_all(folder) == acc
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (folder / "data" / "all").iterdir()) == before


def test_all_is_written_shard_by_shard(corpus, built, tmp_path):
    folder, _, acc = built
    small = tmp_path / "small"
    _write_sources(small, corpus)
    assert build_all(small, max_shard_bytes=300_000) == acc
    shards = sorted(p.name for p in (small / "data" / "all").glob("*.parquet"))
    assert len(shards) > 3 and all("-of-" in name for name in shards)
    assert not list((small / "data").glob(".*"))  # no staging or old folder left behind
    ids = lambda f: sorted(r for t in read_config(f, "all").values() for r in t.column("id").to_pylist())  # noqa: E731
    assert ids(small) == ids(folder)


def test_split_rule_fixes_a_corpus_that_would_leak(corpus, built, tmp_path):
    folder, _, _ = built
    # Without the rule (sources concatenated as they are), the corpus leaks.
    naive = tmp_path / "naive"
    splits: dict[str, list] = {}
    for c in corpus:
        splits.setdefault(c.split, []).append(c.row)
    write_config(naive, "all", {s: rows_to_table(r) for s, r in splits.items()})
    leaks = find_leaks(naive, "all")
    assert any(leak.column == "group" and leak.value == "SalsaSpin_g03" for leak in leaks)
    with pytest.raises(OutputError, match="split leakage"):
        check_no_leaks(naive, "all")
    # With it, nothing leaks, and held-out clips never moved into train.
    assert find_leaks(folder, "all") == []
    check_no_leaks(folder, "all")
    final = {r["id"]: s for s, t in read_config(folder, "all").items() for r in t.select(["id"]).to_pylist()}
    for c in corpus:
        if c.id in final and c.split != "train":
            assert final[c.id] != "train", c.id
    ucf = [final[c.id] for c in corpus if c.group == "SalsaSpin_g03"]
    assert ucf == ["test", "test"]


def test_hand_made_leaky_folder_is_refused(corpus, tmp_path):
    a, b = corpus[-1].row, dict(corpus[-2].row, id="kinetics600/other", youtube_id=corpus[-1].row["youtube_id"])
    write_config(tmp_path, "all", {"train": rows_to_table([a]), "test": rows_to_table([b])})
    with pytest.raises(OutputError, match="youtube_id"):
        check_no_leaks(tmp_path, "all")


def test_copies_in_two_splits_are_a_leak(corpus, tmp_path):
    a = dict(corpus[-1].row, duplicate_ids=["kinetics600/copy"])
    b = dict(corpus[-2].row, id="kinetics600/copy", duplicate_ids=[corpus[-1].id])
    write_config(tmp_path, "kinetics600", {"train": rows_to_table([a]), "validation": rows_to_table([b])})
    leaks = find_leaks(tmp_path, "kinetics600")
    assert [(x.column, x.splits) for x in leaks] == [("duplicate_ids", ("train", "validation"))] * 2


def test_duplicates_keep_every_members_label_and_flag_disagreement(corpus, tmp_path):
    """Removed copies' labels and sources stay on record; clusters whose labels disagree are
    counted (an umbrella and a style in it are 'nested', two styles a 'conflict')."""
    relabel = {}
    for truth, label in (("T1", "tango"), ("T2", "latin_dance")):
        first = next(c for c in corpus if c.truth == truth)
        relabel[first.id] = label  # one member of T1 says tango (the rest salsa); one of T2 latin_dance
    clips = []
    for c in corpus:
        row = dict(c.row, label=relabel.get(c.id, "salsa"), labels=[relabel.get(c.id, "salsa")],
                   source_label=f"{relabel.get(c.id, 'salsa')} ({c.source})")
        clips.append(type(c)(**{**vars(c), "row": row}))
    folder = tmp_path / "dance_aggregate"
    _write_sources(folder, clips)
    build_all(folder)
    with (folder / "reports" / "duplicates.csv").open() as f:
        lines = list(csv.DictReader(f))
    by_id = {r["id"]: r for r in lines}
    truth_of = {c.id: c.truth for c in corpus}
    for cid, label in relabel.items():
        line = by_id[cid]  # the relabelled copy is in a cluster, kept or not, with its evidence
        assert line["label"] == label and line["source_label"].startswith(label) and line["source"] in cid
        same = [r for r in lines if r["cluster"] == line["cluster"]]
        assert {truth_of[r["id"]] for r in same} == {truth_of[cid]}
        assert {r["labels"] for r in same} == {"conflict" if label == "tango" else "nested"}
    others = {r["labels"] for r in lines if r["cluster"] not in {by_id[c]["cluster"] for c in relabel}}
    assert others == {"same"}
    dedup = json.loads((folder / "reports" / "all.json").read_text())["dedup"]
    assert (dedup["clusters_label_conflict"], dedup["clusters_label_nested"]) == (1, 1)
    with (folder / "reports" / "all.excluded.csv").open() as f:
        removed = [r for r in csv.DictReader(f) if r["reason"] == "duplicate"]
    assert len(removed) == sum(r["kept"] == "no" for r in lines)
    for r in removed:  # each removed copy names its own label and source label
        assert f"label {by_id[r['id']]['label']}," in r["detail"] and r["source_label"] == by_id[r["id"]]["source_label"]


def test_split_rule_within_one_source_config(corpus):
    members = [c for c in corpus if c.truth == "T1"]
    rows = [dict(c.row, id=f"kinetics600/t1_{k}") for k, c in enumerate(members)]
    splits = {"train": rows_to_table(rows[:-1]), "validation": rows_to_table(rows[-1:])}
    out, analysis = apply_split_rule(splits)
    assert set(out) == {"validation"}
    assert out["validation"].num_rows == len(rows)  # a per-source config keeps every copy
    dups = out["validation"].column("duplicate_ids").to_pylist()
    assert all(len(decode_id_list(d)) == len(rows) - 1 for d in dups)
    assert len(analysis.moves) == len(rows) - 1


# -- the `all` config in a real build ----------------------------------------------------
@pytest.mark.slow
def test_build_makes_all_the_default_config_and_it_loads_and_streams(corpus, tmp_path, monkeypatch):
    from datasets import load_dataset

    out = tmp_path / "dance_aggregate"
    args = ["build", "--sample", "--cache-dir", str(tmp_path / "cache"), "--output", str(out), "-q"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    pixel = {c: read_report(out, c).accounting.rows_written for c in pixel_configs(out)}
    assert "ucf101" in pixel and "youtube8m" not in pixel and "all" not in pixel
    n = sum(pixel.values())
    # The sample's only copies: the same segment of one YouTube video in two configs (the
    # Kinetics-600 and Kinetics-700 samples share one clip); `all` keeps one of each.
    keys = {c: {(r["youtube_id"], r["start_time"], r["end_time"]) for t in read_config(out, c).values()
                for r in t.select(["youtube_id", "start_time", "end_time"]).to_pylist() if r["youtube_id"]}
            for c in pixel}
    shared = sum(copies - 1 for copies in Counter(k for ks in keys.values() for k in ks).values())
    assert shared >= 1
    assert f"all: {n} records read = {n - shared} rows written" in res.output
    # A second pixel source arrives (written directly: its builder lives on another branch),
    # with a copy of a clip and a clip sharing the YouTube id: the next build folds it in.
    t3 = [c for c in corpus if c.truth == "T3"]
    # It replaces the sample's kinetics600 config; the rebuild names only ucf101, so the
    # hand-written config is kept and folded into `all`.
    write_config(out, "kinetics600", {"train": rows_to_table([c.row for c in t3]), "test": rows_to_table([corpus[-1].row])})
    res = CliRunner().invoke(cli, ["build", "ucf101", *args[1:]])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "reports" / "all.json").read_text())
    assert report["inputs"] == {**pixel, "kinetics600": len(t3) + 1}
    expected = n - pixel.get("kinetics600", 0) + 2
    assert report["accounting"]["rows_written"] == expected
    assert "default: true" in (out / "README.md").read_text().split("config_name: all", 1)[1].split("config_name:", 1)[0]
    stats = CliRunner().invoke(cli, ["stats", str(out)])
    assert "dedup: 1 duplicate cluster(s)" in stats.output, stats.output

    monkeypatch.chdir(tmp_path)
    ds = load_dataset("dance_aggregate", cache_dir=str(tmp_path / "hf"))
    assert sum(ds.num_rows.values()) == expected
    assert set(ds) <= {"train", "validation", "test"} and "train" in ds
    stream = load_dataset("dance_aggregate", split="train", streaming=True, cache_dir=str(tmp_path / "hf")).decode(False)
    first = next(iter(stream))
    assert first["video"]["path"].endswith(".mp4") and first["video"]["bytes"]
    assert pq.read_schema(next((out / "data" / "all").glob("train-*.parquet"))).field("frame_hashes")


def test_documented_thresholds_are_the_ones_in_force():
    import dance_aggregate.dedup as dedup
    from dance_aggregate.dedup import align, index, match
    from dance_aggregate.media import fingerprint

    doc = dedup.__doc__
    for mod, name in (
        (fingerprint, "HASHES_PER_SECOND"),
        (index, "MAX_DISTANCE"),
        (align, "MATCH_DISTANCE"),
        (align, "MIN_SCORE"),
        (align, "MIN_COMPARED"),
        (match, "MAX_OFFSETS"),
        (match, "MIN_RANGE_OVERLAP"),
    ):
        value = getattr(mod, name)
        assert f"{name}`` = {value:g}" in doc, name
    assert f"MIN_OVERLAP_SECONDS`` = {align.MIN_OVERLAP_SECONDS:g} s" in doc
