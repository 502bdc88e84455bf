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
from dance_aggregate.schema import arrow_schema, decode_frame_hashes, encode_frame_hashes, rows_to_table


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


#: The list columns whose storage form is being changed (their problems are the form's, not
#: the sample's): a label with its ancestors gives 2 or 3 labels, `all` drops 0 or 1 copy.
STORAGE_LISTS = ("labels", "duplicate_ids", "pretraining_overlap")


@pytest.mark.slow
def test_no_split_of_the_sample_has_one_value_in_a_column(sample_build: Path):
    """Every split of every config of the sample (`all` included, after dedup and the split
    rule moved its rows) gives each numeric, list and media column none or at least two
    values: one value fails the split in the Hub viewer (dataset-viewer issue 2653), and a
    user's first look at the sample on the Hub is its statistics tab."""
    results = check_folder(sample_build)
    configs = {split.split("/")[0] for split in results}
    assert {s.name for s in registry.sources() if s.make_sample is not None} | {"all"} <= configs
    one_value = []
    for split in results:
        config, name = split.split("/")
        for p in split_problems(sorted((sample_build / "data" / config).glob(f"{name}-*.parquet"))):
            if p.rule == "one value" and p.column not in STORAGE_LISTS:
                one_value.append(f"{split}: {p}")
    assert not one_value, "\n".join(one_value)


@pytest.mark.slow
def test_sample_build_fails_the_viewer_statistics_only_where_the_data_cannot_help(sample_build: Path):
    """Every problem left in the sample build is in a list column whose storage form is the
    cause (``labels``: a label with its ancestors, 2 or 3 labels; ``duplicate_ids`` in
    ``all``: 0 or 1 copy dropped, where the Kinetics-700 sample shares a clip with
    Kinetics-600): nothing else, and never ``frame_hashes``. Splits without those pass (both
    UCF101 splits)."""
    results = check_folder(sample_build)
    assert len(results) >= 10 and all(s.split("/")[1] in ("train", "validation", "test") for s in results)
    for split in results:
        shards = sorted((sample_build / "data" / split.split("/")[0]).glob(f"{split.split('/')[1]}-*.parquet"))
        for p in split_problems(shards):
            assert p.column in STORAGE_LISTS and p.rule in ("adjacent", "one value"), (split, str(p))
    assert results["ucf101/train"] == [] and results["ucf101/test"] == []
    rows = pq.read_table(sample_build / "data" / "ucf101" / "train-00000-of-00001.parquet", columns=["frame_hashes"])
    assert rows.schema.field("frame_hashes").type == pa.string()
    assert all(decode_frame_hashes(s).size == (len(s) + 1) // 17 for s in rows.column(0).to_pylist())
