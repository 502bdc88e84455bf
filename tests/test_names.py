"""``safe_stem``: an identifier from a source file never names anything but one plain file
in the folder it is joined to (properties over arbitrary text, derandomized)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dance_aggregate.files.names import MAX_STEM, safe_stem

PROPERTY = settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
#: Any text, surrogates included (ids are read from files with surrogate escapes), and
#: text built from the characters that matter most here.
ids = st.one_of(
    st.text(max_size=300),
    st.text(st.sampled_from("./-_%~\x00 aZ9\\:é"), max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=100, max_size=400),
)


def _check(stem: str, max_len: int) -> None:
    assert stem not in ("", ".", "..")
    assert "/" not in stem and "\x00" not in stem and "\\" not in stem
    assert not stem.startswith((".", "-"))
    assert len(stem) <= max(max_len, 32)
    assert stem.isascii() and stem.isprintable()


@PROPERTY
@given(ids, st.integers(min_value=32, max_value=200))
def test_a_stem_is_one_plain_name_within_the_bound(text: str, max_len: int) -> None:
    _check(safe_stem(text, max_len), max_len)
    _check(safe_stem(text), MAX_STEM)


@PROPERTY
@given(ids, ids)
def test_distinct_ids_give_distinct_stems(a: str, b: str) -> None:
    if a != b:
        assert safe_stem(a) != safe_stem(b)
        assert safe_stem(a, 40) != safe_stem(b, 40)


def test_near_misses_stay_apart() -> None:
    # Escapes, a leading dot or dash, and cut long names never collide with a plain name.
    names = [".", "..", "-x", "%2Dx", "x", "a/b", "a%2Fb", "a~b", "", "%", "ab" * 100, "ab" * 100 + "c", "é", "%C3%A9"]
    stems = [safe_stem(n) for n in names]
    assert len(set(stems)) == len(names), dict(zip(names, stems, strict=True))
    for stem in stems:
        _check(stem, MAX_STEM)
