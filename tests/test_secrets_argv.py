"""No secret on any command line: with ``--cookies``, yt-dlp must never hand the cookies to a
process it starts (its ffmpeg downloader passes them as ``-cookies SID=...``, which every
local user can read in ``ps``).

Every process yt-dlp starts as ``ffmpeg`` is recorded by a wrapper put where the fetcher
looks for ffmpeg (``<work>/fetch/bin/ffmpeg``): it appends its argv to a log and execs the
real binary. A run without cookies proves the recorder sees yt-dlp's ffmpeg downloads.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import sys
from pathlib import Path

import imageio_ffmpeg
import pytest

from dance_aggregate.builders.kinetics600 import Kinetics600Builder
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.pipeline.config import RunSettings, build_config
from tests.helpers_fetch import FakeTube, make_source

VID = "ok2xxxxxxxx"
SECRET = "cookiesecret123"


@pytest.fixture
def tube(tmp_path: Path):
    t = FakeTube().start()
    t.add_file(VID, make_source(tmp_path / "src.mp4", 12, 6.0))
    yield t
    t.stop()


def recording_ffmpeg(out: Path, log: Path) -> None:
    """Put an argv-recording ``ffmpeg`` where the fetcher puts its own (it keeps one found there)."""
    real = imageio_ffmpeg.get_ffmpeg_exe()
    wrapper = out / ".work" / "fetch" / "bin" / "ffmpeg"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps(sys.argv) + '\\n')\n"
        f"os.execv({real!r}, [{real!r}] + sys.argv[1:])\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)


def build(tmp_path: Path, name: str, tube: FakeTube, **fetch: object) -> tuple[object, list[list[str]], dict]:
    data = tmp_path / "k600"
    if not data.exists():
        data.mkdir()
        (data / "validate.csv").write_text(f"label,youtube_id,time_start,time_end,split\nzumba,{VID},1,4,val\n")
    out = tmp_path / name
    log = tmp_path / f"{name}.argv"
    recording_ffmpeg(out, log)
    opts = FetchOptions(url_template=tube.url_template, backoff_base=0.01, max_attempts=2, **fetch)
    res = build_config(Kinetics600Builder(data), RunSettings(output=out, progress=False, fetch=opts))
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    with (out / "reports" / "kinetics600.download_ledger.csv").open(newline="") as f:
        ledger = next(csv.DictReader(f))
    return res, calls, ledger


def test_cookies_never_reach_a_command_line(tube: FakeTube, tmp_path: Path) -> None:
    # Without cookies the range is downloaded through ffmpeg: the recorder sees it.
    res, calls, ledger = build(tmp_path, "plain", tube)
    assert res.accounting.rows_written == 1 and ledger["method"] == "range"
    assert any("-i" in argv for argv in calls), calls

    cookies = tmp_path / "cookies.txt"
    cookies.write_text(f"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tSID\t{SECRET}\n")
    os.chmod(cookies, 0o600)
    res, calls, ledger = build(tmp_path, "cookies", tube, cookies=str(cookies))
    leaked = [argv for argv in calls if any(SECRET in a for a in argv)]
    assert not leaked, f"cookie value on a command line: {leaked}"
    assert not any("-cookies" in argv for argv in calls)
    assert res.accounting.rows_written == 1  # the whole video was fetched and cut locally
    assert ledger["method"] == "full"
    assert cookies.read_text().count(SECRET) == 1  # the user's file untouched
