"""``iter_csv`` reads a CSV one line at a time and gives what ``read_csv`` gives: the same
header, rows, line numbers and errors, whatever the line ends, byte-order mark or bad lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from dance_aggregate.builders.annotations import iter_csv, read_csv
from dance_aggregate.errors import AnnotationError

CASES = {
    "plain": b"label,youtube_id,time_start,time_end,split\nzumba,abcdefghijk,1,11,train\n",
    "bom_crlf_spaces": b"\xef\xbb\xbf label , youtube_id,time_start,time_end,split\r\n zumba ,abcdefghijk, 1,11,val\r\n",
    "cr_only": b"label,youtube_id,time_start,time_end,split\rzumba,abcdefghijk,1,11,train\rtango,bbbbbbbbbbb,2,12,\r",
    "blank_and_bad_lines": (b"\n\nlabel,youtube_id,time_start,time_end,split\n\n,,,,\nzumba,\"abc,1,11,train\n"
                            b"a,b\nzumba,abcdefghijk,1,11,train,extra\nsalsa dancing,-5Yp-vToI2E,0,10,test\n"),
    "no_final_newline": b"label,youtube_id,time_start,time_end,split\nzumba,abcdefghijk,1,11,train",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_iter_csv_gives_what_read_csv_gives(tmp_path: Path, name: str) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(CASES[name])
    need = ("youtube_id", "time_start", "time_end")
    header, rows = read_csv(path, need, "x")
    header2, rows2 = iter_csv(path, need, "x")
    assert header2 == header and list(rows2) == rows


@pytest.mark.parametrize("data", [b"", b"\n\n", b"a,b\n1,2\n", b"label,youtube_id\xff,time_start,time_end\n"])
def test_iter_csv_fails_like_read_csv_for_the_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(data)
    with pytest.raises(AnnotationError):
        read_csv(path, ("youtube_id", "time_start", "time_end"), "x")
    with pytest.raises(AnnotationError, match=str(path)):
        iter_csv(path, ("youtube_id", "time_start", "time_end"), "x")


def test_a_bad_byte_far_after_the_header_fails_when_reached(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    good = b"zumba,abcdefghijk,1,11\n" * 20_000  # far past the first chunk the decoder reads
    path.write_bytes(b"label,youtube_id,time_start,time_end\n" + good + b"zumba,\xff\xfe,1,11\n")
    _, rows = iter_csv(path, ("youtube_id",), "x")
    with pytest.raises(AnnotationError, match="not UTF-8 text after line"):
        list(rows)
