"""The real yt-dlp against a Range-capable HTTP server on 127.0.0.1 standing in for YouTube.

Covers: an id beginning with ``-``; 429 a few times then success; 404 and 403 (permanent,
not retried on rerun); a truncated and a corrupt body (reported, the build goes on);
frame-exact cuts that keep their audio; a build killed midway and rerun; offline; secrets
never reaching logs or the output folder. (The shared pause itself: test_politeness.)
"""

from __future__ import annotations

import csv
import io
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import soundfile as sf

from dance_aggregate.builders.activitynet import ActivityNetBuilder
from dance_aggregate.builders.kinetics600 import Kinetics600Builder
from dance_aggregate.errors import EmptyConfig
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.fetch.politeness import FilePoliteness
from dance_aggregate.fetch.ytdlp import classify
from dance_aggregate.files.csvfiles import read_rows
from dance_aggregate.output.folder import read_config
from dance_aggregate.pipeline.config import RunSettings, build_config
from dance_aggregate.pipeline.runners import LocalRunner
from tests.helpers_annotations import write_activitynet_json
from tests.helpers_fetch import (
    SOURCE_FPS,
    Behaviour,
    FakeTube,
    clip_frames,
    make_source,
    source_frame_index,
)

SEEDS = {"-dash1xxxxx": 11, "ok2xxxxxxxx": 12, "r429xxxxxxx": 13, "e404xxxxxxx": 14, "e403xxxxxxx": 15, "truncxxxxxx": 16, "garbxxxxxxx": 17}
SECONDS = 6.0


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sources")
    return {vid: make_source(root / f"{seed}.mp4", seed, SECONDS) for vid, seed in SEEDS.items()}


@pytest.fixture
def tube(sources: dict[str, Path]):
    t = FakeTube().start()
    for vid, path in sources.items():
        t.add_file(vid, path)
    t.behaviours.update(
        {
            "r429xxxxxxx": Behaviour(fail_first=2),
            "e404xxxxxxx": Behaviour(status=404),
            "e403xxxxxxx": Behaviour(status=403),
            "truncxxxxxx": Behaviour(truncate=0.5),
            "garbxxxxxxx": Behaviour(garbage=True),
        }
    )
    yield t
    t.stop()


def fast(tube: FakeTube, **kw) -> FetchOptions:
    """Fetch options with tiny delays, pointing at the test server."""
    opts = {"url_template": tube.url_template, "backoff_base": 0.01, "backoff_max": 0.05, "pause_base": 0.05,
                "pause_max": 0.2, "max_attempts": 3, "socket_timeout": 10}
    opts.update(kw)
    return FetchOptions(**opts)


def write_kinetics(folder: Path, rows: list[tuple[str, str, int, int]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "validate.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for label, vid, s, e in rows:
            w.writerow([label, vid, s, e, "val"])
    return folder


def ledger_rows(out: Path, config: str) -> dict[str, dict[str, str]]:
    return {r["youtube_id"]: r for r in read_rows(out / "reports" / f"{config}.download_ledger.csv")}


def build(builder, out: Path, workers: int = 1, part_size: int = 2, fetch: FetchOptions | None = None):
    return build_config(builder, RunSettings(output=out, progress=False, part_size=part_size, runner=LocalRunner(workers),
                                             fetch=fetch or FetchOptions()))


def test_classify_youtube_messages() -> None:
    cases = {
        "ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader": "removed",
        "ERROR: [youtube] abc: Private video. Sign in if you've been granted access to this video": "private",
        "ERROR: [youtube] abc: Video unavailable. This video is no longer available due to a copyright claim by X": "copyright",
        "ERROR: [youtube] abc: The uploader has not made this video available in your country": "geo-blocked",
        "ERROR: [youtube] abc: Sign in to confirm you’re not a bot. Use --cookies-from-browser": "sign-in or bot check",
        "ERROR: [youtube] abc: Sign in to confirm your age. This video may be inappropriate for some users.": "age-restricted",
        "ERROR: Unable to download webpage: HTTP Error 429: Too Many Requests": "rate-limited",
        "ERROR: Unable to download webpage: <urlopen error [Errno 111] Connection refused>": "network",
        "ERROR: [youtube] abc: Video unavailable": "removed",
        # a truncated body through yt-dlp's `requests` handler (installed with e.g. ray)
        "ERROR: [download] Got error: 65856 bytes read, 65856 more expected. Giving up after 1 retries": "network",
    }
    for message, reason in cases.items():
        assert classify(message)[0] == reason, message
    assert classify("whatever", 404)[0] == "not found"
    assert classify("whatever", 403)[0] == "forbidden"
    assert classify("HTTP Error 429")[2] is True  # pauses every worker


@pytest.mark.slow
def test_download_build_retries_reasons_and_rerun(tube: FakeTube, tmp_path: Path) -> None:
    ids = ["-dash1xxxxx", "ok2xxxxxxxx", "r429xxxxxxx", "e404xxxxxxx", "e403xxxxxxx", "truncxxxxxx", "garbxxxxxxx"]
    data = write_kinetics(tmp_path / "k600", [("salsa dancing", vid, 2, 5) for vid in ids])
    out = tmp_path / "out"
    builder = Kinetics600Builder(data)
    fetch = fast(tube)
    res = build(builder, out, workers=2, fetch=fetch)  # two worker processes share the ledger and the pause
    acc = res.accounting
    assert acc.adds_up and acc.records_read == len(ids)
    assert acc.rows_written == 3
    assert acc.excluded == {
        "download failed: not found": 1,
        "download failed: forbidden": 1,
        "download failed: network": 1,
        "download failed: unreadable media": 1,
    }
    led = ledger_rows(out, "kinetics600")
    assert {k: v["status"] for k, v in led.items()} == {
        "-dash1xxxxx": "ok", "ok2xxxxxxxx": "ok", "r429xxxxxxx": "ok", "e404xxxxxxx": "failed", "e403xxxxxxx": "failed", "truncxxxxxx": "failed", "garbxxxxxxx": "failed"}
    assert led["r429xxxxxxx"]["attempts"] == "3"  # two 429s, then the clip arrived
    assert led["-dash1xxxxx"]["attempts"] == "1" and led["-dash1xxxxx"]["method"] == "range"
    assert led["e404xxxxxxx"]["reason"] == "not found" and led["e404xxxxxxx"]["attempts"] == "1"
    assert led["e403xxxxxxx"]["reason"] == "forbidden" and led["e403xxxxxxx"]["attempts"] == "1"
    assert led["truncxxxxxx"]["reason"] == "network" and led["truncxxxxxx"]["transient"] == "True"
    assert led["garbxxxxxxx"]["reason"] == "unreadable media"
    assert all(r["ytdlp_version"] for r in led.values()) and all(r["last_try"] for r in led.values())
    # the two 429s started the shared pause, and the success reset its growth
    pause = FilePoliteness(out / ".work" / "fetch").status()
    assert pause["rate_limited"] == 2 and pause["level"] == 0

    # Rows: frame-exact cuts with audio.
    table = read_config(out, "kinetics600")["validation"]
    rows = {r["youtube_id"]: r for r in table.to_pylist()}
    assert set(rows) == {"-dash1xxxxx", "ok2xxxxxxxx", "r429xxxxxxx"}
    for vid, row in rows.items():
        frames = clip_frames(row["video"]["bytes"])
        n = int(SECONDS * SOURCE_FPS)
        assert abs(source_frame_index(frames[0], SEEDS[vid], n) - math.ceil(2 * SOURCE_FPS)) <= 1
        assert abs(source_frame_index(frames[-1], SEEDS[vid], n) - (math.ceil(5 * SOURCE_FPS) - 1)) <= 1
        assert abs(len(frames) - 3 * SOURCE_FPS) <= 1
        assert row["has_audio"]
        audio, sr = sf.read(io.BytesIO(row["audio"]["bytes"]))
        assert abs(len(audio) / sr - 3.0) < 0.05 and abs(audio).max() > 0.05

    # Rerun: finished clips and permanent failures are not fetched again; the transient one is.
    tube.reset_counts()
    res2 = build(Kinetics600Builder(data), out, fetch=fast(tube))
    assert res2.accounting.rows_written == 3
    assert {vid for vid, n in tube.requests.items() if n} == {"truncxxxxxx"}
    led2 = ledger_rows(out, "kinetics600")
    assert int(led2["truncxxxxxx"]["attempts"]) > int(led["truncxxxxxx"]["attempts"])
    assert led2["e404xxxxxxx"]["attempts"] == "1" and led2["garbxxxxxxx"]["attempts"] == led["garbxxxxxxx"]["attempts"]

    # --retry-failed tries the permanent failures again.
    tube.reset_counts()
    build(Kinetics600Builder(data), out, fetch=fast(tube, retry_failed=True))
    assert tube.requests["e404xxxxxxx"] >= 1 and tube.requests["e403xxxxxxx"] >= 1
    assert tube.requests["-dash1xxxxx"] == 0 and tube.requests["ok2xxxxxxxx"] == 0


def test_a_rerun_never_refetches_a_permanent_failure_that_shares_a_unit_with_a_transient_one(
    tube: FakeTube, sources: dict[str, Path], tmp_path: Path
) -> None:
    """The unit holding a transient failure runs again; the permanent failure in the same
    unit is answered from the ledger, not fetched again (only --retry-failed does)."""
    # Sorted by id, the two failures share a unit of part_size 2; a third clip, in a unit of
    # its own, succeeds (a config with no row at all is a failed build, not a rerun).
    tube.add_file("zokxxxxxxxx", sources["ok2xxxxxxxx"])
    ids = ["e404xxxxxxx", "truncxxxxxx", "zokxxxxxxxx"]
    data = write_kinetics(tmp_path / "k600", [("salsa dancing", vid, 2, 5) for vid in ids])
    out = tmp_path / "out"
    first = build(Kinetics600Builder(data), out, fetch=fast(tube), part_size=2)
    assert first.accounting.rows_written == 1
    assert first.accounting.excluded == {"download failed: not found": 1, "download failed: network": 1}
    tube.reset_counts()
    again = build(Kinetics600Builder(data), out, fetch=fast(tube), part_size=2)
    assert tube.requests["truncxxxxxx"] >= 1, "the unit with a transient failure was not run again"
    assert tube.requests["e404xxxxxxx"] == 0, "a permanent failure was fetched again"
    assert again.accounting.excluded["download failed: not found"] == 1
    assert ledger_rows(out, "kinetics600")["e404xxxxxxx"]["attempts"] == "1"


def test_activitynet_windows_share_one_download(tube: FakeTube, tmp_path: Path) -> None:
    data = write_activitynet_json(tmp_path / "anet", {
        "ok2xxxxxxxx": {"duration": SECONDS, "subset": "training", "resolution": "160x120", "url": "",
                        "annotations": [{"segment": [1.3, 4.7], "label": "Tango"}]},
    })
    out = tmp_path / "out"
    builder = ActivityNetBuilder(data, ActivityNetBuilder.Options(max_window=2.0))
    fetch = fast(tube)
    res = build(builder, out, fetch=fetch)
    assert res.accounting.rows_written == 2
    led = ledger_rows(out, "activitynet")
    assert list(led) == ["ok2xxxxxxxx"] and led["ok2xxxxxxxx"]["attempts"] == "1"  # one download for both windows
    rows = sorted(read_config(out, "activitynet")["train"].to_pylist(), key=lambda r: r["start_time"])
    n = int(SECONDS * SOURCE_FPS)
    for row, (s, e) in zip(rows, [(1.3, 3.0), (3.0, 4.7)], strict=True):
        assert (row["start_time"], row["end_time"]) == (s, e) and row["group"] == "ok2xxxxxxxx"
        frames = clip_frames(row["video"]["bytes"])
        assert abs(source_frame_index(frames[0], SEEDS["ok2xxxxxxxx"], n) - math.ceil(s * SOURCE_FPS)) <= 1
        assert abs(source_frame_index(frames[-1], SEEDS["ok2xxxxxxxx"], n) - (math.ceil(e * SOURCE_FPS) - 1)) <= 1
        assert row["has_audio"]


def test_offline_records_missing_without_network(tube: FakeTube, tmp_path: Path) -> None:
    data = write_kinetics(tmp_path / "k600", [("zumba", "ok2xxxxxxxx", 0, 3), ("zumba", "-dash1xxxxx", 1, 4)])
    out = tmp_path / "out"
    # Every clip missing offline: the config fails (no row is not a dataset) with its accounting.
    with pytest.raises(EmptyConfig) as caught:
        build(Kinetics600Builder(data), out, fetch=fast(tube, offline=True))
    assert caught.value.accounting.excluded == {"missing video": 2}
    assert sum(tube.requests.values()) == 0
    assert {r["status"] for r in ledger_rows(out, "kinetics600").values()} == {"missing"}
    # Back online, the missing clips are fetched.
    res = build(Kinetics600Builder(data), out, fetch=fast(tube))
    assert res.accounting.rows_written == 2


def test_secrets_never_logged_nor_written(tube: FakeTube, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tSID\tcookiesecret123\n")
    host, port = tube.server.server_address[:2]
    proxy = f"http://user:proxysecret456@{host}:{port}"  # the test server also answers as a proxy
    data = write_kinetics(tmp_path / "k600", [("zumba", "ok2xxxxxxxx", 0, 3), ("zumba", "e404xxxxxxx", 0, 3)])
    out = tmp_path / "out"
    caplog.set_level("DEBUG", logger="dance_aggregate")
    res = build(Kinetics600Builder(data), out, fetch=fast(tube, cookies=str(cookies), proxy=proxy))
    assert res.accounting.rows_written == 1
    assert tube.requests["ok2xxxxxxxx"] >= 1 and tube.proxied >= 1  # the proxy was used
    for path in out.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert b"cookiesecret123" not in blob and b"proxysecret456" not in blob, path
    assert "cookiesecret123" not in caplog.text and "proxysecret456" not in caplog.text
    assert cookies.read_text().count("cookiesecret123") == 1  # the user's file untouched


_KILL_SCRIPT = """
import sys
from dance_aggregate.pipeline.config import RunSettings, build_config
from dance_aggregate.builders.kinetics600 import Kinetics600Builder
from dance_aggregate.errors import EmptyConfig
from dance_aggregate.fetch.options import FetchOptions
from tests.helpers_annotations import write_activitynet_json
data, out, url = sys.argv[1:4]
b = Kinetics600Builder(data)
fetch = FetchOptions(url_template=url, backoff_base=0.01, pause_base=0.05)
build_config(b, RunSettings(output=out, progress=False, part_size=1, fetch=fetch))
"""


@pytest.mark.slow
def test_killed_build_resumes_without_refetching(tube: FakeTube, tmp_path: Path) -> None:
    ids = ["-dash1xxxxx", "ok2xxxxxxxx", "r429xxxxxxx"]  # sorted by id
    tube.behaviours["r429xxxxxxx"] = Behaviour(delay=60)  # the build hangs on the last clip
    data = write_kinetics(tmp_path / "k600", [("salsa dancing", vid, 1, 4) for vid in ids])
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(data), str(out), tube.url_template],
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while tube.requests["r429xxxxxxx"] == 0:
            assert proc.poll() is None, "the build ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "data").exists()  # killed before any shard: none half-written
    first = dict(tube.requests)
    assert first["-dash1xxxxx"] and first["ok2xxxxxxxx"]
    tube.behaviours["r429xxxxxxx"] = Behaviour()
    tube.reset_counts()
    res = build(Kinetics600Builder(data), out, part_size=1, fetch=fast(tube))
    assert res.accounting.rows_written == 3 and res.accounting.adds_up
    assert tube.requests["-dash1xxxxx"] == 0 and tube.requests["ok2xxxxxxxx"] == 0  # nothing fetched twice
    assert tube.requests["r429xxxxxxx"] >= 1
    shards = list((out / "data" / "kinetics600").glob("*"))
    assert shards and all(p.suffix == ".parquet" for p in shards)
    assert sum(pq.read_metadata(p).num_rows for p in shards) == 3


def test_fetch_options_and_scrubbing() -> None:
    from dance_aggregate.fetch.ledger import needs_retry
    from dance_aggregate.fetch.ytdlp import scrub

    with pytest.raises(ValueError, match="youtube_id"):
        FetchOptions(url_template="https://example.org/watch?v=")
    opts = FetchOptions(cookies="/secret/cookies.txt", proxy="http://u:pw@proxy:3128")
    assert "secret" not in repr(opts) and "pw@" not in repr(opts)
    assert opts.url("-07WQ2iBlw") == "https://www.youtube.com/watch?v=-07WQ2iBlw"
    assert "pw" not in scrub("Unable to connect to proxy http://u:pw@proxy:3128/", [])
    assert "tok" not in scrub("cookie tok in message", ["tok"])
    assert needs_retry("download failed: network", offline=False, retry_failed=False)
    assert not needs_retry("download failed: not found", offline=False, retry_failed=False)
    assert needs_retry("download failed: not found", offline=False, retry_failed=True)
    assert needs_retry("missing video", offline=False, retry_failed=False)
    assert not needs_retry("download failed: network", offline=True, retry_failed=False)
    assert not needs_retry("not a dance class", offline=False, retry_failed=True)
