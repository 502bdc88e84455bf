"""The download ledger's storage and the download locks: few files, crash-safe, shared.

- The ledger is a sharded append-only journal: the last line of a key wins, a build of many
  clips makes at most ``SHARDS`` files, a line torn by a killed writer is skipped and never
  spoils the next line, writers in several processes never interleave, and a reader sees
  what others appended since its last read. Per-clip files of earlier versions are still read.
- A download lock's file exists only while it is held; two processes never hold one key at
  once; a holder killed with its lock leaves a file the next holder takes over.
- Offline, the fetcher writes nothing at all.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from dance_aggregate.errors import MediaError
from dance_aggregate.fetch.fetcher import ClipFetcher, ClipRequest
from dance_aggregate.fetch.journal import SHARDS, Journal
from dance_aggregate.fetch.ledger import Ledger, LedgerEntry, report_rows, write_ledger_report
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.files.csvfiles import read_rows


def test_last_line_wins_and_files_stay_few(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger")
    for i in range(3000):
        ledger.put(LedgerEntry(f"vid{i:08d}_000001_000011", f"vid{i:08d}", 1.0, 11.0, status="failed", attempts=1))
    ledger.put(LedgerEntry("vid00000007_000001_000011", "vid00000007", status="ok", attempts=2, file="x.mp4"))
    files = list((tmp_path / "ledger").iterdir())
    assert len(files) <= SHARDS and all(p.suffix == ".jsonl" for p in files)
    again = Ledger(tmp_path / "ledger")  # another process, a later run
    e = again.get("vid00000007_000001_000011")
    assert (e.status, e.attempts, e.file) == ("ok", 2, "x.mp4")
    assert again.get("vid00000008_000001_000011").status == "failed" and again.get("nope") is None
    assert len(again.entries()) == 3000 and [e.key for e in again.entries(["vid00000002_000001_000011", "nope"])] == [
        "vid00000002_000001_000011"]


def test_a_torn_line_is_skipped_and_never_glues_onto_the_next(tmp_path: Path) -> None:
    j = Journal(tmp_path)
    j.append({"key": "a", "n": 1})
    path = j.path(j.shard_of("a"))
    with open(path, "ab") as f:  # a writer killed in the middle of its line
        f.write(b'{"key":"a","n":99,"stat')
    reader = Journal(tmp_path)
    assert reader.get("a") == {"key": "a", "n": 1}  # the line without its newline is not taken
    j.append({"key": "a", "n": 2})  # the next writer starts a fresh line
    assert reader.get("a") == {"key": "a", "n": 2}
    assert Journal(tmp_path).get("a") == {"key": "a", "n": 2}
    lines = path.read_bytes().split(b"\n")
    assert lines[1] == b'{"key":"a","n":99,"stat' and json.loads(lines[2]) == {"key": "a", "n": 2}
    fresh = Journal(tmp_path)
    assert dict(fresh.items()) == {"a": {"key": "a", "n": 2}} and fresh.skipped == 1
    # A garbage line in the middle costs only itself.
    with open(path, "ab") as f:
        f.write(b"\x00\x00garbage\n[1,2]\n")
    j.append({"key": "a", "n": 3})
    assert Journal(tmp_path).get("a") == {"key": "a", "n": 3}


def test_a_reader_sees_what_others_appended_since(tmp_path: Path) -> None:
    reader, writer = Journal(tmp_path), Journal(tmp_path)
    assert reader.get("k") is None
    writer.append({"key": "k", "v": 1})
    assert reader.get("k") == {"key": "k", "v": 1}
    writer.append({"key": "k", "v": 2})
    assert reader.get("k") == {"key": "k", "v": 2}
    # Someone removed the work folder: the new file is read from its start.
    writer.path(writer.shard_of("k")).unlink()
    writer.append({"key": "k", "v": 3})
    assert reader.get("k") == {"key": "k", "v": 3}


def _append_many(folder: str, worker: int, n: int) -> None:
    j = Journal(folder)
    for i in range(n):
        j.append({"key": f"k{i % 50}", "worker": worker, "i": i, "pad": "x" * (i % 300)})


def test_processes_appending_at_once_never_interleave(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), w, 400)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    lines = [line for p in tmp_path.glob("*.jsonl") for line in p.read_bytes().split(b"\n") if line]
    assert len(lines) == 1600
    assert all(isinstance(json.loads(line), dict) for line in lines)
    j = Journal(tmp_path)
    assert len(dict(j.items())) == 50 and j.skipped == 0


def test_per_clip_files_of_earlier_versions_are_read_and_overridden(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    folder.mkdir()
    old = LedgerEntry("-5Yp-vToI2E_000001_000002", "-5Yp-vToI2E", status="ok", file="a.mp4", attempts=1)
    legacy = {k: v for k, v in asdict(old).items() if k != "url"}  # the per-clip form earlier versions wrote
    (folder / "%2D5Yp-vToI2E_000001_000002.json").write_text(json.dumps(legacy))
    ledger = Ledger(folder)
    assert ledger.get(old.key).file == "a.mp4" and [e.key for e in ledger.entries()] == [old.key]
    ledger.put(LedgerEntry(old.key, old.youtube_id, status="failed", reason="unreadable media"))
    assert Ledger(folder).get(old.key).status == "failed"


class _Req:
    def __init__(self, key: str, url: str | None = None) -> None:
        self.key, self.youtube_id, self.start, self.end, self.url = key, key[:11], 1.0, 2.0, url


def test_report_rows_of_an_offline_build_name_every_missing_clip(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger")
    ledger.put(LedgerEntry("bbbbbbbbbbb_000001_000002", "bbbbbbbbbbb", status="failed", reason="removed", attempts=1))
    # an entry an earlier version wrote, with its old reason name for the same cause
    ledger.put(LedgerEntry("ccccccccccc_000001_000002", "ccccccccccc", status="missing", reason="offline", attempts=0))
    reqs = [_Req(k) for k in ("aaaaaaaaaaa_000001_000002", "bbbbbbbbbbb_000001_000002", "ccccccccccc_000001_000002")]
    out = tmp_path / "ledger.csv"
    counts = write_ledger_report(out, report_rows(ledger, reqs, offline=True), [tmp_path])
    rows = list(read_rows(out))
    assert counts == {"missing": 2, "failed": 1}
    assert [(r["key"][:1], r["status"], r["reason"], r["start"]) for r in rows] == [
        ("a", "missing", "missing video", "1.0"), ("b", "failed", "removed", ""), ("c", "missing", "missing video", "")]
    write_ledger_report(out, report_rows(ledger, reqs, offline=False), [tmp_path])
    assert [r["status"] for r in read_rows(out)] == ["pending", "failed", "missing"]
    assert "url" not in next(read_rows(out))


# -- the download locks ------------------------------------------------------------------------
def _hold(folder: str, key: str, log: str, rounds: int) -> None:
    fetcher = ClipFetcher(folder, FetchOptions())
    for _ in range(rounds):
        with fetcher._lock(key):
            with open(log, "a") as f:
                f.write(f"in {os.getpid()}\n")
                f.flush()
                f.write(f"out {os.getpid()}\n")


def test_two_processes_never_hold_one_key_and_lock_files_do_not_stay(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_hold, args=(str(tmp_path / "f"), "abcdefghijk_000001_000002", str(log), 200))
             for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    lines = log.read_text().splitlines()
    assert len(lines) == 1200
    for enter, leave in zip(lines[::2], lines[1::2], strict=True):
        assert enter.startswith("in ") and leave == "out " + enter[3:]  # nobody came in between
    assert list((tmp_path / "f" / "locks").iterdir()) == []


def _hold_forever(folder: str, key: str, ready: str) -> None:
    with ClipFetcher(folder, FetchOptions())._lock(key):
        Path(ready).touch()
        time.sleep(600)


def test_a_lock_left_by_a_killed_holder_is_taken_over(tmp_path: Path) -> None:
    key, ready = "abcdefghijk_full", tmp_path / "ready"
    p = multiprocessing.get_context("fork").Process(target=_hold_forever, args=(str(tmp_path / "f"), key, str(ready)))
    p.start()
    try:
        while not ready.exists():
            assert p.is_alive()
            time.sleep(0.01)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.join()
    assert [x.name for x in (tmp_path / "f" / "locks").iterdir()] == [f"{key}.lock"]  # left behind, unlocked
    with ClipFetcher(tmp_path / "f", FetchOptions())._lock(key):
        pass
    assert list((tmp_path / "f" / "locks").iterdir()) == []


def test_offline_writes_no_file_for_any_clip(tmp_path: Path) -> None:
    folder = tmp_path / "fetch" / "src"
    fetcher = ClipFetcher(folder, FetchOptions(offline=True))
    for i in range(200):
        with pytest.raises(MediaError) as err:
            fetcher.get(ClipRequest(f"abcdefg{i:04d}", 1.0, 11.0))
        assert err.value.reason == "missing video"
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
