#!/usr/bin/env python3
"""A campaign of malformed inputs, hostile ids and faults against ``dance_aggregate.build``.

    python scripts/hostile_inputs.py [--only SUBSTRING] [--verbose]

Each variant writes a small raw tree (annotation files as an unlucky user or an attacker
would have them), builds one config with the library entry point (the CLI calls the same)
and classifies what happened:

- ``handled``: the build went on, and every input record is a row or an exclusion (records
  read equal the records the variant wrote);
- ``clear error``: the variant must be refused, and was, with the package's own error and no
  traceback;
- ``TRACEBACK``: an exception other than the package's escaped, or a traceback was logged
  (what a user sees as a crash);
- ``SILENT LOSS``: the build went on but records vanished from the accounting, a refused
  input went through with exit 0, a previous good folder changed, a report cell can run
  as a spreadsheet formula, a good file was excluded (or a bad one stored), or a stored
  clip's times do not match its frames, or its ``has_audio`` its audio (the ``media``
  group: a track of digital silence must be a row without audio, counted as such);
- ``ESCAPE``: a file appeared outside the output folder;
- ``DELETED``: a file or folder the build did not make was removed (a user's file named like
  a temporary, in the output folder or the system temporary folder);
- ``LEFTOVER``: a temporary a killed build left (marked as the build's own) was not removed;
- ``LEAK``: ``publish`` followed a symbolic link and uploaded a file from outside the folder;
- ``STOPPED``: one bad record stopped its whole config (with a clear message, but the other
  records were not built);
- ``HANG``: the build did not finish within ``--timeout`` seconds.

Most variants call ``dance_aggregate.build``; the ``cli`` group runs the command line (its
``NAME=VALUE`` options given twice), the ``publish`` group publishes a built folder holding a
symbolic link to the Hub stand-in of the tests (``tests/hubserver.py``, on 127.0.0.1).
Nothing goes to the network: YouTube-backed sources run offline or against the local
stand-in server of the tests. Runs against any checkout (``PYTHONPATH=src``), so the figures
of two versions can be compared. Prints one line per variant and a summary table.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import io
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers_fetch

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import dance_aggregate as da  # noqa: E402
from dance_aggregate.errors import DanceAggregateError  # noqa: E402
from dance_aggregate.fetch.options import FetchOptions  # noqa: E402

MARKER = f"pwn-{uuid.uuid4().hex[:8]}"
K_HEADER = "label,youtube_id,time_start,time_end,split"
TAXONOMY = [{"nodeId": 136, "nodeName": "Dancing", "parentId": 0}, {"nodeId": 141, "nodeName": "Tango", "parentId": 136}]
HOSTILE = ["..", "/", "", f"./../../../../tmp/{MARKER}/pwn", "../" * 12 + f"tmp/{MARKER}", ".hidden", "a\x00b",
           "x" * 250, "x" * 300, "ダンスダンスダンスダン", "abc/def/gh"]


@dataclass
class Variant:
    """One malformed input: ``make(root)`` writes it and returns the build's arguments."""

    group: str
    name: str
    config: str
    make: Callable[[Path], dict[str, Any]]
    expect: int | str  # records read, or "error"
    fault: Callable[[Path], contextlib.AbstractContextManager] | None = None
    prebuild: bool = False  # build a good folder first; the variant must leave it unchanged
    online: bool = False
    want: str | None = None  # "row": every record is a row; a reason: the one exclusion has it
    check: Callable[[Path], Outcome | None] | None = None  # after the build: what else must hold
    runner: str = "build"  # "build": da.build(**make(root)); "cli": the command line; "publish": publish a folder


@dataclass
class Outcome:
    kind: str
    detail: str = ""


VARIANTS: list[Variant] = []


def variant(group: str, name: str, config: str, expect: int | str, **kw: Any) -> Callable:
    def wrap(make: Callable[[Path], dict[str, Any]]) -> Callable:
        VARIANTS.append(Variant(group, name, config, make, expect, **kw))
        return make

    return wrap


# -- writers -------------------------------------------------------------------------------------
def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def kinetics(root: Path, rows: list[str], header: str = K_HEADER, name: str = "validate.csv", raw: bytes | None = None) -> dict:
    write(root / "k600" / name, raw if raw is not None else "\n".join([header, *rows]) + "\n")
    return {"data_dirs": {"kinetics600": root / "k600"}}


def anet(root: Path, database: Any = None, text: str | None = None, taxonomy: Any = TAXONOMY) -> dict:
    doc = text if text is not None else json.dumps({"version": "1.3", "taxonomy": taxonomy, "database": database})
    write(root / "anet" / "activity_net.v1-3.min.json", doc)
    return {"data_dirs": {"activitynet": root / "anet"}}


def video(*segments: Any, subset: str = "training", duration: Any = 20.0, label: Any = "Tango") -> dict:
    return {"duration": duration, "subset": subset, "annotations": [{"segment": s, "label": label} for s in segments]}


def ucf(root: Path, train: str | bytes, test: str | bytes = b"") -> dict:
    base = root / "ucf"
    (base / "UCF-101" / "SalsaSpin").mkdir(parents=True)
    write(base / "ucfTrainTestlist" / "trainlist01.txt", train)
    write(base / "ucfTrainTestlist" / "testlist01.txt", test)
    return {"data_dirs": {"ucf101": base}}


def letsdance(root: Path, members: list[str], lists: str | bytes | None = None,
              extra: Callable[[zipfile.ZipFile], None] | None = None) -> dict:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 18)).save(buf, "JPEG")
    archive = root / "ld.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for m in members:
            zf.writestr(m, buf.getvalue())
        if extra is not None:
            extra(zf)
    out: dict[str, Any] = {"data_dirs": {"letsdance": archive}}
    if lists is not None:
        write(root / "splits.csv", lists)
        out["options"] = {"letsdance": {"splits": str(root / "splits.csv")}}
    return out


GOOD_LD = [f"rgb/ballet/0DvqbnEtyNY_053_{i:04d}.jpg" for i in range(1, 4)]


def yt8m(root: Path, records: list[bytes] | None = None, vocab: bytes | None = None, raw: bytes | None = None,
         shard: str = "train0000.tfrecord") -> dict:
    from dance_aggregate.builders.youtube8m.sample import write_youtube8m_vocabulary
    from dance_aggregate.builders.youtube8m.tfrecord import frame_record

    base = root / "yt8m"
    write_youtube8m_vocabulary(base / "vocabulary.csv")
    if vocab is not None:
        write(base / "vocabulary.csv", vocab)
    data = raw if raw is not None else b"".join(frame_record(r) for r in records or [])
    write(base / shard, data)
    return {"data_dirs": {"youtube8m": base}}


def example(vid: bytes | None = b"aa01", labels: tuple[int, ...] = (8,), rgb: int = 1024) -> bytes:
    from dance_aggregate.builders.youtube8m.tfrecord import make_example

    ctx: dict[str, Any] = {"labels": np.array(labels, np.int64), "mean_rgb": np.zeros(rgb, np.float32),
                           "mean_audio": np.zeros(128, np.float32)}
    if vid is not None:
        ctx["id"] = vid
    return make_example(ctx)


def vocab_text() -> str:
    from dance_aggregate.builders.youtube8m.sample import write_youtube8m_vocabulary

    with tempfile.TemporaryDirectory() as t:
        write_youtube8m_vocabulary(Path(t) / "v.csv")
        return (Path(t) / "v.csv").read_text(encoding="utf-8")


# -- the variants ---------------------------------------------------------------------------------
G = "salsa dancing,-5Yp-vToI2E,12,22,val"
for name, rows, n in [
    ("BOM in the header", None, 2), ("CRLF line ends", None, 2), ("spaces around headers and cells", None, 2),
    ("time_start 'abc'", [G, "salsa dancing,aaaaaaaaaaa,abc,22,val"], 2),
    ("time_start nan", [G, "salsa dancing,aaaaaaaaaaa,nan,22,val"], 2),
    ("time_end inf", [G, "salsa dancing,aaaaaaaaaaa,1,inf,val"], 2),
    ("negative start", [G, "salsa dancing,aaaaaaaaaaa,-5,5,val"], 2),
    ("reversed range", [G, "salsa dancing,aaaaaaaaaaa,9,2,val"], 2),
    ("empty range", [G, "salsa dancing,aaaaaaaaaaa,2,2,val"], 2),
    ("unknown split value", [G, "salsa dancing,aaaaaaaaaaa,1,11,someday"], 2),
    ("unbalanced quote", [G, 'salsa dancing,"aaaaaaaaaaa,1,11,val'], 2),
    ("too few fields", [G, "salsa dancing,aaaaaaaaaaa"], 2),
    ("too many fields", [G, "salsa dancing,aaaaaaaaaaa,1,11,val,x,y"], 2),
    ("duplicate rows", [G, G], 2),
    ("blank lines", ["", G, "", "   "], 1),
    ("id beginning with '-' (valid)", ["salsa dancing,-_-_-_-_-_-,1,11,val"], 1),
    ("label starting with '=' (formula)", ['"=HYPERLINK(""http://x"",""y"")",aaaaaaaaaaa,1,11,val', G], 2),
    ("header only", [], 0),
]:
    def make(root: Path, rows=rows, name=name) -> dict:
        if rows is not None:
            return kinetics(root, rows)
        text = "\n".join([K_HEADER, G, "zumba,kRb0xS2sTzA,1,11,val"]) + "\n"
        if name.startswith("BOM"):
            text = "\ufeff" + text
        elif name.startswith("CRLF"):
            text = text.replace("\n", "\r\n")
        else:
            text = " label , youtube_id ,time_start,time_end , split\n salsa dancing , -5Yp-vToI2E , 12 , 22 , val \n" \
                   "zumba , kRb0xS2sTzA ,1,11, val\n"
        return kinetics(root, [], raw=text.encode())

    variant("kinetics csv", name, "kinetics600", n)(make)

for vid in HOSTILE:
    variant("kinetics csv", f"id {vid[:24]!r}", "kinetics600", 2)(
        lambda root, vid=vid: kinetics(root, [G, f"salsa dancing,{vid if vid else ''},1,11,val"]))

for name, header, raw in [
    ("header without youtube_id", "label,id,time_start,time_end,split", None),
    ("empty file", None, b""),
    ("latin-1 file", None, (K_HEADER + "\nsalsa dancing,\xe9aaaaaaaaaa,1,11,val\n").encode("latin-1")),
    ("binary garbage", None, bytes(range(256)) * 4),
]:
    variant("kinetics csv", name, "kinetics600", "error")(
        lambda root, header=header, raw=raw: kinetics(root, [G], header=header or K_HEADER, raw=raw))

K_JSON_GOOD = '"-5Yp-vToI2E": {"annotations": {"label": "salsa dancing", "segment": [12, 22]}, "subset": "train"}'


def k_json(other: str) -> str:
    """A Kinetics JSON twin: one good entry and ``other`` (JSON text of further members)."""
    return "{" + K_JSON_GOOD + ", " + other + "}"


for name, text, expect in [
    ("top level a list", "[1, 2]", "error"),
    ("not JSON", "{'a': 1", "error"),
    ("entry is a string", k_json('"aaaaaaaaaaa": "x"'), 2),
    ("annotations is a list", k_json('"aaaaaaaaaaa": {"annotations": [1, 2]}'), 2),
    ("segment '15'", k_json('"aaaaaaaaaaa": {"annotations": {"label": "zumba", "segment": "15"}}'), 2),
    ("segment [1, NaN]", k_json('"aaaaaaaaaaa": {"annotations": {"label": "zumba", "segment": [1, NaN]}}'), 2),
    ("duplicate key", k_json(K_JSON_GOOD), 2),
    ("hostile key", k_json(f'"../../../tmp/{MARKER}": {{"annotations": {{"label": "zumba", "segment": [1, 3]}}}}'), 2),
]:
    variant("kinetics json", name, "kinetics600", expect)(
        lambda root, text=text: kinetics(root, [], name="train.json", raw=text.encode()))

GOOD_V = ("sJFgo9H6zNo", video([1, 3]))
for name, db, expect in [
    ("segment [1, NaN]", {"aaaaaaaaaaa": video([1, float("nan")])}, 2),
    ("segment '15'", {"aaaaaaaaaaa": video("15")}, 2),
    ("segment [1]", {"aaaaaaaaaaa": video([1])}, 2),
    ("segment [1, 3, 5]", {"aaaaaaaaaaa": video([1, 3, 5])}, 2),
    ("segment ['1', '3']", {"aaaaaaaaaaa": video(["1", "3"])}, 2),
    ("reversed segment", {"aaaaaaaaaaa": video([5, 2])}, 2),
    ("negative start", {"aaaaaaaaaaa": video([-5, 3])}, 2),
    ("segment after the video", {"aaaaaaaaaaa": video([30, 40])}, 2),
    ("annotations an object", {"aaaaaaaaaaa": {"subset": "training", "annotations": {"segment": [1, 2]}}}, 2),
    ("entry a string", {"aaaaaaaaaaa": "x"}, 2),
    ("entry null", {"aaaaaaaaaaa": None}, 2),
    ("duration 'long'", {"aaaaaaaaaaa": video([1, 2], duration="long")}, 2),
    ("duration NaN", {"aaaaaaaaaaa": video([1, 2], duration=float("nan"))}, 2),
    ("label a number", {"aaaaaaaaaaa": video([1, 2], label=5)}, 2),
    ("testing subset", {"aaaaaaaaaaa": video([1, 2], subset="testing")}, 2),
    ("unknown subset", {"aaaaaaaaaaa": video([1, 2], subset="x")}, 2),
    ("two segments, one bad", {"aaaaaaaaaaa": video([1, 2], [1, "x"])}, 3),
] + [(f"key {k[:24]!r}", {k: video([1, 2])}, 2) for k in HOSTILE]:
    variant("activitynet json", name, "activitynet", expect)(lambda root, db=db: anet(root, dict([GOOD_V, *db.items()])))

for name, text, expect in [
    ("duplicate key", f'{{"taxonomy": {json.dumps(TAXONOMY)}, "database": {{"sJFgo9H6zNo": {json.dumps(video([1, 3]))}, '
     f'"sJFgo9H6zNo": {json.dumps(video([2, 4]))}}}}}', 2),
    ("database a list", '{"taxonomy": [], "database": [1, 2]}', "error"),
    ("no database", '{"taxonomy": []}', "error"),
    ("taxonomy of strings", '{"taxonomy": ["a"], "database": {}}', "error"),
    ("not JSON", "{", "error"),
    ("deeply nested", "[" * 100000, "error"),
    ("BOM before the JSON", "\ufeff" + json.dumps({"taxonomy": TAXONOMY, "database": dict([GOOD_V])}), 1),
    ("taxonomy with a cycle", json.dumps({"taxonomy": [{"nodeId": 1, "nodeName": "Dancing", "parentId": 2},
                                                       {"nodeId": 2, "nodeName": "Tango", "parentId": 1}],
                                          "database": dict([GOOD_V])}), 1),
]:
    variant("activitynet json", name, "activitynet", expect)(lambda root, text=text: anet(root, text=text))


def bsn(root: Path, info: str, anno: str | None = None) -> dict:
    write(root / "anet" / "anet_anno_action.json", anno or json.dumps({"v_sJFgo9H6zNo": {"duration_second": 9,
          "annotations": [{"segment": [1, 3], "label": "Tango"}]}, "v_aaaaaaaaaaa": {"annotations": []}}))
    write(root / "anet" / "video_info_new.csv", info)
    return {"data_dirs": {"activitynet": root / "anet"}}


for name, info, anno, expect in [
    ("CSV without subset", "video,numFrame,seconds\nv_sJFgo9H6zNo,1,9\n", None, "error"),
    ("CSV with BOM and CRLF", "\ufeffvideo,subset\r\nv_sJFgo9H6zNo,training\r\nv_aaaaaaaaaaa,training\r\n", None, 2),
    ("video missing from the CSV", "video,subset\nv_sJFgo9H6zNo,training\n", None, 2),
    ("JSON a list", "video,subset\n", "[1]", "error"),
]:
    variant("activitynet bsn", name, "activitynet", expect)(lambda root, info=info, anno=anno: bsn(root, info, anno))

U = "SalsaSpin/v_SalsaSpin_g01_c01.avi 77"
for name, train, expect in [
    ("garbage line", f"{U}\r\ngarbage\r\n", 2),
    ("path traversal", f"{U}\r\nSalsaSpin/../../../tmp/v_SalsaSpin_g02_c01.avi\r\n", 2),
    ("absolute path", f"{U}\r\n/etc/v_SalsaSpin_g02_c01.avi\r\n", 2),
    ("wrong extension", f"{U}\r\nSalsaSpin/v_SalsaSpin_g02_c01.mp4\r\n", 2),
    ("class mismatch", f"{U}\r\nSalsaSpin/v_Tango_g02_c01.avi\r\n", 2),
    ("duplicate line", f"{U}\r\n{U}\r\n", 2),
    ("CR-only line ends", f"{U}\rSalsaSpin/v_SalsaSpin_g02_c01.avi\r", 2),
    ("LF line ends", f"{U}\nSalsaSpin/v_SalsaSpin_g02_c01.avi\n", 2),
    ("unicode whitespace", f"{U}\u00a0x\r\n\u3000\r\n", 1),
    ("NUL in a line", f"{U}\r\nSalsa\x00Spin/v_SalsaSpin_g02_c01.avi\r\n", 2),
    ("empty lists", "", 0),
]:
    variant("ucf101 lists", name, "ucf101", expect)(lambda root, train=train: ucf(root, train))
variant("ucf101 lists", "latin-1 list", "ucf101", "error")(lambda root: ucf(root, "SalsaSpin/v_Salsa\xe9_g01_c01.avi\n".encode("latin-1")))

for name, members, lists, expect in [
    ("stray image names", [*GOOD_LD, "rgb/ballet/cover.jpg", "rgb/ballet/x.jpg"], None, 3),
    ("zip-slip member", [*GOOD_LD, f"rgb/ballet/../../../../tmp/{MARKER}_0001_0001.jpg"], None, 1),
    ("invalid YouTube id", [*GOOD_LD, "rgb/ballet/short_053_0001.jpg"], None, 2),
    ("hostile id in a name", [*GOOD_LD, "rgb/ballet/.._053_0001.jpg", "rgb/ballet/%s_053_0001.jpg" % ("x" * 240)], None, 3),
    ("list: malformed line", GOOD_LD, "0DvqbnEtyNY_053,train\nnot a line\n", 2),
    ("list: hostile key", GOOD_LD, f"0DvqbnEtyNY_053,train\n../../{MARKER}_001,train\n", 2),
    ("list: unknown split", GOOD_LD, "0DvqbnEtyNY_053,train\nQ3n_9xYw8aE_001,someday\n", 2),
    ("list: latin-1", GOOD_LD, "0DvqbnEtyNY_053,train\n\xe9_001,train\n".encode("latin-1"), "error"),
    ("no frames at all", ["rgb/readme.txt"], None, "error"),
]:
    variant("letsdance", name, "letsdance", expect)(lambda root, m=members, lists=lists: letsdance(root, m, lists))
variant("letsdance", "data dir not a zip", "letsdance", "error")(
    lambda root: {"data_dirs": {"letsdance": write(root / "ld.zip", b"not a zip")}})
variant("letsdance", "splits path missing", "letsdance", "error")(
    lambda root: {**letsdance(root, GOOD_LD), "options": {"letsdance": {"splits": str(root / "nope")}}})

V = vocab_text()
for name, vocab, expect in [
    ("vocabulary latin-1", V.replace("Flamenco", "Flamenc\xe9").encode("latin-1"), "error"),
    ("vocabulary header only", V.splitlines()[0].encode() + b"\n", "error"),
    ("vocabulary without Name", V.replace("Name", "Title").encode(), "error"),
    ("vocabulary BOM and CRLF", ("\ufeff" + V).replace("\n", "\r\n").encode(), 1),
    ("vocabulary without dance", b"Index,TrainVideoCount,Name\n0,5,Game\n", "error"),
]:
    variant("youtube8m", name, "youtube8m", expect)(lambda root, vocab=vocab: yt8m(root, [example()], vocab=vocab))
for name, records, expect in [
    ("record without id", [example(), example(None)], 2),
    ("record with hostile id", [example(), example(b"../../x"), example(b"\x00"), example(b"")], 4),
    ("mean_rgb of 7 floats", [example(), example(b"aa02", rgb=7)], 2),
    ("not a message", [example(), b"\xff\xfe garbage"], 2),
]:
    variant("youtube8m", name, "youtube8m", expect)(lambda root, r=records: yt8m(root, r))


# Labels that are no class of the source (a typo, another release's class) must be excluded as
# "unknown class", never as "not a dance class"; a class spelt with other case and spacing is
# a class (here: a dance clip missing from the offline mirror).
UNKNOWN = "unknown class"
for name, rows, want in [
    ("unknown class: typo 'salsa dancin'", ["salsa dancin,aaaaaaaaaaa,1,11,val"], UNKNOWN),
    ("unknown class: Kinetics-700 'shoot dance'", ["shoot dance,aaaaaaaaaaa,1,11,val"], UNKNOWN),
    ("unknown class: Kinetics-400 'dying hair'", ["dying hair,aaaaaaaaaaa,1,11,val"], UNKNOWN),
    ("known class: ' Salsa  DANCING '", [" Salsa  DANCING ,aaaaaaaaaaa,1,11,val"], "missing video"),
]:
    variant("kinetics csv", name, "kinetics600", 1, want=want)(lambda root, rows=rows: kinetics(root, rows))
variant("kinetics json", "unknown class: typo 'zumbaa'", "kinetics600", 1, want=UNKNOWN)(
    lambda root: kinetics(root, [], name="train.json",
                          raw=b'{"aaaaaaaaaaa": {"annotations": {"label": "zumbaa", "segment": [1, 3]}, "subset": "train"}}'))
for name, label in [("unknown class: typo 'Tangoo'", "Tangoo"), ("unknown class: v1.0 tree's 'Bowling'", "Bowling")]:
    variant("activitynet json", name, "activitynet", 1, want=UNKNOWN)(
        lambda root, label=label: anet(root, {"aaaaaaaaaaa": video([1, 2], label=label)}))
for name, line in [("unknown class: typo 'SalsaSpinn'", "SalsaSpinn/v_SalsaSpinn_g01_c01.avi 77\r\n"),
                   ("unknown class: UCF11's 'Walking'", "Walking/v_Walking_g01_c01.avi 1\r\n")]:
    variant("ucf101 lists", name, "ucf101", 1, want=UNKNOWN)(lambda root, line=line: ucf(root, line))
for name, folder in [("unknown class: folder 'salsa'", "salsa"), ("unknown class: typo 'balet'", "balet")]:
    variant("letsdance", name, "letsdance", 2, want=UNKNOWN)(
        lambda root, folder=folder: letsdance(root, [*GOOD_LD, *(f"rgb/{folder}/Q3n_9xYw8aE_001_{i:04d}.jpg" for i in (1, 2))]))
for name, labels in [("unknown class: index 9999", (9999,)), ("unknown class: index -1", (-1,)),
                     ("unknown class: 2017 index 4715 and a class", (0, 4715))]:
    variant("youtube8m", name, "youtube8m", 2, want=UNKNOWN)(lambda root, labels=labels: yt8m(root, [example(), example(b"aa02", labels)]))


def corrupt(root: Path, how: str) -> dict:
    from dance_aggregate.builders.youtube8m.tfrecord import frame_record

    data = bytearray(b"".join(frame_record(r) for r in [example(), example(b"aa02"), example(b"aa03")]))
    if how == "crc":
        data[20] ^= 0xFF
    elif how == "truncated":
        data = data[:-10]
    return yt8m(root, raw=bytes(data))


variant("youtube8m", "data CRC broken", "youtube8m", 3)(lambda root: corrupt(root, "crc"))
variant("youtube8m", "truncated shard", "youtube8m", 3)(lambda root: corrupt(root, "truncated"))
variant("youtube8m", "shard of random bytes", "youtube8m", 1)(lambda root: yt8m(root, raw=os.urandom(3000)))
variant("youtube8m", "shard with unknown split", "youtube8m", 1)(lambda root: yt8m(root, [example()], shard="other.tfrecord"))


for name, text, expect in [
    ("nested too deep", "[" * 100000, "error"),
    ("latin-1", "youtube_id\n\xe9aaaaaaaaaa\n".encode("latin-1"), "error"),
    ("not a YouTube id", "-5Yp-vToI2E\n../../x\n", "error"),
    ("CSV with BOM and CRLF", "\ufefflabel,youtube_id\r\nzumba,-5Yp-vToI2E\r\n", 1),
]:
    variant("pretraining ids", name, "ucf101", expect)(
        lambda root, text=text: {**ucf(root, f"{U}\r\n"), "pretraining_ids": {"k400": write(root / "ids.csv", text)}})


# -- the request: every field's type and range, checked before any work --------------------------------
# Each value is refused with a ConfigError naming the field (a TypeError or a traceback is a crash).
for name, bad in [
    ("shards=2.5", {"shards": 2.5}), ("shards=0", {"shards": 0}), ("shards nan", {"shards": float("nan")}),
    ("shards=10**9", {"shards": 10**9}), ("workers='2'", {"workers": "2"}), ("workers=10**6", {"workers": 10**6}),
    ("workers=True", {"workers": True}), ("part_size=10**9", {"part_size": 10**9}), ("part_size=1.5", {"part_size": 1.5}),
    ("data_dirs a list", {"data_dirs": ["ucf101=/x"]}), ("data_dirs value 5", {"data_dirs": {"ucf101": 5}}),
    ("data_dirs value ''", {"data_dirs": {"ucf101": ""}}), ("video_dirs text", {"video_dirs": "/videos"}),
    ("options {'ucf101': 'fold=2'}", {"options": {"ucf101": "fold=2"}}), ("options 'ucf101.fold=2'", {"options": "ucf101.fold=2"}),
    ("options {'ucf101.fold': '2'}", {"options": {"ucf101.fold": "2"}}), ("options value a list", {"options": {"ucf101": {"fold": [2]}}}),
    ("configs=5", {"configs": 5}), ("configs=[None]", {"configs": [None]}), ("configs b'ucf101'", {"configs": b"ucf101"}),
    ("configs 'ucf101,kinetics600'", {"configs": "ucf101,kinetics600"}), ("output=None", {"output": None}),
    ("output=''", {"output": ""}), ("output with NUL", {"output": "o\x00ut"}), ("sample='yes'", {"sample": "yes"}),
    ("progress='no'", {"progress": "no"}), ("cache_dir=5", {"cache_dir": 5}), ("work_dir=5", {"work_dir": 5}),
    ("runner='slurm'", {"runner": "slurm"}), ("runner=5", {"runner": 5}), ("ray_address=6379", {"ray_address": 6379}),
    ("max_short_side=2", {"max_short_side": 2}), ("max_short_side=-1", {"max_short_side": -1}),
    ("max_short_side='360'", {"max_short_side": "360"}), ("fetch='offline'", {"fetch": "offline"}),
    ("fetch max_attempts=0", {"fetch": {"offline": True, "max_attempts": 0}}),
    ("fetch socket_timeout nan", {"fetch": {"offline": True, "socket_timeout": float("nan")}}),
    ("failure_min_records=0", {"failure_min_records": 0}), ("max_failure_share nan", {"max_failure_share": float("nan")}),
    ("max_failure_share='0.5'", {"max_failure_share": "0.5"}), ("max_failure_share=0", {"max_failure_share": 0}),
    ("pretraining_ids a list", {"pretraining_ids": ["k400=ids.csv"]}), ("pretraining_to_train='true'", {"pretraining_to_train": "true"}),
    ("unknown field 'shard'", {"shard": 2}), ("unknown field 'data_dir'", {"data_dir": "/x"}),
]:
    variant("request", name, "ucf101", "error")(lambda root, bad=bad: {**ucf(root, f"{U}\r\n"), **bad})
for name, good in [("configs='ucf101' (one name)", {"configs": "ucf101"}),
                   ("options with a Python int", {"options": {"ucf101": {"fold": 1}}}),
                   ("fetch as a mapping", {"fetch": {"offline": True}})]:
    variant("request", name, "ucf101", 1)(lambda root, good=good: {**ucf(root, f"{U}\r\n"), **good})


# -- options (-o CONFIG.KEY=VALUE): each option's type and bounds, generated from its dataclass --------------
def bad_option_texts(kind: str, b: Any) -> list[str]:
    """``-o`` values a field of ``kind`` with bounds ``b`` must refuse."""
    out = {"bool": ["maybe"], "int": ["abc", "1.5", "9" * 5000], "float": ["nan", "inf", "-inf", "1e999"], "str": []}[kind]
    if kind in ("int", "float") and b is not None:
        if b.min is not None:
            below = b.min - 1 if kind == "int" else b.min / 2 - 1e-9
            if below in b.special:  # 0 = "every window": the next one down
                below -= 1
            out.append(str(int(below)) if kind == "int" else repr(below))
        if b.max is not None:
            out.append(str(int(b.max) * 1000 + 1))
    if b is not None and b.choices:
        out.append("bogus" if kind == "str" else str(max(b.choices) + 1))
    return out


def option_source(config: str, root: Path) -> dict:
    """A good raw tree of ``config`` (an option wrongly accepted then builds it: a silent pass)."""
    return {"ucf101": lambda: ucf(root, f"{U}\r\n"), "activitynet": lambda: anet(root, dict([GOOD_V])),
            "letsdance": lambda: letsdance(root, GOOD_LD), "youtube8m": lambda: yt8m(root, [example()]),
            }.get(config, lambda: kinetics(root, [G]))()


def _option_variants() -> None:
    import dataclasses

    from dance_aggregate.bounds import BOUNDS, scalar_kind
    from dance_aggregate.builders import registry

    for cfg in registry.configs():
        for f in dataclasses.fields(cfg.builder.Options):
            kind = scalar_kind(f.type)
            for text in bad_option_texts(kind[0], f.metadata.get(BOUNDS)) if kind else []:
                variant("options", f"-o {cfg.name}.{f.name}={text[:12]}", cfg.name, "error")(
                    lambda root, c=cfg.name, k=f.name, t=text: {**option_source(c, root), "options": {c: {k: t}}})


_option_variants()
variant("options", "-o letsdance.train_percent=95 (sum > 100)", "letsdance", "error")(
    lambda root: {**letsdance(root, GOOD_LD), "options": {"letsdance": {"train_percent": "95"}}})


# -- plans bounded before they are listed ----------------------------------------------------------------
ALL_WINDOWS = {"activitynet": {"max_window": "0.5", "max_windows_per_segment": "0"}}
variant("plan size", "7200 s segment, 0.5 s windows, all kept", "activitynet", 4 + 14400)(
    lambda root: {**anet(root, dict([GOOD_V, ("aaaaaaaaaaa", video([0, 7200], duration=7200))])), "options": ALL_WINDOWS})
variant("plan size", "segment of 1e15 s, no duration", "activitynet", 2)(
    lambda root: anet(root, dict([GOOD_V, ("aaaaaaaaaaa", video([0, 1e15], duration=None))])))
variant("plan size", "segment of 1e15 s, all windows", "activitynet", 4 + 1)(
    lambda root: {**anet(root, dict([GOOD_V, ("aaaaaaaaaaa", video([0, 1e15], duration=None))])), "options": ALL_WINDOWS})
variant("plan size", "frame number 99999999999", "letsdance", 2)(
    lambda root: letsdance(root, [*GOOD_LD, "rgb/tango/-2W1PfHleRM_033_99999999999.jpg"]))
variant("plan size", "split list of 10**12 frames", "letsdance", 1)(
    lambda root: {**letsdance(root, GOOD_LD), "options": {"letsdance": {"splits": str(
        write(root / "lists" / "train.csv", "ballet\t0DvqbnEtyNY_053\t1000000000000\n").parent)}}})


# -- faults ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def full_disk(where: str) -> Iterator[None]:
    """Writes to ``where`` fail as on a full disk (Parquet: partial file, then errno 28)."""
    real_write, real_fsync = pq.write_table, os.fsync

    def write_table(table: Any, target: Any, *a: Any, **k: Any) -> None:
        if isinstance(target, (str, Path)) and where in Path(target).parts:
            Path(target).write_bytes(b"PAR1")
            raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")
        real_write(table, target, *a, **k)

    def fsync(fd: int) -> None:
        if where == "fsync":
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    pq.write_table, os.fsync = write_table, fsync
    try:
        yield
    finally:
        pq.write_table, os.fsync = real_write, real_fsync


@contextlib.contextmanager
def broken_encoder(root: Path) -> Iterator[None]:
    import dance_aggregate.pipeline.execute as execute

    real = execute.cut_windows

    def cut(*a: Any, **k: Any) -> Any:
        raise RuntimeError("Unknown encoder 'libx264'")

    execute.cut_windows = cut  # what carries out every cut plan
    try:
        yield
    finally:
        execute.cut_windows = real


def ucf_many(root: Path, n: int = 40) -> dict:
    out = ucf(root, "".join(f"SalsaSpin/v_SalsaSpin_g{i:02d}_c01.avi\r\n" for i in range(1, n + 1)))
    for i in range(1, n + 1):
        write(root / "ucf" / "UCF-101" / "SalsaSpin" / f"v_SalsaSpin_g{i:02d}_c01.avi", b"")
    return out


def ucf_sample(root: Path) -> dict:
    from dance_aggregate.builders.ucf101.sample import make_sample as make_ucf101

    return {"data_dirs": {"ucf101": make_ucf101(root / "src").data_dir}, "max_short_side": 64}


for where in ("parts", "data", "fsync"):
    variant("faults", f"disk full writing {where}", "ucf101", "error", fault=lambda root, w=where: full_disk(w),
            prebuild=True)(ucf_sample)
variant("faults", "every clip fails (broken encoder)", "ucf101", "error", fault=broken_encoder)(ucf_many)


#: The UCF101 sample built once per campaign: its folder and its build arguments.
_BUILT: dict[str, tuple[Path, dict]] = {}


def built_copy(root: Path) -> dict:
    """Copy the built UCF101 sample to ``root/out``; its build arguments."""
    if "ucf101" not in _BUILT:
        base = Path(tempfile.mkdtemp(prefix="hostile-built-"))
        args = ucf_sample(base)
        da.build(configs=["ucf101"], output=base / "out", progress=False, fetch=FetchOptions(offline=True), **args)
        _BUILT["ucf101"] = (base / "out", args)
    folder, args = _BUILT["ucf101"]
    shutil.copytree(folder, root / "out", symlinks=True)
    return dict(args)


# -- user files: what a build may remove ------------------------------------------------------------
#: A user's files named like every temporary a build makes (or made in earlier versions), in
#: the places a build writes and elsewhere; none was made by a build, none may be removed.
LOOKALIKES = [
    "data/.ucf101.deadbeef.staging/train-00000-of-00001.parquet", "data/.ucf101.cafebabe.old/train-00000-of-00001.parquet",
    "data/.notes.0123abcd.tmp", "data/ucf101/notes.txt", "data/ucf101/.draft.0123abcd.tmp/x.txt",
    "reports/.ucf101.json.0123abcd.tmp", "reports/mine/.deep.0123abcd.tmp", ".hidden.0123abcd.tmp", ".ffmpeg.mine",
    ".work/parts/ucf101/.train-0011223344556677.parquet.89abcdef.tmp", ".work/fetch/kinetics600/.dl-x1y2z3/video.mp4.part",
    ".work/fetch/kinetics600/ledger/.k.json.00000000.tmp", ".work/fetch/bin/.ffmpeg.12345", ".work/mine/deep/.dl-keep/a.txt",
    ".work/notes.txt", "mystuff/nested/.a.0123abcd.tmp", "mystuff/.dl-zz/b.txt", "../.beside.0123abcd.tmp",
]
#: Where the writers of a build put their temporaries: (folder, prefix, suffix) of a marked
#: temporary folder, as a build killed while writing leaves it.
KILLED_WRITERS = [
    ("data", ".ucf101.", ".staging"), ("data", ".ucf101.", ".old"), ("reports", ".ucf101.json.", ".tmp"), ("", ".README.md.", ".tmp"),
    (".work/parts/ucf101", ".train-0011223344556677.parquet.", ".tmp"), (".work/fetch/kinetics600", ".dl-", ""),
    (".work/fetch/kinetics600/ledger", ".k.json.", ".tmp"), (".work/fetch/bin", ".ffmpeg.", ".tmp"),
]
USER_BYTES = b"a user's own file, not the build's"


def plant_lookalikes(root: Path) -> dict:
    """The user's look-alikes in an existing output folder (a built copy of the UCF101 sample)."""
    args = built_copy(root)
    for rel in LOOKALIKES:
        write(root / "out" / rel, USER_BYTES)
    return args


def lookalikes_kept(root: Path) -> Outcome | None:
    gone = [rel for rel in LOOKALIKES if not (root / "out" / rel).is_file() or (root / "out" / rel).read_bytes() != USER_BYTES]
    return Outcome("DELETED", f"{len(gone)} of the user's files removed: {', '.join(gone[:4])}") if gone else None


_KILLED: list[Path] = []


def killed_leftovers(root: Path) -> dict:
    """What a killed build leaves (marked temporaries holding half-written files) and, in
    the same places, a user's unmarked look-alikes."""
    try:
        from dance_aggregate.files.atomic import make_temp_dir
    except ImportError:  # a version from before the marker: its temporaries were bare names
        def make_temp_dir(parent: Path, prefix: str, suffix: str = "") -> Path:
            path = parent / f"{prefix}{uuid.uuid4().hex[:8]}{suffix}"
            path.mkdir(parents=True)
            return path

    _KILLED.clear()
    for where, prefix, suffix in KILLED_WRITERS:
        _KILLED.append(make_temp_dir(root / "out" / where, prefix, suffix))
        write(_KILLED[-1] / "half-written", b"half")
        write(root / "out" / where / f"{prefix}0123abcd{suffix}" / "x", USER_BYTES)
    return ucf(root, f"{U}\r\n")


def leftovers_removed(root: Path) -> Outcome | None:
    out = root / "out"
    gone = [w or "." for w, prefix, suffix in KILLED_WRITERS if not (out / w / f"{prefix}0123abcd{suffix}" / "x").is_file()]
    if gone:
        return Outcome("DELETED", f"the user's look-alikes removed in {', '.join(gone[:4])}")
    kept = [str(p.relative_to(out)) for p in _KILLED if p.exists()]
    return Outcome("LEFTOVER", f"{len(kept)} temporaries of the killed build kept: {', '.join(kept[:3])}") if kept else None


def user_media(root: Path) -> dict:
    """A user's ``dance_aggregate-*.mp4`` (a clip being encoded used to be named so) in the
    system temporary folder, seven hours old."""
    path = write(Path(tempfile.gettempdir()) / f"dance_aggregate-{MARKER}.mp4", USER_BYTES)
    os.utime(path, (path.stat().st_mtime - 7 * 3600,) * 2)
    return ucf(root, f"{U}\r\n")


def user_media_kept(root: Path) -> Outcome | None:
    path = Path(tempfile.gettempdir()) / f"dance_aggregate-{MARKER}.mp4"
    if not path.is_file():
        return Outcome("DELETED", f"{path} removed")
    path.unlink()
    return None


variant("user files", "leftovers of a killed build", "ucf101", 1, check=leftovers_removed)(killed_leftovers)
variant("user files", "look-alikes of every temporary", "ucf101", 10, check=lookalikes_kept)(plant_lookalikes)
variant("user files", "a user's clip in the system temp", "ucf101", 1, check=user_media_kept)(user_media)


# -- cli: a NAME=VALUE option given twice ---------------------------------------------------------------
def twice(flag: str, first: str, second: str, config: str) -> Callable[[Path], dict]:
    """``dance-aggregate build CONFIG ... FLAG FIRST FLAG SECOND`` (``{root}`` filled in)."""
    def make(root: Path) -> dict:
        for d in ("a", "b"):
            ucf(root / d, f"{U}\r\n")
            write(root / d / "ucf" / "ucfTrainTestlist" / "trainlist02.txt", f"{U}\r\n")  # for -o ucf101.fold=2
            write(root / d / "ucf" / "ucfTrainTestlist" / "testlist02.txt", b"")
        write(root / "a.txt", "-5Yp-vToI2E\n")
        write(root / "b.txt", "kRb0xS2sTzA\n")
        kinetics(root, [G])
        data = {"ucf101": root / "a" / "ucf", "kinetics600": root / "k600"}[config]
        argv = ["build", config] + ([] if flag == "--data-dir" else ["--data-dir", f"{config}={data}"])
        return {"argv": [*argv, flag, first.format(root=root), flag, second.format(root=root), "--offline"]}

    return make


for flag, first, second, config in [
    ("--data-dir", "ucf101={root}/a/ucf", "ucf101={root}/b/ucf", "ucf101"),
    ("--data-dir", "ucf101={root}/a/ucf", "ucf101={root}/a/ucf", "ucf101"),
    ("--video-dir", "kinetics600={root}/a", "kinetics600={root}/b", "kinetics600"),
    ("--pretraining-ids", "k400={root}/a.txt", "k400={root}/b.txt", "ucf101"),
    ("--option", "ucf101.fold=1", "ucf101.fold=2", "ucf101"),
]:
    variant("cli", f"{flag} {first.partition('=')[0]} twice" + (" (same value)" if first == second else ""), config, "error",
            runner="cli")(twice(flag, first, second, config))


# -- publish: symbolic links in the folder ----------------------------------------------------------------
SECRET = f"{MARKER}: a file outside the dataset folder".encode()


def linked(rel: str, target: str) -> Callable[[Path], dict]:
    def make(root: Path) -> dict:
        built_copy(root)
        folder = root / "out"
        secret = write(root / "secret.txt", SECRET)
        write(root / "outside" / "leak.json", SECRET)
        where = {"file": secret, "folder": root / "outside", "inside": folder / "README.md"}[target]
        link = folder / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_dir():
            shutil.rmtree(link)
        link.unlink(missing_ok=True)
        link.symlink_to(where)
        return {"folder": folder, "link": rel}

    return make


for rel, target in [("reports/notes.txt", "file"), ("reports/more", "folder"), ("data/ucf101/extra-00000-of-00001.parquet", "file"),
                    ("images/chart.png", "file"), ("LICENSE.md", "inside"), ("data", "folder")]:
    variant("publish", f"{rel} a link to a {target}" if target != "inside" else f"{rel} a link inside", "ucf101", "error",
            runner="publish")(linked(rel, target))


# -- media: the files of a local mirror ------------------------------------------------------------
# A Kinetics mirror with one good video and one hostile file; each row must become a row whose
# times match its media, or an exclusion with a reason (the media check below).
def media_source(path: Path, *, w: int = 160, h: int = 120, seconds: float = 4.0, fps: int = 25, pix_fmt: str = "yuv420p",
                 audio: bool = True, video: bool = True, origin: float = 0.0, hole_after: int | None = None,
                 faststart: bool = False, silent: bool = False) -> Path:
    """A small H.264 + AAC MP4 with the given oddity (size, pixel format, a late start, a
    1.56 s hole after frame ``hole_after``, its index first, an audio track of digital
    silence, as YouTube leaves a video whose music it muted)."""
    from dance_aggregate.media.synth import write_video

    n = int(round(seconds * fps))
    times = None if hole_after is None else [(i if i <= hole_after else i + 39) / fps for i in range(n)]
    zeros = np.zeros((2, int(round(seconds * 44100))), np.float32) if silent else None
    return write_video(path, 3, seconds=seconds, fps=fps, width=w, height=h, pix_fmt=pix_fmt, container_format="mp4",
                       video_codec="libx264" if video else None, audio_codec="aac" if audio else None,
                       frame_times=times, start=origin, faststart=faststart, audio_samples=zeros)


def mirror(root: Path, bad: Callable[[Path], Any], start: float = 1, end: float = 3) -> dict:
    videos = root / "mirror"
    media_source(videos / "goodvideo01.mp4")
    bad(videos / "badvideo001.mp4")
    out = kinetics(root, ["salsa dancing,goodvideo01,1,3,val", f"salsa dancing,badvideo001,{start:g},{end:g},val"])
    out["video_dirs"] = {"kinetics600": videos}
    return out


def truncated(path: Path, share: float, faststart: bool = False) -> None:
    media_source(path, seconds=4.0, faststart=faststart)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])


def moov_last(path: Path) -> None:
    """An MP4 whose index (moov) comes after the data, cut before it: nothing can be read."""
    media_source(path)
    data = path.read_bytes()
    i = data.find(b"moov")
    path.write_bytes(data[: i - 4] if i > len(data) // 2 else data[: len(data) // 2])


ROW = "row"
SILENT_ROW = "row without audio"  # a row (no exclusion), counted as silent audio in the report
MEDIA_VARIANTS: list[tuple[str, Callable[[Path], Any], float, float, str]] = [
    ("zero-byte file", lambda p: write(p, b""), 1, 3, "unreadable media"),
    ("random bytes", lambda p: write(p, np.random.default_rng(1).bytes(50_000)), 1, 3, "unreadable media"),
    ("truncated at 60 %", lambda p: truncated(p, 0.6), 1, 3, "unreadable media"),
    ("truncated at 5 %", lambda p: truncated(p, 0.05), 1, 3, "unreadable media"),
    ("index first, truncated at 60 %", lambda p: truncated(p, 0.6, faststart=True), 1, 3, "corrupt media"),
    ("index first, truncated at 30 %", lambda p: truncated(p, 0.3, faststart=True), 0, 1, ROW),
    ("index cut off", moov_last, 1, 3, "unreadable media"),
    ("audio only", lambda p: media_source(p, video=False), 1, 3, "no video stream"),
    ("video only", lambda p: media_source(p, audio=False), 1, 3, ROW),
    ("audio track of digital silence", lambda p: media_source(p, silent=True), 1, 3, SILENT_ROW),
    ("odd size 161x121 (4:4:4)", lambda p: media_source(p, w=161, h=121, pix_fmt="yuv444p"), 1, 3, ROW),
    ("tiny 2x2", lambda p: media_source(p, w=2, h=2), 1, 3, ROW),
    ("tall 64x720", lambda p: media_source(p, w=64, h=720), 1, 3, ROW),
    ("4:4:4 chroma", lambda p: media_source(p, pix_fmt="yuv444p"), 1, 3, ROW),
    ("timestamps begin at 7 s", lambda p: media_source(p, origin=7.0), 1, 3, ROW),
    ("a 1.56 s hole in the frames", lambda p: media_source(p, hole_after=30), 1, 3, ROW),
    ("1 fps", lambda p: media_source(p, fps=1, seconds=4), 1, 3, ROW),
    ("120 fps", lambda p: media_source(p, fps=120, seconds=4), 1, 3, ROW),
    ("one frame", lambda p: media_source(p, seconds=0.04), 0, 3, "media shorter than range"),
    ("range past the end", lambda p: media_source(p, seconds=4.0), 5, 9, "media shorter than range"),
    ("range over the end", lambda p: media_source(p, seconds=4.0), 3, 13, "media shorter than range"),
    ("a JPEG named .mp4", lambda p: _jpeg(p), 0, 3, "media shorter than range"),
]


def _jpeg(path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (200, 30, 30)).save(path, "JPEG")


for name, bad, start, end, want in MEDIA_VARIANTS:
    variant("media", name, "kinetics600", 2, want=want)(lambda root, bad=bad, start=start, end=end: mirror(root, bad, start, end))


# -- aist: a local copy of the AIST Dance Video Database ---------------------------------------------
AIST_GOOD = "gBR_sBM_c01_d04_mBR1_ch05.mp4"  # a train sequence of the real AIST++ lists


def aist(root: Path, names: list[str] = (), *, listed: str | None = None, lists: dict[str, str] | None = None,
         damaged: dict[str, Callable[[bytes], bytes]] | None = None) -> dict:
    """A copy holding the good video plus ``names`` (each a small real MP4, or ``damaged``'s
    mangling of one), an optional ``video_list.txt`` text and AIST++ list files."""
    base = root / "aist"
    good = media_source(base / "videos" / AIST_GOOD, seconds=1.5)
    data = good.read_bytes()
    for name in names:
        write(base / "videos" / name, (damaged or {}).get(name, lambda b: b)(data))
    if listed is not None:
        write(base / "video_list.txt", listed)
    for rel, text in (lists or {}).items():
        write(base / rel, text)
    return {"data_dirs": {"aist": base}}


for name, names, expect in [
    ("malformed names", ["gBR_sBM_c01_d04.mp4", "gXX_sBM_c01_d04_mBR0_ch01.mp4", "notes.mp4",
                         "gBR_sBM_c01_d04_mBR1_ch05.mp4.exe.mp4", "gBR_sBM_c10_d04_mBR1_ch05.mp4"], 6),
    ("the same video in two folders", ["copy/" + AIST_GOOD], 2),
    ("hostile file names", [f"{h}.mp4" for h in ("..", ".hidden", "x" * 240, "ダンス")], 5),
]:
    variant("aist", name, "aist", expect)(lambda root, names=names: aist(root, names))
variant("aist", "truncated video", "aist", 2)(
    lambda root: aist(root, ["gPO_sBM_c01_d10_mPO0_ch09.mp4"], damaged={"gPO_sBM_c01_d10_mPO0_ch09.mp4": lambda b: b[: len(b) // 3]}))
variant("aist", "random bytes as a video", "aist", 2)(
    lambda root: aist(root, ["gPO_sBM_c01_d10_mPO0_ch09.mp4"], damaged={"gPO_sBM_c01_d10_mPO0_ch09.mp4": lambda b: os.urandom(4000)}))
variant("aist", "ids that try to escape (video list)", "aist", 1 + sum(1 for h in HOSTILE if h.strip()))(
    lambda root: aist(root, listed="\n".join([AIST_GOOD.removesuffix(".mp4"), *HOSTILE])))
variant("aist", "a missing split file (train without test)", "aist", "error")(
    lambda root: aist(root, lists={"splits/crossmodal_train.txt": "gBR_sBM_cAll_d04_mBR1_ch05"}))
variant("aist", "split and ignore lists with traps", "aist", 2)(
    lambda root: aist(root, ["gBR_sBM_c02_d04_mBR1_ch05.mp4"], lists={
        "splits/crossmodal_train.txt": "\ufeffgBR_sBM_cAll_d04_mBR1_ch05\r\nnot a sequence\r\n",
        "splits/crossmodal_test.txt": "gBR_sBM_cAll_d04_mBR0_ch02",
        "ignore_list.txt": "gKR_sBM_cAll_d30_mKR5_ch02 \n\n../../etc/passwd\n"}))

# -- Kinetics-700-2020: its own file names, classes and repeated ids -------------------------------
# Each variant's list starts with a good row whose video is mirrored (a whole 4 s video), so the
# variant's other line must end as its one exclusion with the expected reason, or as a row.
G7 = "shoot dance,goodvideo01,1,3,validate"


def kinetics700(root: Path, rows: list[str], name: str = "validate.csv") -> dict:
    media_source(root / "k700videos" / "goodvideo01.mp4")
    write(root / "k700" / name, "\n".join([K_HEADER, G7, *rows]) + "\n")
    return {"data_dirs": {"kinetics700": root / "k700"}, "video_dirs": {"kinetics700": root / "k700videos"}}


for name, rows, want in [
    ("a Kinetics-600-only class", ["bull fighting,aaaaaaaaaaa,1,11,validate"], "unknown class"),
    ("a Kinetics-400-only class", ["swinging legs,aaaaaaaaaaa,1,11,validate"], "unknown class"),
    ("ski ballet (skiing)", ["ski ballet,aaaaaaaaaaa,1,11,validate"], "not a dance class"),
    ("a Kinetics-600 motion class", ["cartwheeling,aaaaaaaaaaa,1,11,validate"], "not a dance class"),
    ("re-cased class 'Silent Disco'", ["Silent Disco,goodvideo01,0,1,validate"], ROW),
    ("one id, a second segment", ["zumba,goodvideo01,3,4,validate"], ROW),
    ("one id, the same segment twice", [G7], "duplicate row"),
    ("the same segment, another label", ["zumba,goodvideo01,1,3,validate"], "duplicate row"),
    ("time_end before time_start", ["zumba,aaaaaaaaaaa,11,1,validate"], None),
    ("time_end empty", ["zumba,aaaaaaaaaaa,1,,validate"], None),
    ("times with units ('1s')", ["zumba,aaaaaaaaaaa,1s,11s,validate"], None),
    ("fractional times, not mirrored", ["zumba,aaaaaaaaaaa,1.5,11.5,validate"], "missing video"),
    ("huge time_start", ["zumba,aaaaaaaaaaa,1e300,1e301,validate"], None),
]:
    variant("kinetics700 csv", name, "kinetics700", 2, want=want)(lambda root, rows=rows: kinetics700(root, rows))

for name, rel in [("CVDF's annotations/val.csv", "annotations/val.csv"),
                  ("DeepMind's kinetics700_2020/validate.csv", "kinetics700_2020/validate.csv")]:
    variant("kinetics700 csv", name, "kinetics700", 1, want=ROW)(lambda root, rel=rel: kinetics700(root, [], name=rel))
variant("kinetics700 csv", "only a Kinetics-600 file name", "kinetics700", "error")(
    lambda root: kinetics700(root, [], name="kinetics-600_val.csv"))


# -- online: the stand-in server ---------------------------------------------------------------
def online_hostile(root: Path) -> dict:
    return kinetics(root, [f"salsa dancing,{v},1,3,val" for v in ["ok2xxxxxxxx", *HOSTILE]])


variant("online", "hostile ids against the server", "kinetics600", 1 + len(HOSTILE), online=True)(online_hostile)
variant("online", "traversal ids against the server", "kinetics600", 3, online=True)(
    lambda root: kinetics(root, [f"salsa dancing,{v},1,3,val" for v in ["ok2xxxxxxxx", "../" * 12 + f"tmp/{MARKER}", "../.."]]))


# -- frames that would be held whole: each is one unreadable frame, filled like a missing one ------------
def zeros_member(name: str, size: int) -> Callable[[zipfile.ZipFile], None]:
    """A member of ``size`` zero bytes, deflated (a zip bomb: ``size`` / 1000 stored)."""
    def add(zf: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w") as w:
            for start in range(0, size, 2**20):
                w.write(bytes(min(2**20, size - start)))
    return add


def jpeg_declaring(name: str, w: int, h: int) -> Callable[[zipfile.ZipFile], None]:
    """A small JPEG whose header declares ``w`` x ``h`` pixels."""
    def add(zf: zipfile.ZipFile) -> None:
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (16, 16)).save(buf, "JPEG")
        data = bytearray(buf.getvalue())
        sof = data.find(b"\xff\xc0")
        data[sof + 5:sof + 9] = h.to_bytes(2, "big") + w.to_bytes(2, "big")
        zf.writestr(name, bytes(data))
    return add


def bzip2_member(name: str) -> Callable[[zipfile.ZipFile], None]:
    return lambda zf: zf.writestr(zipfile.ZipInfo(name), b"\xff\xd8" + bytes(10_000), compress_type=zipfile.ZIP_BZIP2)


LONG_LD = [f"rgb/ballet/0DvqbnEtyNY_053_{i:04d}.jpg" for i in range(1, 21) if i != 10]  # frame 10 comes from `extra`
FRAME_10 = "rgb/ballet/0DvqbnEtyNY_053_0010.jpg"
for name, extra in [
    ("a frame inflating to 1 GiB", zeros_member(FRAME_10, 2**30)),
    ("a frame inflating 1000 times", zeros_member(FRAME_10, 4 * 2**20)),
    ("a bzip2 frame", bzip2_member(FRAME_10)),
    ("a frame declaring 9000x5000 pixels", jpeg_declaring(FRAME_10, 9000, 5000)),
    ("a frame declaring 60000x60000 pixels", jpeg_declaring(FRAME_10, 60000, 60000)),
]:
    variant("frames", name, "letsdance", 1, want=ROW)(lambda root, extra=extra: letsdance(root, LONG_LD, extra=extra))
variant("frames", "a clip of one 1 GiB frame", "letsdance", 2)(
    lambda root: letsdance(root, GOOD_LD, extra=zeros_member("rgb/tango/-2W1PfHleRM_033_0001.jpg", 2**30)))


# -- paths: a relative request whose units run from another folder (a Ray node started elsewhere) --------
def relative_elsewhere(root: Path) -> dict:
    from tests.helpers_runners import ElsewhereRunner

    args = mirror(root, media_source)
    (root / "elsewhere").mkdir()
    return {**args, "runner": ElsewhereRunner(root / "elsewhere"), "output": os.path.relpath(root / "out"),
            "data_dirs": {"kinetics600": os.path.relpath(args["data_dirs"]["kinetics600"])},
            "video_dirs": {"kinetics600": os.path.relpath(args["video_dirs"]["kinetics600"])}}


variant("paths", "relative paths, units run elsewhere", "kinetics600", 2, want=ROW)(relative_elsewhere)


# -- empty builds and missing folders: a config of no row fails, a missing folder is named -----------------
NO_ROW = "no row"  # every record excluded: the config must fail (non-zero exit) with its accounting


def two_clips(root: Path, labels: tuple[str, str] = ("salsa dancing", "zumba")) -> dict:
    return kinetics(root, [f"{labels[0]},goodvideo01,1,3,val", f"{labels[1]},goodvideo02,0,2,train"])


def video_dir_at(kind: str) -> Callable[[Path], dict]:
    def make(root: Path) -> dict:
        args = two_clips(root)
        where = root / "no-such-folder"
        if kind == "file":
            where = write(root / "videos.txt", "not a folder")
        args["video_dirs"] = {"kinetics600": where}
        return args

    return make


variant("empty", "offline, no --video-dir", "kinetics600", 2, want=NO_ROW)(two_clips)
variant("empty", "every label unknown", "kinetics600", 2, want=NO_ROW)(
    lambda root: two_clips(root, ("salsa dancin", "zumbaa")))
variant("empty", "every line malformed", "ucf101", 2, want=NO_ROW)(lambda root: ucf(root, "SalsaSpin\r\n../x.avi 77\r\n"))
variant("empty", "--video-dir that does not exist", "kinetics600", "error")(video_dir_at("missing"))
variant("empty", "--video-dir that is a file", "kinetics600", "error")(video_dir_at("file"))
variant("empty", "--data-dir that does not exist", "kinetics600", "error")(
    lambda root: {"data_dirs": {"kinetics600": root / "no-such-folder"}})


# -- linked folders: read where a user expects it, a loop read once ------------------------------------------
def linked_mirror(root: Path) -> dict:
    """A mirror whose clip sits in a linked sub-folder, plus a link back up the tree."""
    real = root / "elsewhere" / "clips"
    media_source(real / "goodvideo01.mp4")
    videos = root / "mirror"
    videos.mkdir(parents=True)
    (videos / "linked").symlink_to(real, target_is_directory=True)
    (videos / "loop").symlink_to(videos, target_is_directory=True)
    args = kinetics(root, ["salsa dancing,goodvideo01,1,3,val"])
    args["video_dirs"] = {"kinetics600": videos}
    return args


def linked_shards(root: Path) -> dict:
    """YouTube-8M shards under a linked folder of the data dir (and a loop)."""
    args = yt8m(root, [example()])
    base = args["data_dirs"]["youtube8m"]
    shards = write(root / "elsewhere" / "shards" / "train0000.tfrecord", (base / "train0000.tfrecord").read_bytes())
    (base / "train0000.tfrecord").unlink()
    (base / "frame").symlink_to(shards.parent, target_is_directory=True)
    (base / "frame" / "again").symlink_to(base, target_is_directory=True)
    return args


def linked_aist(root: Path) -> dict:
    """An AIST copy whose videos are a linked folder."""
    args = aist(root)
    base = args["data_dirs"]["aist"]
    (base / "videos").rename(root / "elsewhere-videos")
    (base / "videos").symlink_to(root / "elsewhere-videos", target_is_directory=True)
    return args


variant("links", "a mirror's clip in a linked folder, a loop", "kinetics600", 1, want=ROW)(linked_mirror)
variant("links", "YouTube-8M shards in a linked folder", "youtube8m", 1, want=ROW)(linked_shards)
variant("links", "AIST videos in a linked folder", "aist", 1, want=ROW)(linked_aist)


# -- the built-in sample is not data: publish refuses it ----------------------------------------------------
def sample_folder(root: Path) -> dict:
    """A copy of the built-in sample's UCF101 config, built with ``--sample``."""
    if "sample" not in _BUILT:
        base = Path(tempfile.mkdtemp(prefix="hostile-built-"))
        da.build(configs=["ucf101"], sample=True, output=base / "out", progress=False, cache_dir=base / "cache",
                 max_short_side=64)
        _BUILT["sample"] = (base / "out", {})
    shutil.copytree(_BUILT["sample"][0], root / "out", symlinks=True)
    return {"folder": root / "out", "refused": "sample"}


variant("publish", "the built-in sample", "ucf101", "error", runner="publish")(sample_folder)


# -- running -----------------------------------------------------------------------------------------
class Hang(BaseException):
    """Raised by the alarm in a variant that does not finish (a BaseException, so that no
    ``except Exception`` of the library swallows it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.tracebacks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING and (record.exc_info or "Traceback (most recent call last)" in record.getMessage()):
            self.tracebacks.append(record.getMessage().splitlines()[0][:200])


def snapshot(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def folder_state(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file() and ".work" not in p.parts}


def formula_cells(out: Path) -> list[str]:
    bad = []
    for path in (out / "reports").glob("*.csv") if (out / "reports").is_dir() else []:
        with path.open(newline="", encoding="utf-8") as f:
            bad += [c for row in csv.reader(f) for c in row if c[:1] in ("=", "+", "@") or c[:1] == "-" and not c[1:2].isdigit()]
    return bad


def times_not_matching_media(out: Path, config: str) -> list[str]:
    """Rows whose stored video does not hold what their times say (``end - start`` equals
    the decoded frames' span, the clip plays from 0)."""
    import av

    wrong = []
    for shard in sorted((out / "data" / config).glob("*.parquet")):
        for row in pq.read_table(shard, columns=["id", "start_time", "end_time", "duration", "num_frames", "fps", "video"]).to_pylist():
            with av.open(io.BytesIO(row["video"]["bytes"])) as c:
                n = sum(1 for _ in c.decode(video=0))
            span = row["end_time"] - row["start_time"]
            if n != row["num_frames"] or abs(span - row["duration"]) > 1e-3 or abs(n / row["fps"] - row["duration"]) > 1.5 / row["fps"]:
                wrong.append(f"{row['id']}: [{row['start_time']}, {row['end_time']}) duration {row['duration']}, "
                             f"{row['num_frames']} frames stated, {n} decoded at {row['fps']} fps")
    return wrong


def audio_not_matching_media(out: Path, config: str) -> list[str]:
    """Rows whose ``has_audio`` does not say what their media hold: true needs a FLAC with a
    sample other than 0 and an audio track in the MP4; false, neither."""
    import av
    import soundfile

    wrong = []
    for shard in sorted((out / "data" / config).glob("*.parquet")):
        for row in pq.read_table(shard, columns=["id", "has_audio", "audio", "video"]).to_pylist():
            with av.open(io.BytesIO(row["video"]["bytes"])) as c:
                track = bool(c.streams.audio)
            sound = row["audio"] is not None and bool(
                np.any(soundfile.read(io.BytesIO(row["audio"]["bytes"]), dtype="int16")[0]))
            if (track, sound) != (row["has_audio"], row["has_audio"]):
                wrong.append(f"{row['id']}: has_audio {row['has_audio']}, audio track in the MP4 {track}, "
                             f"sound in the FLAC {sound}")
    return wrong


def run(v: Variant, tube: Any, hub: Any, timeout: int) -> Outcome:
    root = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        if v.runner == "cli":
            return _run_cli(v, root)
        if v.runner == "publish":
            return _run_publish(v, hub, root)
        return _run(v, tube, timeout, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run_cli(v: Variant, root: Path) -> Outcome:
    """The command line with ``make(root)["argv"]`` (and ``--output``): a refused input must
    exit non-zero with the package's own message."""
    from click.testing import CliRunner

    from dance_aggregate.cli import cli

    res = CliRunner().invoke(cli, [*v.make(root)["argv"], "--output", str(root / "out"), "-q"])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        return Outcome("TRACEBACK", f"{type(res.exception).__name__}: {str(res.exception)[:150]}")
    if res.exit_code == 0:
        return Outcome("SILENT LOSS", "accepted with exit 0" if v.expect == "error" else "")
    message = " ".join(line.strip() for line in res.output.splitlines() if line.strip())
    error = message[message.find("Error"):] if "Error" in message else message
    return Outcome("clear error" if v.expect == "error" else "STOPPED", error[:160])


def _run_publish(v: Variant, hub: Any, root: Path) -> Outcome:
    """A dry run, then a publish, of ``make(root)["folder"]`` to the Hub stand-in: a link in
    the folder must be refused, named, and nothing it points to may reach the Hub."""
    from dance_aggregate.hub.publish import PublishOptions, plan_publish, publish

    args = v.make(root)
    opts = {"repo_id": f"tester/{uuid.uuid4().hex[:8]}", "folder": args["folder"], "endpoint": hub.url,
            "token": "hf_hostile_campaign", "progress": False}
    error = None
    try:
        plan_publish(PublishOptions(**opts, dry_run=True))
        publish(PublishOptions(**opts))
    except DanceAggregateError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - a crash is what the campaign looks for
        return Outcome("TRACEBACK", f"{type(exc).__name__}: {str(exc)[:150]}")
    with hub.state.lock:
        repos = [r for r in hub.state.repos.values() if r.repo_id == opts["repo_id"]]
        sent = [d for r in repos for d in r.lfs.values()] + [f.data for r in repos for sha in r.order for f in r.commits[sha].values()]
    if any(SECRET in d for d in sent):
        return Outcome("LEAK", f"{args['link']}: the link was followed and a file from outside the folder uploaded")
    if error is None:
        return Outcome("SILENT LOSS", "published with exit 0")
    if "link" not in args:  # refused for another reason, which the message must name
        named = args["refused"] in error
        line = next((ln for ln in error.splitlines() if args["refused"] in ln), error.splitlines()[0])
        return Outcome("clear error" if named else "SILENT LOSS", line.strip()[:160])
    named = f"{args['link']} -> " in error
    return Outcome("clear error" if named else "SILENT LOSS", error.splitlines()[1 if named else 0].strip()[:160])


def _run(v: Variant, tube: Any, timeout: int, root: Path) -> Outcome:
    out = root / "out"
    args = v.make(root)
    mss = args.pop("max_short_side", None)
    fetch = FetchOptions(url_template=tube.url_template, max_attempts=1) if v.online else FetchOptions(offline=True)
    kwargs = {"configs": [v.config], "output": out, "progress": False, "fetch": fetch, **args}
    before_state = None
    if v.prebuild:
        da.build(**kwargs)
        before_state = folder_state(out)
    capture = Capture()
    logging.getLogger("dance_aggregate").addHandler(capture)
    before = snapshot(root)
    result, error = None, None
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        with v.fault(root) if v.fault else contextlib.nullcontext():
            result = da.build(**kwargs, **({"max_short_side": mss} if mss else {}))
    except DanceAggregateError as exc:
        error = str(exc)
    except Hang:
        return Outcome("HANG", f"not finished after {timeout} s")
    except Exception as exc:  # noqa: BLE001 - a crash is what the campaign looks for
        return Outcome("TRACEBACK", f"{type(exc).__name__}: {str(exc)[:150]}")
    finally:
        signal.alarm(0)
        logging.getLogger("dance_aggregate").removeHandler(capture)
    outside = [p for p in snapshot(root) - before if out not in p.parents and p != out]
    outside += list(Path(tempfile.gettempdir()).glob(f"{MARKER}*")) + list(Path("/tmp").glob(f"{MARKER}*"))
    if outside:
        for p in outside:  # remove what the variant put outside, so the next one starts clean
            if p.is_file() and MARKER in p.name:
                p.unlink()
        return Outcome("ESCAPE", str(outside[0]))
    if capture.tracebacks:
        return Outcome("TRACEBACK", capture.tracebacks[0])
    checked = v.check(root) if v.check else None
    if checked is not None:
        return checked
    empty = None
    if result is not None and result.failures:
        error = result.failures[0].error
        if error.startswith("unexpected error"):
            return Outcome("TRACEBACK", error[:200])
        # A config that read records but wrote no row fails, with its accounting: that is
        # what must happen (never a dataset of 0 rows with exit 0), so check the accounting.
        empty = result.failures[0].accounting
        if empty is not None:
            error = None
    if before_state is not None and folder_state(out) != before_state:
        return Outcome("SILENT LOSS", "the previous good folder changed")
    if error is not None:  # refused: right for a broken file, wrong when one bad record stopped the config
        return Outcome("clear error" if v.expect == "error" else "STOPPED", error.splitlines()[0][:160])
    if v.expect == "error":
        return Outcome("SILENT LOSS", "accepted with exit 0")
    acc = empty if empty is not None else result.accounting()[v.config]
    if acc.records_read != v.expect or not acc.adds_up:
        return Outcome("SILENT LOSS", f"{acc.records_read} records read, {v.expect} in the input; {acc.excluded}")
    if v.want == NO_ROW:
        if empty is None:
            return Outcome("SILENT LOSS", f"a config of {acc.rows_written} rows built with exit 0: {acc.excluded}")
        return Outcome("handled", "failed, with its accounting: " + ", ".join(f"{k} {n}" for k, n in sorted(acc.excluded.items())))
    got = acc.excluded or {}
    rows_only = v.want in (ROW, SILENT_ROW)
    if v.want is not None and got != ({} if rows_only else {v.want: 1}):
        return Outcome("SILENT LOSS", f"expected {'every record as a row' if rows_only else repr(v.want)}, got {got or 'all rows'}")
    if v.want == SILENT_ROW and acc.silent_audio != 1:
        return Outcome("SILENT LOSS", f"a silent audio track is not counted as such (silent_audio {acc.silent_audio})")
    wrong = times_not_matching_media(out, v.config) if v.group == "media" else []
    if wrong:
        return Outcome("SILENT LOSS", f"a row's times do not match its media: {wrong[0]}")
    wrong = audio_not_matching_media(out, v.config) if v.group == "media" else []
    if wrong:
        return Outcome("SILENT LOSS", f"a row's has_audio does not match its media: {wrong[0]}")
    bad = formula_cells(out)
    if bad:
        return Outcome("SILENT LOSS", f"report cell runs as a formula: {bad[0][:40]!r}")
    return Outcome("handled", ", ".join(f"{k} {n}" for k, n in sorted(acc.excluded.items())) or "all rows")


def _hub() -> Any:
    """The Hub stand-in of the tests, with the real client pointed at it (no Xet storage)."""
    import huggingface_hub.constants as hf_constants

    from tests.hubserver import HubServer

    hub = HubServer()
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    hf_constants.HF_HUB_DISABLE_XET = True
    return hub


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the variants whose group or name contains this")
    ap.add_argument("--verbose", action="store_true", help="show the library's log")
    ap.add_argument("--timeout", type=int, default=120, help="seconds a variant may take")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL + 1)
    from tests.helpers_fetch import FakeTube, make_source

    tube = FakeTube().start()
    tube.server.handle_error = lambda *a: None  # yt-dlp closing a connection early is not news
    hub = _hub()
    with tempfile.TemporaryDirectory() as t, hub:
        tube.add_file("ok2xxxxxxxx", make_source(Path(t) / "v.mp4", 3, 4.0))
        counts: Counter[str] = Counter()
        by_group: dict[str, Counter[str]] = {}
        chosen = [v for v in VARIANTS if args.only in f"{v.group} {v.name}"]
        for v in chosen:
            outcome = run(v, tube, hub, args.timeout)
            counts[outcome.kind] += 1
            by_group.setdefault(v.group, Counter())[outcome.kind] += 1
            print(f"{v.group:<17} {v.name[:38]:<38} {outcome.kind:<12} {outcome.detail[:110]}", flush=True)
    tube.stop()
    for built, _ in _BUILT.values():
        shutil.rmtree(built.parent, ignore_errors=True)
    kinds = ["handled", "clear error", "TRACEBACK", "SILENT LOSS", "STOPPED", "ESCAPE", "HANG", "DELETED", "LEFTOVER", "LEAK"]
    print()
    print(f"{'group':<17} {'variants':>8} " + " ".join(f"{k:>12}" for k in kinds))
    for group, c in by_group.items():
        print(f"{group:<17} {sum(c.values()):>8} " + " ".join(f"{c[k]:>12}" for k in kinds))
    print(f"{'all':<17} {len(chosen):>8} " + " ".join(f"{counts[k]:>12}" for k in kinds))
    sys.exit(1 if any(counts[k] for k in kinds[2:]) else 0)


if __name__ == "__main__":
    main()
