"""AIST splits on the real AIST++ lists (tests/data/aist): the lists decide, the rule reproduces
them, every view and repeat of a performance shares one split, the ignore list's trailing space
is no trap, and bad list lines cost only themselves.

Expected sets are derived from the real files with plain string operations, not from the code.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dance_aggregate.builders.aist.names import parse_video_name
from dance_aggregate.builders.aist.splits import (
    CROSS_MODAL_RULE,
    DUPLICATE_LINE,
    DUPLICATE_VIDEO,
    HASH_RULE,
    IGNORE_LIST,
    INFERRED_VALIDATION,
    NOT_IN_SPLITS,
    SPLIT_CONFLICT,
    AistLists,
    Assignment,
    assign_splits,
    hash_split,
    plan_names,
    read_lists,
)
from dance_aggregate.builders.annotations import MALFORMED_LINE
from dance_aggregate.errors import AnnotationError
from dance_aggregate.records import Exclusion

ROOT = Path(__file__).resolve().parents[1]
AIST = Path(__file__).parent / "data" / "aist"


def _lines(path: Path) -> list[str]:
    return [x.strip() for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]


def _seq(video: str) -> str:
    g, s, _c, *rest = video.split("_")
    return "_".join([g, s, "cAll", *rest])


VIDEOS = _lines(AIST / "video_list.txt")
TRAIN = set(_lines(AIST / "splits" / "crossmodal_train.txt"))
TEST = set(_lines(AIST / "splits" / "crossmodal_test.txt"))
IGNORED = set(_lines(AIST / "ignore_list.txt"))
#: The held-out music, read from the real test list (one piece per genre).
TEST_MUSIC = {s.split("_")[4] for s in TEST}
#: FORMAT.md's inference of crossmodal_val.txt: the sBM ch01 sequences with the test music.
INFERRED_VAL = {_seq(v) for v in VIDEOS if "_sBM_" in v and v.endswith("_ch01") and v.split("_")[4] in TEST_MUSIC}


@pytest.fixture(scope="module")
def real_lists() -> AistLists:
    return read_lists(AIST)


@pytest.fixture(scope="module")
def planned(real_lists) -> list[Assignment]:
    out = plan_names(VIDEOS, real_lists)
    assert all(isinstance(r, Assignment) for r in out)
    return out  # type: ignore[return-value]


def _by_sequence(results: list[Assignment]) -> dict[str, set[tuple[str | None, str | None]]]:
    out: dict[str, set[tuple[str | None, str | None]]] = defaultdict(set)
    for r in results:
        out[r.name.sequence].add((r.split, r.exclusion.reason if r.exclusion else None))
    return out


def test_the_real_lists_and_their_traps(real_lists):
    raw = (AIST / "ignore_list.txt").read_text(encoding="utf-8").split("\n")
    spaced = [i for i, x in enumerate(raw, start=1) if x != x.strip() and x.strip()]
    assert spaced and raw[-1] == ""  # the traps are in the real file: a trailing space, a blank last line
    assert {s: len(e) for s, e in real_lists.splits.items()} == {"train": len(TRAIN), "test": len(TEST)} == {"train": 980, "test": 20}
    assert set(real_lists.splits["train"]) == TRAIN and set(real_lists.splits["test"]) == TEST
    assert set(real_lists.ignore) == IGNORED and len(IGNORED) == 45
    assert real_lists.present and not real_lists.has_validation and real_lists.issues == []
    seq = raw[spaced[0] - 1].strip()
    assert seq == "gHO_sFM_cAll_d20_mHO5_ch13" and real_lists.ignore[seq] == f"ignore_list.txt:{spaced[0]}"


def test_the_lists_decide_and_the_inferred_validation_is_labelled(planned):
    per_seq = _by_sequence(planned)
    assert all(len(v) == 1 for v in per_seq.values()), "views of one sequence in several places"
    split_of = {s: next(iter(v)) for s, v in per_seq.items()}
    assert {s for s, (sp, _) in split_of.items() if sp == "train"} == TRAIN - IGNORED
    assert {s for s, (sp, _) in split_of.items() if sp == "test"} == TEST - IGNORED
    assert {s for s, (sp, _) in split_of.items() if sp == "validation"} == INFERRED_VAL - IGNORED and len(INFERRED_VAL) == 20
    assert {r.rule for r in planned if r.split == "validation"} == {INFERRED_VALIDATION}
    assert {r.rule.split(":")[0] for r in planned if r.split in ("train", "test")} == {"splits/crossmodal_train.txt", "splits/crossmodal_test.txt"}
    ignored = {s for s, (_, why) in split_of.items() if why == IGNORE_LIST}
    held = {s for s, (_, why) in split_of.items() if why == NOT_IN_SPLITS}
    assert ignored == IGNORED and held == set(split_of) - TRAIN - TEST - INFERRED_VAL - IGNORED
    # Every video is accounted for: a split, or an exclusion with its reason.
    assert len(planned) == len(VIDEOS) == 12_670
    assert Counter(r.split is None for r in planned)[True] == sum(1 for v in VIDEOS if _seq(v) in ignored | held)


def test_ignored_and_held_out_videos_say_why(planned):
    for r in planned:
        if r.exclusion is None:
            continue
        assert r.split is None and r.exclusion.id == f"aist/{r.name.stem}" and r.exclusion.source_label
        if r.exclusion.reason == IGNORE_LIST:
            where = r.exclusion.detail.split(":")[:2]
            line = int(where[1])
            assert where[0] == "ignore_list.txt" and (AIST / "ignore_list.txt").read_text().split("\n")[line - 1].strip() == r.name.sequence
        else:
            assert r.exclusion.reason == NOT_IN_SPLITS and "holds it out" in r.exclusion.detail


def test_the_rule_alone_gives_the_same_splits(planned, real_lists):
    """Without the cross-modal lists (only the ignore list), mint's rule reproduces them exactly."""
    alone = plan_names(VIDEOS, AistLists(ignore=real_lists.ignore))
    assert [(r.split, r.exclusion and r.exclusion.reason) for r in alone] == [(r.split, r.exclusion and r.exclusion.reason) for r in planned]
    assert {r.rule for r in alone if r.split} == {CROSS_MODAL_RULE}
    bare = plan_names(VIDEOS)
    assert {r.name.sequence for r in bare if r.split == "train"} == TRAIN
    assert {r.name.sequence for r in bare if r.split == "test"} == TEST
    assert {r.name.sequence for r in bare if r.split == "validation"} == INFERRED_VAL


def test_train_shares_no_music_and_no_basic_move_with_validation_or_test(planned):
    train = [r.name for r in planned if r.split == "train"]
    held = [r.name for r in planned if r.split in ("validation", "test")]
    assert {n.music for n in train}.isdisjoint({n.music for n in held})
    moves = lambda names: {(n.genre, n.choreography) for n in names if n.situation == "sBM"}  # noqa: E731
    assert moves(train).isdisjoint(moves(held))
    val = [r.name for r in planned if r.split == "validation"]
    test = [r.name for r in planned if r.split == "test"]
    assert moves(val).isdisjoint(moves(test))  # AIST++: same music, other choreographies


def test_lists_are_read_leniently_and_a_bad_line_costs_only_itself(tmp_path):
    (tmp_path / "splits").mkdir()
    train = ["gBR_sBM_cAll_d04_mBR1_ch03", "  gBR_sBM_cAll_d04_mBR1_ch04\t", "", "gBR_sBM_c01_d04_mBR1_ch05",
             "../../etc/passwd", "gBR_sBM_cAll_d04_mBR1_ch03", "gBR_sBM_cAll_d04_mBR0_ch02"]
    (tmp_path / "splits" / "crossmodal_train.txt").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(train).encode())
    (tmp_path / "splits" / "crossmodal_test.txt").write_bytes(b"gBR_sBM_cAll_d04_mBR0_ch02\rgBR_sBM_cAll_d05_mBR0_ch02\r\r")
    (tmp_path / "splits" / "ignore_list.txt").write_text("gBR_sBM_cAll_d05_mBR0_ch02 \n\n", encoding="utf-8")
    lists = read_lists(tmp_path)
    assert list(lists.splits["train"]) == ["gBR_sBM_cAll_d04_mBR1_ch03", "gBR_sBM_cAll_d04_mBR1_ch04", "gBR_sBM_cAll_d04_mBR0_ch02"]
    assert lists.splits["test"] == {"gBR_sBM_cAll_d04_mBR0_ch02": "splits/crossmodal_test.txt:1", "gBR_sBM_cAll_d05_mBR0_ch02": "splits/crossmodal_test.txt:2"}
    assert lists.ignore == {"gBR_sBM_cAll_d05_mBR0_ch02": "splits/ignore_list.txt:1"}
    expected = [
        (MALFORMED_LINE, "splits/crossmodal_train.txt:4: "),  # a view's name, not a sequence
        (MALFORMED_LINE, "splits/crossmodal_train.txt:5: "),  # a path
        (DUPLICATE_LINE, "splits/crossmodal_train.txt:6: "),
        (SPLIT_CONFLICT, "gBR_sBM_cAll_d04_mBR0_ch02 is listed in splits/crossmodal_train.txt:7 and splits/crossmodal_test.txt:1"),
    ]
    assert len(lists.issues) == len(expected)
    for reason, prefix in expected:
        assert any(e.reason == reason and e.detail.startswith(prefix) for e in lists.issues), (reason, prefix, lists.issues)
    assert all(e.count == 0 for e in lists.issues)  # list lines stand for no video
    conflicted = assign_splits([parse_video_name(f"gBR_sBM_c0{i}_d04_mBR0_ch02") for i in (1, 2)], lists)
    assert [a.split for a in conflicted] == ["test", "test"]  # the most held-out of the two lists
    assert "splits/crossmodal_train.txt:7 and splits/crossmodal_test.txt:1" in conflicted[0].rule


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.sampled_from(sorted(TEST) + sorted(TRAIN)[:40]), st.sampled_from(["", " ", "\t", "  "]),
                       st.sampled_from(["\n", "\r\n", "\r", "\n\n", " \n"])), min_size=1, max_size=12),
    st.lists(st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), min_size=1, max_size=20), max_size=3),
    st.booleans(),
)
def test_any_layout_of_a_list_reads_back_its_names(entries, junk, bom):
    """Whatever the line ends, blank lines, surrounding spaces or BOM, a list gives back its
    sequence names in order, and each junk line is one issue with its line number."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "splits").mkdir()
        text = "".join(f"{pad}{name}{pad}{end}" for name, pad, end in entries)
        text += "".join(f"{j}\n" for j in junk)
        (root / "splits" / "crossmodal_train.txt").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
        (root / "splits" / "crossmodal_test.txt").write_text("")
        lists = read_lists(root)
    assert list(lists.splits["train"]) == list(dict.fromkeys(name for name, _, _ in entries))
    readable_junk = [j for j in junk if j.strip() and j.strip() not in TRAIN | TEST]
    assert len([e for e in lists.issues if e.reason == MALFORMED_LINE]) == len(readable_junk)
    assert all(e.count == 0 and e.detail.startswith("splits/crossmodal_train.txt:") for e in lists.issues)


@pytest.mark.parametrize(
    "files, says",
    [
        (["splits/crossmodal_train.txt"], "crossmodal_test.txt"),
        (["splits/crossmodal_test.txt"], "crossmodal_train.txt"),
        (["splits/crossmodal_val.txt"], "crossmodal_train.txt"),
    ],
)
def test_a_partial_set_of_lists_is_refused(tmp_path, files, says):
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("gBR_sBM_cAll_d04_mBR1_ch03")
    with pytest.raises(AnnotationError, match=says):
        read_lists(tmp_path)


def test_a_list_that_is_not_text_is_refused(tmp_path):
    shutil.copytree(AIST / "splits", tmp_path / "splits")
    (tmp_path / "ignore_list.txt").write_bytes(b"gBR_sBM_cAll_d04_mBR0_ch08\n\xff\xfe")
    with pytest.raises(AnnotationError, match="ignore_list.txt: not UTF-8"):
        read_lists(tmp_path)


def test_no_lists_at_all_is_the_rule_alone(tmp_path):
    lists = read_lists(tmp_path)
    assert not lists.present and not lists.ignore
    assert [r.rule for r in plan_names(["gBR_sBM_c01_d04_mBR1_ch03"], lists)] == [CROSS_MODAL_RULE]


def test_a_validation_list_when_present_decides(tmp_path):
    shutil.copytree(AIST / "splits", tmp_path / "splits")
    chosen = sorted(INFERRED_VAL)[:3]
    (tmp_path / "splits" / "crossmodal_val.txt").write_text("\n".join(chosen))
    lists = read_lists(tmp_path)
    assert lists.has_validation
    results = plan_names([v for v in VIDEOS if _seq(v) in INFERRED_VAL], lists)
    assert {r.name.sequence for r in results if r.split == "validation"} == set(chosen)
    assert {r.exclusion.reason for r in results if r.split is None} == {NOT_IN_SPLITS}  # no inference once the list exists
    assert {r.rule for r in results if r.split} == {f"splits/crossmodal_val.txt:{i}" for i in (1, 2, 3)}


def test_other_situations_split_by_a_hash_of_the_whole_group(real_lists):
    views = [f"gJS_sGR_c0{c}_{d}_mJS2_ch03" for c in range(1, 10) for d in ("d01_d02_d03", "d03_d01_d02")]
    views += [f"sBT_c0{c}_d21_d31_v5" for c in range(1, 6)] + [f"sSH_c0{c}_v0" for c in range(1, 9)]
    results = plan_names(views, real_lists)
    by_group = defaultdict(set)
    for r in results:
        assert r.rule.startswith(HASH_RULE)
        by_group[r.group].add(r.split)
    assert len(by_group) == 3 and all(len(v) == 1 for v in by_group.values())
    assert {g: next(iter(v)) for g, v in by_group.items()} == {g: hash_split(g) for g in by_group}
    # 80/10/10 over many groups, the same on every run and machine
    shares = Counter(hash_split(f"gBR_sGR_cAll_d01_d02_d03_mBR{t}_ch{c:02d}") for t in range(6) for c in range(1, 100))
    assert 0.75 < shares["train"] / 594 < 0.85 and 0.05 < shares["validation"] / 594 < 0.15 and 0.05 < shares["test"] / 594 < 0.15


def test_a_group_given_two_splits_moves_whole_to_the_most_held_out():
    a, b = "gJS_sGR_cAll_d01_d02_d03_mJS2_ch03", "gJS_sGR_cAll_d03_d02_d01_mJS2_ch03"  # one group, dancers in two orders
    lists = AistLists(splits={"train": {a: "crossmodal_train.txt:1"}, "test": {b: "crossmodal_test.txt:1"}})
    results = assign_splits([parse_video_name(a.replace("cAll", "c01")), parse_video_name(b.replace("cAll", "c02"))], lists)
    assert [r.split for r in results] == ["test", "test"] and "moved whole to test" in results[0].rule


def test_unreadable_and_duplicate_names_are_counted_in_order(real_lists):
    texts = ["gBR_sBM_c01_d04_mBR1_ch03.mp4", "notes.txt", "gBR_sBM_c01_d04_mBR1_ch03", "gBR_sXX_c01_d04_mBR1_ch03", "sSH_c01_v0"]
    results = plan_names(texts, real_lists)
    assert [type(r).__name__ for r in results] == ["Assignment", "Exclusion", "Exclusion", "Exclusion", "Assignment"]
    assert [r.reason for r in results if isinstance(r, Exclusion)] == ["unreadable name", DUPLICATE_VIDEO, "unknown code"]
    assert results[1].id == "aist/notes.txt" and "expected an official AIST name" in results[1].detail


@functools.lru_cache(maxsize=1)
def _full_plan() -> tuple[AistLists, list[tuple]]:
    lists = read_lists(AIST)
    return lists, [(r.split, r.rule, r.exclusion and r.exclusion.reason) for r in plan_names(VIDEOS, lists)]


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, len(VIDEOS) - 1), min_size=1, max_size=60, unique=True))
def test_a_name_gets_the_same_split_whatever_else_is_planned(indices):
    """A build of some of the videos, in any order, gives each the split of the full build."""
    lists, full = _full_plan()
    part = plan_names([VIDEOS[i] for i in indices], lists)
    assert [(r.split, r.rule, r.exclusion and r.exclusion.reason) for r in part] == [full[i] for i in indices]


def test_the_plan_counts_script_on_the_real_list(planned):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "aist_plan_counts.py"), str(AIST / "video_list.txt")],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    total = next(line for line in out.splitlines() if line.startswith("(total)")).split()
    counts = Counter(r.split for r in planned if r.split)
    sequences = {s: len({r.name.sequence for r in planned if r.split == s}) for s in counts}
    assert total[1:7] == [f"{counts['train']:,}", f"({sequences['train']:,})", f"{counts['validation']:,}",
                          f"({sequences['validation']:,})", f"{counts['test']:,}", f"({sequences['test']:,})"]
    assert "planning 12,670 names:" in out and "peak traced memory" in out
