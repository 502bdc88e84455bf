"""AIST names: every real AIST++ video name read whole, the documented forms, hostile names refused.

Expected counts come from the real files in ``tests/data/aist/`` (read here with plain string
operations, independently of the parser), except the documented facts that the file itself
gives: 12,670 names, 1,408 sequences.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dance_aggregate.builders.aist.names import (
    GENRES,
    MAX_NAME_LENGTH,
    UNKNOWN_CODE,
    UNREADABLE_NAME,
    AistName,
    parse_sequence_name,
    parse_video_name,
)
from dance_aggregate.builders.aist.rows import PERFORMANCE_FIELDS, performance, source_label
from dance_aggregate.errors import RecordError

AIST = Path(__file__).parent / "data" / "aist"
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def video_list() -> list[str]:
    return (AIST / "video_list.txt").read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def parsed(video_list) -> list[AistName]:
    return [parse_video_name(n) for n in video_list]


def test_every_real_name_is_read_whole(video_list, parsed):
    assert len(video_list) == 12_670 and len(set(video_list)) == len(video_list)
    for text, name in zip(video_list, parsed, strict=True):
        assert name.stem == text and name.file_name == f"{text}.mp4" and not name.is_sequence
        fields = text.split("_")  # the grammar, re-read without the parser
        assert (name.genre, name.situation, name.camera, name.dancers, name.music, name.choreography) == (
            fields[0], fields[1], fields[2], (fields[3],), fields[4], fields[5])
        assert name.music_genre == f"g{fields[4][1:3]}" and name.tempo_index == int(fields[4][3])
        assert parse_video_name(f"{text}.mp4") == name


def test_the_performances_are_the_aistpp_sequences(video_list, parsed):
    """A performance (the sequence, camera cAll) gathers the views of one take; they are
    exactly the 1,408 sequences of the real cameras/mapping.txt, each with its 9 views but two."""
    views = Counter(n.sequence for n in parsed)
    expected = Counter(re.sub(r"_c0[1-9]_", "_cAll_", t, count=1) for t in video_list)
    assert views == expected and len(views) == 1_408
    mapping = [line.split()[0] for line in (AIST / "cameras" / "mapping.txt").read_text().splitlines() if line.strip()]
    assert set(views) == set(mapping) and len(mapping) == len(views)
    assert sorted(v for v in views.values() if v != 9) == [8, 8]
    # In this list every (genre, situation, dancer, music, choreography) is filmed once: the
    # group (repeats of the same dancer, music and choreography) is the performance itself.
    assert all(n.group == n.sequence for n in parsed)
    keys = {(n.genre, n.situation, n.dancers, n.music, n.choreography) for n in parsed}
    assert len(keys) == len(views)
    # All views of a sequence name read back as one sequence whose views are the videos.
    by_sequence: dict[str, set[str]] = {}
    for n in parsed:
        by_sequence.setdefault(n.sequence, set()).add(n.stem)
    for seq, stems in by_sequence.items():
        s = parse_sequence_name(seq)
        assert s.is_sequence and s.stem == seq
        assert {s.with_camera(f"c0{i}").stem for i in range(1, 10)} >= stems


def test_genres_and_source_labels_are_the_real_categ2name(parsed):
    categ = json.loads((AIST / "categ2name.json").read_text(encoding="utf-8"))
    assert GENRES == categ
    assert Counter(source_label(n) for n in parsed).keys() == set(categ.values())
    struct = performance(parsed[0])
    assert list(struct) == list(PERFORMANCE_FIELDS)
    assert struct == {"sequence": "gBR_sBM_cAll_d04_mBR0_ch01", "situation": "sBM", "camera": "c01", "dancers": ["d04"],
                      "music": "mBR0", "choreography": "ch01"}


@pytest.mark.parametrize(
    "text, fields",
    [
        # FORMAT.md section 1, each sample form (P1's examples and AIST++'s sequence name)
        ("gBR_sBM_c01_d04_mBR0_ch01.mp4", ("gBR", "sBM", "c01", ("d04",), "mBR0", "ch01", None)),
        ("gBR_sBA_c01_d01_d02_d03_mBR3_ch04.mp4", ("gBR", "sBA", "c01", ("d01", "d02", "d03"), "mBR3", "ch04", None)),
        ("gBR_sBA_c01_d03_mBR3_ch04.mp4", ("gBR", "sBA", "c01", ("d03",), "mBR3", "ch04", None)),
        ("gBR_sGR_c01_d01_d02_d03_mBR3_ch04.mp4", ("gBR", "sGR", "c01", ("d01", "d02", "d03"), "mBR3", "ch04", None)),
        ("sSH_c01_v0.mp4", (None, "sSH", "c01", (), None, None, "v0")),
        ("sCY_c05_v4", (None, "sCY", "c05", (), None, None, "v4")),
        # battle with its two dancers (P1's table; the exact form is not confirmed)
        ("sBT_c01_d21_d31_v5.mp4", (None, "sBT", "c01", ("d21", "d31"), None, None, "v5")),
        ("sCY_c02_d20_d31_d21_d32_d33_d34_d35_d22_d23_d24_v3", (None, "sCY", "c02", tuple(f"d{i}" for i in
                                                                 (20, 31, 21, 32, 33, 34, 35, 22, 23, 24)), None, None, "v3")),
        ("gJB_sFM_c09_d40_mKR5_ch21.MP4", ("gJB", "sFM", "c09", ("d40",), "mKR5", "ch21", None)),
    ],
)
def test_the_documented_forms(text, fields):
    name = parse_video_name(text)
    assert (name.genre, name.situation, name.camera, name.dancers, name.music, name.choreography, name.variation) == fields
    assert name.stem == text.removesuffix(".mp4").removesuffix(".MP4")
    assert name.sequence == name.stem.replace(f"_{name.camera}", "_cAll", 1)
    assert parse_sequence_name(name.sequence).sequence == name.sequence


def test_group_is_order_free_and_situation_videos_label_by_situation():
    a = parse_video_name("gBR_sGR_c01_d03_d01_d02_mBR3_ch04")
    b = parse_video_name("gBR_sGR_c07_d01_d02_d03_mBR3_ch04")
    assert a.group == b.group == "gBR_sGR_cAll_d01_d02_d03_mBR3_ch04" and a.sequence != b.sequence
    assert source_label(parse_video_name("sBT_c01_d21_d31_v5")) == "Battle"
    assert performance(parse_video_name("sSH_c01_v0"))["music"] is None


@pytest.mark.parametrize(
    "text, reason, says",
    [
        ("../x", UNREADABLE_NAME, "a path"),
        ("videos/gBR_sBM_c01_d04_mBR0_ch01.mp4", UNREADABLE_NAME, "a path"),
        ("..\\gBR_sBM_c01_d04_mBR0_ch01", UNREADABLE_NAME, "a path"),
        ("gBR_sBM_c01_d04_mBR0_ch01\x00.mp4", UNREADABLE_NAME, "control"),
        ("gBR_sBM_c01_d04_mBR0_ch01.mp4.exe", UNREADABLE_NAME, "one .mp4"),
        ("gBR_sBM_c01_d04_mBR0_ch01.mp4.mp4", UNREADABLE_NAME, "one .mp4"),
        ("gBR_sBM_c01_d04_mBR0_ch01.avi", UNREADABLE_NAME, "one .mp4"),
        ("gBR_sBM_c01_d04_mBR0_ch01 ", UNREADABLE_NAME, "whitespace"),
        ("gBR_sBM_c0\u0661_d04_mBR0_ch01", UNREADABLE_NAME, "non-ASCII"),  # an Arabic-Indic digit: \d would take it
        ("gBR_sBM_c01_d04_mBR0_ch01" + "_ch01" * 30, UNREADABLE_NAME, "longer than any AIST name"),
        ("", UNREADABLE_NAME, "empty"),
        (".mp4", UNREADABLE_NAME, "an extension and no name"),
        ("gBR_sBM_c01_d04_mBR0_ch01_x", UNREADABLE_NAME, "7 fields"),
        ("gBR_sBM_c01_d04_d05_mBR0_ch01", UNREADABLE_NAME, "7 fields"),
        ("gBR_sGR_c01_d01_d02_mBR3_ch04", UNREADABLE_NAME, "sGR names have 8"),
        ("gBR_sGR_c01_d01_d01_d03_mBR3_ch04", UNREADABLE_NAME, "named twice"),
        ("gBR__sBM_c01_d04_mBR0_ch01", UNREADABLE_NAME, "empty field"),
        ("gBR_sBM_c00_d04_mBR0_ch01", UNREADABLE_NAME, "camera 'c00'"),
        ("gBR_sBM_c10_d04_mBR0_ch01", UNREADABLE_NAME, "camera 'c10'"),
        ("gBR_sBM_c1_d04_mBR0_ch01", UNREADABLE_NAME, "camera 'c1'"),
        ("gBR_sBM_cAll_d04_mBR0_ch01", UNREADABLE_NAME, "sequence name, not the name of a video"),
        ("gBR_sBM_c01_d00_mBR0_ch01", UNREADABLE_NAME, "dancer d01-d40"),
        ("gBR_sBM_c01_d41_mBR0_ch01", UNREADABLE_NAME, "dancer d01-d40"),
        ("gBR_sBM_c01_d4_mBR0_ch01", UNREADABLE_NAME, "dancer d01-d40"),
        ("gBR_sBM_c01_d04_mBR6_ch01", UNREADABLE_NAME, "tempo index 6"),
        ("gBR_sBM_c01_d04_mBR_ch01", UNREADABLE_NAME, "music code"),
        ("gBR_sBM_c01_d04_mBR0_ch00", UNREADABLE_NAME, "choreography"),
        ("gBR_sBM_c01_d04_mBR0_ch1", UNREADABLE_NAME, "choreography"),
        ("gbr_sbm_c01_d04_mbr0_ch01", UNREADABLE_NAME, "starts with"),
        ("gBR_sSH_c01_d04_mBR0_ch01", UNREADABLE_NAME, "no genre prefix"),
        ("sBM_c01_v0", UNREADABLE_NAME, "start with their genre"),
        ("sSH_c01_v00", UNREADABLE_NAME, "variation"),
        ("sSH_c01", UNREADABLE_NAME, "at least 3"),
        ("sBT_c01_d01_d02_d03_d04_d05_d06_d07_d08_d09_d10_d11_v1", UNREADABLE_NAME, "11 dancers"),
        ("gXX_sBM_c01_d04_mBR0_ch01", UNKNOWN_CODE, "genre 'gXX'"),
        ("gBR_sMM_c01_d04_mBR0_ch01", UNKNOWN_CODE, "moving camera"),
        ("gBR_sBM_c01_d04_mXX0_ch01", UNKNOWN_CODE, "music 'mXX0'"),
        ("sZZ_c01_v0", UNKNOWN_CODE, "situation 'sZZ'"),
    ],
)
def test_hostile_and_malformed_names_are_refused_with_the_grammar(text, reason, says):
    with pytest.raises(RecordError) as err:
        parse_video_name(text)
    assert err.value.reason == reason
    message = str(err.value)
    assert says in message and "expected an official AIST name" in message
    assert "\x00" not in message and len(message) < 1_000  # shown escaped and cut, never raw


def test_sequence_names_and_video_names_are_not_confused():
    with pytest.raises(RecordError, match="one view, not of an AIST\\+\\+ sequence"):
        parse_sequence_name("gBR_sBM_c01_d04_mBR0_ch01")
    with pytest.raises(RecordError, match="no extension"):
        parse_sequence_name("gBR_sBM_cAll_d04_mBR0_ch01.mp4")
    with pytest.raises(RecordError, match="not text"):
        parse_video_name(b"gBR_sBM_c01_d04_mBR0_ch01")
    with pytest.raises(RecordError, match="c01-c09"):
        parse_sequence_name("gBR_sBM_cAll_d04_mBR0_ch01").with_camera("c10")


# -- properties ---------------------------------------------------------------------------------
genres, musics = st.sampled_from(sorted(GENRES)), st.sampled_from(sorted(g[1:] for g in GENRES))
two = st.integers(1, 99).map(lambda i: f"{i:02d}")
dancer_ids = st.integers(1, 40).map(lambda i: f"d{i:02d}")


@st.composite
def valid_names(draw) -> str:
    camera = f"c0{draw(st.integers(1, 9))}"
    if draw(st.booleans()):
        situation = draw(st.sampled_from(["sBM", "sFM", "sGR", "sBA"]))
        n = {"sBM": 1, "sFM": 1, "sGR": 3}.get(situation) or draw(st.sampled_from([1, 3]))
        dancers = draw(st.lists(dancer_ids, min_size=n, max_size=n, unique=True))
        music = f"m{draw(musics)}{draw(st.integers(0, 5))}"
        return "_".join([draw(genres), situation, camera, *dancers, music, f"ch{draw(two)}"])
    dancers = draw(st.lists(dancer_ids, max_size=10, unique=True))
    return "_".join([draw(st.sampled_from(["sSH", "sCY", "sBT"])), camera, *dancers, f"v{draw(st.integers(0, 99))}"])


@PROPERTY
@given(valid_names(), st.sampled_from(["", ".mp4", ".MP4"]))
def test_every_name_of_the_grammar_round_trips(stem, ext):
    name = parse_video_name(stem + ext)
    assert name.stem == stem and len(stem) <= MAX_NAME_LENGTH
    assert parse_sequence_name(name.sequence) == name.__class__(**{**name.__dict__, "camera": "cAll"})
    assert parse_video_name(name.file_name) == name


@PROPERTY
@given(valid_names(), st.integers(0, 80), st.text(min_size=1, max_size=3))
def test_a_changed_character_never_sneaks_through(stem, where, junk):
    """Inserting text into a valid name gives a valid name only when the result is one of the
    grammar's names, read back exactly; it never gives a name that differs from its text."""
    text = stem[: where % (len(stem) + 1)] + junk + stem[where % (len(stem) + 1):]
    try:
        name = parse_video_name(text)
    except RecordError as exc:
        assert exc.reason in (UNREADABLE_NAME, UNKNOWN_CODE)
        return
    assert name.stem == text.removesuffix(text[-4:] if text[-4:].lower() == ".mp4" else "")
    assert re.fullmatch(r"[A-Za-z0-9_]+", name.stem)


@PROPERTY
@given(st.one_of(st.text(max_size=80), st.binary(max_size=20), st.integers(), st.none()))
def test_any_input_is_a_name_or_a_record_error(value):
    try:
        name = parse_video_name(value)
    except RecordError as exc:
        assert exc.reason in (UNREADABLE_NAME, UNKNOWN_CODE)
    else:
        assert isinstance(value, str) and name.stem in value
