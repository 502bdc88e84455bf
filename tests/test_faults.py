"""Faults during a build: the failure cap, a full disk, what a killed build leaves, a second
build into the same folder, and spreadsheet-safe CSV reports."""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import dance_aggregate as da
from dance_aggregate.builders import registry
from dance_aggregate.builders.base import SourceBuilder
from dance_aggregate.builders.kinetics600 import Kinetics600Builder
from dance_aggregate.cli import cli
from dance_aggregate.dedup import Analysis
from dance_aggregate.dedup.clusters import Cluster
from dance_aggregate.dedup.combine import write_duplicates_csv
from dance_aggregate.errors import DiskFullError, EmptyConfig, MediaError, OutputError, TooManyFailures
from dance_aggregate.fetch.ledger import LedgerEntry, write_ledger_csv
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.files.atomic import atomic_write_text
from dance_aggregate.files.csvfiles import escape_cell, read_rows, unescape_cell
from dance_aggregate.output.leftovers import BuildLock
from dance_aggregate.output.reports import ConfigReport, accounting_from, write_reports
from dance_aggregate.pipeline.config import RunSettings, build_config
from dance_aggregate.pipeline.failures import FailureCap
from dance_aggregate.records import ClipRecord, Exclusion, FeatureShard, Plan, Produced
from tests.helpers_fetch import Behaviour, FakeTube, make_source

DATA = Path(__file__).parent / "data"

# -- the failure cap --------------------------------------------------------------------------
#: What the flaky source's reader does (it runs in this process: one worker).
_FLAKY: dict = {}


class FlakyBuilder(SourceBuilder):
    """A source of ``n`` records whose reader raises ``error`` for the records ``fails``
    picks (the others are missing videos)."""

    source = "ucf101"
    config_name = "ucf101"

    def __init__(self, n: int, error: Exception, fails=lambda i: True) -> None:
        super().__init__(".", taxonomy=registry.taxonomy())
        self.n = n
        _FLAKY.update(error=error, fails=fails, calls=0)

    @property
    def calls(self) -> int:
        return _FLAKY["calls"]

    def plan(self) -> Plan:
        recs = [
            ClipRecord(f"ucf101/v_SalsaSpin_g{i:02d}_c01", "ucf101", f"v_SalsaSpin_g{i:02d}_c01", "train", "salsa",
                       "SalsaSpin", "latin", f"SalsaSpin_g{i:02d}", media=FeatureShard(f"/nowhere/{i}", str(i), {"i": i}))
            for i in range(self.n)
        ]
        return Plan(recs, [])

    @staticmethod
    def read_features(shard: FeatureShard, options: object) -> Produced:
        _FLAKY["calls"] += 1
        if _FLAKY["fails"](shard.context["i"]):
            raise _FLAKY["error"]
        raise MediaError("gone", reason="missing video")


def settings(out: Path, cap: FailureCap | None = None, fetch: FetchOptions | None = None) -> RunSettings:
    return RunSettings(output=out, progress=False, part_size=5, failure_cap=cap or FailureCap(),
                       fetch=fetch or FetchOptions())


def test_cap_stops_a_config_whose_records_all_fail_unexpectedly(tmp_path: Path) -> None:
    builder = FlakyBuilder(100, RuntimeError("libx264 encoder not found"))
    with pytest.raises(TooManyFailures) as err:
        build_config(builder, settings(tmp_path / "out"))
    assert builder.calls == 20  # stopped after min_records, not after 100 tracebacks
    message = str(err.value)
    assert "stopped after 20 of 100 clips" in message and "'unexpected error'" in message
    assert "RuntimeError: libx264 encoder not found" in message and "--max-failure-share 1" in message
    assert not (tmp_path / "out" / "data").exists()  # no empty dataset written


def test_cap_counts_one_media_error_reason(tmp_path: Path) -> None:
    builder = FlakyBuilder(60, MediaError("x.mp4: no decoder for codec hevc", reason="no video stream"))
    with pytest.raises(TooManyFailures, match="'no video stream'"):
        build_config(builder, settings(tmp_path / "out"))


def excluded_by(run) -> dict[str, int]:
    """A config whose every record is excluded fails (an empty build is an error) and
    carries its accounting: the counts by reason this test is about."""
    with pytest.raises(EmptyConfig) as caught:
        run()
    return dict(caught.value.accounting.excluded)


def test_cap_spares_mixed_and_expected_failures(tmp_path: Path) -> None:
    # Half the records fail unexpectedly, half are missing: no single reason is most records.
    builder = FlakyBuilder(60, RuntimeError("bug"), fails=lambda i: i % 2 == 0)
    excluded = excluded_by(lambda: build_config(builder, settings(tmp_path / "a")))
    assert excluded == {"unexpected error": 30, "missing video": 30}
    # Turned off: every record is tried and excluded.
    builder = FlakyBuilder(40, RuntimeError("bug"))
    excluded = excluded_by(lambda: build_config(builder, settings(tmp_path / "b", FailureCap(max_share=1.0))))
    assert builder.calls == 40 and excluded == {"unexpected error": 40}
    # Clips missing from an offline mirror are facts about those clips, not a broken setup.
    data = tmp_path / "k600"
    data.mkdir()
    rows = "".join(f"salsa dancing,clip{i:07d},0,10,val\n" for i in range(30))
    (data / "validate.csv").write_text("label,youtube_id,time_start,time_end,split\n" + rows)
    k = Kinetics600Builder(data)
    excluded = excluded_by(lambda: build_config(k, settings(tmp_path / "k", fetch=FetchOptions(offline=True))))
    assert excluded == {"missing video": 30}


def test_cap_on_a_parser_that_fails_every_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "k600"
    data.mkdir()
    rows = "".join(f"salsa dancing,clip{i:07d},0,10,val\n" for i in range(25))
    (data / "validate.csv").write_text("label,youtube_id,time_start,time_end,split\n" + rows)

    def broken(value: object, where: str) -> str:  # a parser bug: every record raises
        raise KeyError("youtube_id")

    monkeypatch.setattr("dance_aggregate.builders.kinetics600.builder.check_youtube_id", broken)
    k = Kinetics600Builder(data)
    with pytest.raises(TooManyFailures, match=r"stopped after 25 of 25 records: 25 \(100%\) failed with 'unexpected error'"):
        build_config(k, settings(tmp_path / "out", fetch=FetchOptions(offline=True)))


def test_cap_options_are_checked() -> None:
    with pytest.raises(ValueError):
        FailureCap(max_share=0)
    with pytest.raises(ValueError):
        FailureCap(min_records=0)
    result = CliRunner().invoke(cli, ["build", "--sample", "--max-failure-share", "1.5"])
    assert result.exit_code == 2 and "max-failure-share" in result.output


# -- a full disk ------------------------------------------------------------------------------
def enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_atomic_writer_on_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "reports" / "x.json"
    atomic_write_text(path, "old")
    monkeypatch.setattr(os, "fsync", enospc)  # the file system call fails, as it does on a full disk
    with pytest.raises(DiskFullError, match=r"no space left on the disk while writing report .*x\.json"):
        atomic_write_text(path, "new", "report")
    assert path.read_text() == "old" and [p.name for p in path.parent.iterdir()] == ["x.json"]


def folder_state(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".work" not in p.parts
    }


def full_disk_at(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parquet writes to ``where`` (a path part: ``parts`` or ``data``) fail as Arrow fails on a
    full disk: part of the file written, then ``OSError(28, ...)``."""
    real = pq.write_table

    def write_table(table: pa.Table, target: object, *args: object, **kwargs: object) -> None:
        if isinstance(target, (str, Path)) and where in Path(target).parts:
            Path(target).write_bytes(b"PAR1" + b"\0" * 100)
            raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")
        real(table, target, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", write_table)


@pytest.mark.parametrize("where", ["parts", "data"])
def test_full_disk_keeps_the_previous_folder(
    where: str, ucf_sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "dance_aggregate"
    da.build(configs=["ucf101"], data_dirs={"ucf101": ucf_sample}, output=out, progress=False)
    before = folder_state(out)
    full_disk_at(where, monkeypatch)
    # Different encode options: every unit is new, so parts and shards are written again.
    args = ["build", "ucf101", "--data-dir", f"ucf101={ucf_sample}", "--output", str(out), "--max-short-side", "64", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "no space left on the disk while writing" in result.output and str(out) in result.output
    assert ("work part" if where == "parts" else "shard") in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert folder_state(out) == before  # shards, reports and card as they were
    assert not [p for p in out.rglob("*") if p.name.endswith((".tmp", ".staging")) or ".staging" in p.name]


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=1m none $d && umount $d"
    return subprocess.run(["unshare", "-rm", "sh", "-c", probe], capture_output=True).returncode == 0


_REAL_DISK = r"""
import hashlib, json, os, subprocess, sys
out, sample = sys.argv[1], sys.argv[2]
exe = [sys.executable, "-m", "dance_aggregate"]
first = subprocess.run(exe + ["build", "ucf101", "--data-dir", "ucf101=" + sample, "--output", out, "-q"],
                       capture_output=True, text=True)
def state():
    return {os.path.join(r, f): hashlib.sha256(open(os.path.join(r, f), "rb").read()).hexdigest()
            for r, _, fs in os.walk(out) if ".work" not in r for f in fs}
before = state()
try:  # fill the disk
    with open(os.path.join(os.path.dirname(out), "filler"), "wb") as f:
        while True:
            f.write(b"\0" * 65536)
            f.flush()
except OSError:
    pass
second = subprocess.run(exe + ["build", "ucf101", "--data-dir", "ucf101=" + sample, "--output", out,
                                "--max-short-side", "64", "-q"], capture_output=True, text=True)
print(json.dumps({"first": first.returncode, "rc": second.returncode, "stderr": second.stderr,
                  "same": state() == before}))
"""


@pytest.mark.skipif(not _unshare_works(), reason="needs unprivileged user and mount namespaces (unshare -rm)")
def test_full_disk_on_a_real_small_filesystem(ucf_sample: Path, tmp_path: Path) -> None:
    import json

    mnt = tmp_path / "small"
    mnt.mkdir()
    script = tmp_path / "fill.py"
    script.write_text(_REAL_DISK)
    cmd = f"mount -t tmpfs -o size=40m none {mnt} && {sys.executable} {script} {mnt}/out {ucf_sample}"
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True, timeout=600)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["first"] == 0
    assert res["rc"] == 1 and "no space left on the disk while" in res["stderr"] and f"{mnt}/out" in res["stderr"]
    assert "Traceback" not in res["stderr"]
    assert res["same"]


# -- what a killed build leaves (the marked temporaries of every writer: tests/test_leftovers.py) --
_KILLED = """
import sys
import dance_aggregate as da
from dance_aggregate.builders import registry
from dance_aggregate.fetch.options import FetchOptions
data, out, url = sys.argv[1:4]
da.build(configs=["kinetics600"], data_dirs={"kinetics600": data}, output=out, progress=False, part_size=1,
         fetch=FetchOptions(url_template=url, backoff_base=0.01, pause_base=0.05))
"""


def test_killed_download_leaves_nothing_after_the_next_build(tmp_path: Path) -> None:
    import signal

    tube = FakeTube().start()
    try:
        tube.add_file("slowslowslo", make_source(tmp_path / "v.mp4", 5, 3.0), Behaviour(truncate=0.5, delay=0.5))
        data = tmp_path / "k600"
        data.mkdir()
        (data / "validate.csv").write_text("label,youtube_id,time_start,time_end,split\nzumba,slowslowslo,0,2,val\n")
        out = tmp_path / "out"
        proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(data), str(out), tube.url_template],
                                start_new_session=True)
        fetch_dir = out / ".work" / "fetch" / "kinetics600"
        try:
            deadline = time.monotonic() + 120
            while not list(fetch_dir.glob(".dl-*")):
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        assert list(fetch_dir.glob(".dl-*"))  # the kill left a download folder
        tube.behaviours["slowslowslo"] = Behaviour()
        res = da.build(configs=["kinetics600"], data_dirs={"kinetics600": data}, output=out, progress=False,
                       fetch=FetchOptions(url_template=tube.url_template, backoff_base=0.01))
        assert res.ok and res.accounting()["kinetics600"].rows_written == 1
        assert not list(fetch_dir.glob(".dl-*"))
        assert not [p for p in out.rglob("*.tmp")]
    finally:
        tube.stop()


def test_second_build_into_the_same_folder_is_refused(ucf_sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "dance_aggregate"
    with BuildLock(out):
        with pytest.raises(OutputError, match=r"another build is writing .*dance_aggregate \(pid \d+"):
            da.build(configs=["ucf101"], data_dirs={"ucf101": ucf_sample}, output=out, progress=False)
    assert da.build(configs=["ucf101"], data_dirs={"ucf101": ucf_sample}, output=out, progress=False).ok


# -- CSV reports that spreadsheets open --------------------------------------------------------
TRIGGERS = ["=HYPERLINK(\"http://x\")", "+1+2", "-5Yp-vToI2E", "@SUM(A1)", "\tTAB", "\rCR", "'quoted", "plain"]


def raw_cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return [c for row in csv.reader(f) for c in row]


def test_reports_escape_formula_cells_reversibly(tmp_path: Path) -> None:
    assert [unescape_cell(escape_cell(t)) for t in TRIGGERS] == TRIGGERS
    assert escape_cell(-5) == -5
    excl = [Exclusion(t, "not a dance class", t, "train", t) for t in TRIGGERS]
    write_reports(tmp_path, ConfigReport("x", accounting_from("x", len(excl), {}, excl)), excl)
    path = tmp_path / "reports" / "x.excluded.csv"
    assert not [c for c in raw_cells(path) if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    rows = list(read_rows(path))
    assert sorted(r["id"] for r in rows) == sorted(TRIGGERS)
    assert all(r["id"] == r["source_label"] == r["detail"] for r in rows)
    # The download ledger: a YouTube id may begin with '-'.
    ledger = tmp_path / "ledger.csv"
    write_ledger_csv(ledger, [LedgerEntry("-5Yp-vToI2E_000001_000002", "-5Yp-vToI2E", detail="=cmd|' /C calc'!A0")])
    assert "'-5Yp-vToI2E" in ledger.read_text() and "'=cmd" in ledger.read_text()
    assert [r["youtube_id"] for r in read_rows(ledger)] == ["-5Yp-vToI2E"]
    # The duplicate clusters.
    ids = ["kinetics600/-5Yp-vToI2E_000001_000011", "activitynet/-5Yp-vToI2E_s00_w00"]
    result = Analysis(ids, ["train", "train"], [], [Cluster([0, 1], 0, {1})], ["train", "train"])
    keys = pa.table({"source": ["kinetics600", "activitynet"], "label": ["salsa", "tango"],
                     "source_label": ["=cmd|' /C calc'!A0", "@SUM(1+1)*cmd"]})  # labels from other people's files
    path = write_duplicates_csv(tmp_path, result, keys)
    assert not [c for c in raw_cells(path) if c.startswith(("=", "+", "-", "@"))]
    rows = list(read_rows(path))
    assert [(r["id"], r["source_label"]) for r in rows] == list(zip(ids, ["=cmd|' /C calc'!A0", "@SUM(1+1)*cmd"], strict=True))


def test_summaries_read_escaped_ledger_keys(tmp_path: Path) -> None:
    # The card joins excluded ids with ledger keys; an id beginning with '-' must still match.
    from dance_aggregate.hub.summaries import _rows

    path = tmp_path / "reports" / "k.download_ledger.csv"
    write_ledger_csv(path, [LedgerEntry("-5Yp-vToI2E_000001_000002", "-5Yp-vToI2E", status="failed", reason="removed")])
    assert [r["key"] for r in _rows(path)] == ["-5Yp-vToI2E_000001_000002"]


# -- an empty build is a failure -----------------------------------------------------------------
def test_a_config_that_reads_records_but_writes_none_fails(tmp_path: Path) -> None:
    """kinetics600 offline with no mirror: every clip is missing. The config fails (exit 1)
    with its reasons summarised, and nothing is written for it."""
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["build", "kinetics600", "--data-dir", f"kinetics600={DATA / 'kinetics600'}",
                                   "--offline", "-O", str(out), "-q"])
    assert res.exit_code == 1, res.output
    assert "0 rows written" in res.output and "missing video" in res.output and "--video-dir" in res.output
    assert "kinetics600  FAILED" in res.output and "built: 0 rows" not in res.output
    assert not (out / "data" / "kinetics600").exists()


def test_a_video_dir_that_does_not_exist_is_an_error_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    gone = tmp_path / "no-such-mirror"
    res = CliRunner().invoke(cli, ["build", "kinetics600", "--data-dir", f"kinetics600={DATA / 'kinetics600'}",
                                   "--video-dir", f"kinetics600={gone}", "--offline", "-O", str(out), "-q"])
    assert res.exit_code == 1 and str(gone) in res.output and "does not exist" in res.output, res.output
