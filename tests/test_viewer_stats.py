"""The local check of the Hub viewer's statistics job (``dance_aggregate.hub.viewer_stats``), on
small Parquet files that reproduce each way the job fails a split, and on the sample build.

The expected outcomes were taken from the viewer's own code (dataset-viewer f62009e0,
``libs/libcommon/src/libcommon/statistics_utils.py`` run with polars 1.39.3, the worker's
lock file): e.g. ``ListColumn`` over ``[["a"], ["a", "b"], None]`` raises for the bin edges
``[1, 2]``, over ``[["a"], None]`` raises because the standard deviation of one value is null.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import ClassLabel, Features, List, Value, Video

from dance_aggregate.builders import registry
from dance_aggregate.hub.viewer_stats import check_folder, check_split, split_problems, viewer_files
from dance_aggregate.schema import (
    arrow_schema,
    decode_frame_hashes,
    decode_id_list,
    decode_labels,
    encode_frame_hashes,
    features,
    rows_to_table,
)
from dance_aggregate.taxonomy import load_taxonomy


def _write(tmp_path: Path, features: Features, columns: dict, name: str = "train-00000-of-00001.parquet") -> Path:
    path = tmp_path / name
    pq.write_table(pa.Table.from_pydict(columns, schema=features.arrow_schema), path)
    return path


def _rules(paths: list[Path], **kw) -> set[tuple[str, str]]:
    return {(p.column, p.rule) for p in split_problems(paths, **kw)}


@pytest.mark.parametrize(("item", "values"), [(Value("string"), "x"), (Value("int64"), 7),
                                               (ClassLabel(names=["a", "b", "c"]), 1)])
def test_list_lengths_taking_two_adjacent_values_fail_whatever_the_items(tmp_path, item, values):
    # The viewer's ListColumn takes the lengths of any list (not only int lists).
    feats = Features({"l": List(item)})
    path = _write(tmp_path, feats, {"l": [[values] * 2, [values] * 3, None, [values] * 3]})
    assert _rules([path]) == {("l", "adjacent")}
    (msg,) = check_split([path])
    assert "'l'" in msg and "2 and 3" in msg and "fix:" in msg


def test_list_lengths_spanning_two_or_equal_pass_and_fixed_size_lists_are_skipped(tmp_path):
    feats = Features({"wide": List(Value("string")), "same": List(Value("string")),
                      "fixed": List(Value("int32"), length=2)})
    path = _write(tmp_path, feats, {"wide": [["a"], ["a", "b", "c"], ["a", "b"]], "same": [["a"], ["b"], ["c"]],
                                    "fixed": [[1, 2], [3, 4], [5, 6]]})
    assert _rules([path]) == set()
    # Two adjacent lengths in a fixed-size list cannot happen, and the job skips the column anyway:
    feats = Features({"fixed": List(Value("int32"), length=2), "n": Value("int8")})
    path = _write(tmp_path, feats, {"fixed": [[1, 2], [3, 4]], "n": [3, 5]}, "train-00000-of-00002.parquet")
    assert _rules([path]) == set()


def test_integers_two_adjacent_values_and_a_single_value_fail(tmp_path):
    feats = Features({"adj": Value("int32"), "neg": Value("int64"), "one": Value("int32"), "const": Value("int32"),
                      "f1": Value("float64"), "f2": Value("float64"), "b": Value("bool")})
    path = _write(tmp_path, feats, {"adj": [320, 321, None], "neg": [-3, -2, -2], "one": [None, 5, None],
                                    "const": [4, 4, None], "f1": [2.0, None, float("nan")], "f2": [0.5, 1.5, 1.0],
                                    "b": [True, None, True]})
    assert _rules([path]) == {("adj", "adjacent"), ("neg", "adjacent"), ("one", "one value"), ("f1", "one value")}


def test_a_one_row_split_fails_on_every_numeric_list_and_media_column(tmp_path):
    feats = Features({"s": Value("string"), "d": Value("float64"), "l": List(Value("string")), "v": Video()})
    path = _write(tmp_path, feats, {"s": ["only"], "d": [1.0], "l": [[]], "v": [{"bytes": b"\0", "path": "a.mp4"}]})
    assert _rules([path]) == {("d", "one value"), ("l", "one value"), ("v", "one value")}


def test_text_lengths_count_only_when_the_column_is_not_a_category(tmp_path):
    feats = Features({"t": Value("string")})
    text = [f"x{i}" for i in range(10)] + [f"x{i}" for i in range(10, 40)]  # 40 distinct: text, lengths 2 and 3
    assert _rules([_write(tmp_path, feats, {"t": text})]) == {("t", "adjacent")}
    few = (["ab", "abc"] * 20)  # 2 distinct values: a category, lengths never looked at
    assert _rules([_write(tmp_path, feats, {"t": few}, "train-00000-of-00002.parquet")]) == set()


def test_a_long_all_digit_string_first_escapes_the_date_sniff(tmp_path):
    feats = Features({"yt": Value("string")})
    bad = _write(tmp_path, feats, {"yt": ["12345678901", "abcdefghijk"]})
    assert _rules([bad]) == {("yt", "date sniff")}
    ok = _write(tmp_path, feats, {"yt": ["abcdefghijk", "12345678901"]}, "train-00000-of-00002.parquet")
    assert _rules([ok]) == set()  # the sniff stops at the first value that is no date


def test_class_label_inf_empty_media_and_empty_split(tmp_path):
    feats = Features({"c": ClassLabel(names=["a", "b"]), "f": Value("float32"), "v": Video()})
    path = _write(tmp_path, feats, {"c": [0, 7, 8, 9], "f": [1.0, float("inf"), 2.0, None],
                                    "v": [{"bytes": None, "path": None}, None, {"bytes": b"x", "path": "b.mp4"}, None]})
    assert _rules([path]) == {("c", "class label"), ("f", "infinite"), ("v", "empty media")}
    empty = _write(tmp_path, Features({"s": Value("string")}), {"s": []}, "test-00000-of-00001.parquet")
    assert _rules([empty]) == {("s", "empty split")}


def test_only_the_shards_the_viewer_reads_are_checked(tmp_path):
    feats = Features({"l": List(Value("string"))})
    first = _write(tmp_path, feats, {"l": [["a"] * 2, ["a"] * 3] * 50}, "train-00000-of-00002.parquet")
    second = _write(tmp_path, feats, {"l": [["a"] * 9] * 100}, "train-00001-of-00002.parquet")
    assert viewer_files([second, first], max_split_size_bytes=1) == [first]
    assert _rules([second, first], max_split_size_bytes=1) == {("l", "adjacent")}
    assert _rules([second, first], max_split_size_bytes=None) == set()
    with pytest.raises(ValueError, match="no Parquet file"):
        split_problems([])


def _clip_row(i: int, n_hashes: int) -> dict:
    rng = np.random.default_rng(i)
    hashes = [int(h) for h in rng.integers(0, 2**64 - 1, size=n_hashes, dtype=np.uint64, endpoint=True)]
    return {"id": f"kinetics600/c{i:03d}", "source": "kinetics600", "source_id": f"c{i:03d}", "label": "salsa",
            "group": f"g{i}", "duration": n_hashes / 4, "frame_hashes": hashes}


def test_frame_hashes_stored_as_hex_text_pass_where_list_uint64_failed(tmp_path):
    # 10 s clips at 4 hashes per second hold 40 or 41 hashes: two adjacent list lengths.
    rows = [_clip_row(i, 40 + i % 2) for i in range(12)]
    table = rows_to_table(rows)
    new = tmp_path / "new" / "train-00000-of-00001.parquet"
    new.parent.mkdir()
    pq.write_table(table, new)
    assert not [p for p in split_problems([new]) if p.column == "frame_hashes"]
    # The same clips in the former list<uint64> column trip the job.
    old_schema = arrow_schema().set(arrow_schema().get_field_index("frame_hashes"),
                                    pa.field("frame_hashes", pa.list_(pa.uint64())))
    old_table = table.set_column(table.schema.get_field_index("frame_hashes"), old_schema.field("frame_hashes"),
                                 pa.array([r["frame_hashes"] for r in rows], pa.list_(pa.uint64())))
    old = tmp_path / "old" / "train-00000-of-00001.parquet"
    old.parent.mkdir()
    pq.write_table(old_table, old)
    old_features = Features.from_arrow_schema(old_schema)
    assert ("frame_hashes", "adjacent") in _rules([old], features=old_features)
    # Every hash comes back exactly, and it is text in JSON.
    stored = pq.read_table(new, columns=["frame_hashes"]).column(0).to_pylist()
    assert [decode_frame_hashes(s).tolist() for s in stored] == [r["frame_hashes"] for r in rows]
    assert all(isinstance(s, str) and len(s) == 17 * len(r["frame_hashes"]) - 1 for s, r in zip(stored, rows, strict=True))


def test_frame_hashes_text_round_trips_the_extremes_and_names_bad_values():
    hashes = [0, 1, 2**53 + 1, 2**63, 2**64 - 1]
    text = encode_frame_hashes(hashes)
    assert text == "0000000000000000 0000000000000001 0020000000000001 8000000000000000 ffffffffffffffff"
    assert decode_frame_hashes(text).tolist() == hashes and [int(h, 16) for h in text.split()] == hashes
    assert decode_frame_hashes(text).dtype == np.uint64
    assert encode_frame_hashes([]) == "" and decode_frame_hashes("").tolist() == []
    assert encode_frame_hashes(None) == "" and decode_frame_hashes(None).tolist() == []
    with pytest.raises(ValueError, match=r"frame hash -1 is not a 64-bit unsigned integer"):
        encode_frame_hashes([5, -1])
    with pytest.raises(ValueError, match=r"2\*\*64"):
        encode_frame_hashes([2**64])
    with pytest.raises(ValueError, match="not space-separated 16-digit hex"):
        decode_frame_hashes("abc")
    with pytest.raises(ValueError, match="non-hex character"):
        decode_frame_hashes("000000000000000g")


def test_date_columns_are_checked_in_whole_seconds(tmp_path):
    feats = Features({"t": Value("timestamp[ms]")})
    t0 = datetime.datetime(2024, 1, 1)
    one_second = [t0, t0 + datetime.timedelta(milliseconds=1500), t0 + datetime.timedelta(milliseconds=200)]
    assert _rules([_write(tmp_path, feats, {"t": one_second})]) == {("t", "adjacent")}


@pytest.mark.slow
def test_every_split_of_the_sample_build_passes_the_viewer_statistics(sample_build: Path):
    """The sample build is what a newcomer publishes first: no split of any config (``all``
    included, after dedup and the split rule moved its rows) may trip the statistics job,
    neither the list columns (``labels`` with 2 or 3 labels, ``duplicate_ids`` with 0 or 1
    copy, ``pretraining_overlap``) nor a column with one value in a split (dataset-viewer
    issue 2653)."""
    results = check_folder(sample_build)
    configs = {split.split("/")[0] for split in results}
    assert {s.name for s in registry.sources() if s.make_sample is not None} | {"all"} <= configs
    assert all(s.split("/")[1] in ("train", "validation", "test") for s in results)
    assert {s: problems for s, problems in results.items() if problems} == {}
    rows = pq.read_table(sample_build / "data" / "ucf101" / "train-00000-of-00001.parquet", columns=["frame_hashes"])
    assert rows.schema.field("frame_hashes").type == pa.string()
    assert all(decode_frame_hashes(s).size == (len(s) + 1) // 17 for s in rows.column(0).to_pylist())


def _real_size_rows(n: int, wide: bool) -> list[dict]:
    """``n`` rows shaped like a real split: dance styles with their ancestors (2 or 3 labels),
    0 or 1 copy in ``duplicate_ids``, 0 or 1 pretraining set; ``wide`` adds every label of the
    tree, multi-label rows as YouTube-8M has them, 2 copies (one id with a space) and 2 sets."""
    rng = np.random.default_rng(7)
    tax = load_taxonomy()
    names = features()["label"].names
    styles = [x for x in names if len(tax.with_ancestors([x])) in (2, 3)]
    pool = names if wide else styles
    ids = ["kinetics700/Jf7Gf0x3GmU_000004_000006", "ucf101/SalsaSpin/v_SalsaSpin_g01_c01", "aist/gBR_sBM_c01_d04_mBR0_ch01",
           "letsdance/t_R8Bazi0RI_041", "activitynet/Zx8aNcQ4pLs_s00_w00", "ucf101/Salsa Spin/v_Salsa Spin_g02_c01"]
    sets = ("kinetics400_train", "kinetics700_train") if wide else ("kinetics400_train",)
    rows = []
    for i in range(n):
        label = pool[i % len(pool)]
        extra = [names[j] for j in rng.choice(len(names), size=int(rng.integers(0, 3)), replace=False)] if wide else []
        copies = [ids[j] for j in rng.choice(len(ids), size=int(rng.choice([0, 0, 1, 2] if wide else [0, 0, 1])),
                                                 replace=False)]
        overlap = [s for s in sets if rng.random() < 0.4]
        rows.append({"id": f"kinetics600/c{i:05d}", "source": "kinetics600", "label": label,
                     "labels": [label, *extra] if i % 5 == 0 else [label], "duplicate_ids": copies,
                     "pretraining_overlap": overlap if i % 7 else None})
    return rows


def test_the_list_columns_of_a_real_size_split_pass_where_variable_lists_failed(tmp_path):
    """A real split holds thousands of rows whose ``labels`` has 2 or 3 entries, whose
    ``duplicate_ids`` lists 0 or 1 copy and whose ``pretraining_overlap`` names 0 or 1 set: as
    variable lists each of the three fails the split (two adjacent lengths); in the stored form
    (fixed-length ``labels``, text for the others) none does, and every value comes back."""
    lists = ("labels", "duplicate_ids", "pretraining_overlap")
    names = features()["label"].names
    for wide in (True, False):
        rows = _real_size_rows(3000, wide)
        table = rows_to_table(rows)
        new = tmp_path / f"new{wide}" / "train-00000-of-00001.parquet"
        new.parent.mkdir()
        pq.write_table(table, new)
        assert not [str(p) for p in split_problems([new]) if p.column in lists]
        stored = table.select(list(lists)).to_pylist()
        for row, back in zip(rows, stored, strict=True):
            assert names[decode_labels(back["labels"])[0]] == row["label"]
            assert decode_id_list(back["duplicate_ids"]) == row["duplicate_ids"]
            assert decode_id_list(back["pretraining_overlap"]) == row["pretraining_overlap"]
    # The same values as the variable lists of before trip the job on each of the three columns.
    old = Features({"labels": List(features()["label"]), "duplicate_ids": List(Value("string")),
                    "pretraining_overlap": List(Value("string"))})
    path = _write(tmp_path, old, {"labels": [decode_labels(r["labels"]) for r in stored],
                                  "duplicate_ids": [decode_id_list(r["duplicate_ids"]) for r in stored],
                                  "pretraining_overlap": [decode_id_list(r["pretraining_overlap"]) for r in stored]})
    assert {c for c, rule in _rules([path]) if rule == "adjacent"} == set(lists)
