"""Plain file downloads (``RemoteCut(url=...)``) against a Range-capable HTTP server on 127.0.0.1.

Covers: a whole download; a body cut mid-way that the next attempt resumes with ``Range``
(byte-identical result); a server that ignores Range (start again from 0); 404 (permanent,
never fetched again by a rerun); 503 then success; offline (nothing fetched, nothing
written); which URLs are fetched at all (https only; http only to this machine and only
when asked; no credentials; no redirect elsewhere); and a whole build through the pipeline
whose records are URL cuts of a generated MP4, with its ledger report.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from dance_aggregate.builders import registry
from dance_aggregate.builders.base import Config, Source, SourceBuilder
from dance_aggregate.errors import EmptyConfig, MediaError
from dance_aggregate.fetch.fetcher import ClipFetcher, ClipRequest
from dance_aggregate.fetch.httpfile import FileDownloadFailure, safe_url, url_key
from dance_aggregate.fetch.ledger import Ledger
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.files.csvfiles import read_rows
from dance_aggregate.output.folder import read_config
from dance_aggregate.pipeline.config import RunSettings, build_config
from dance_aggregate.pipeline.runners import LocalRunner
from dance_aggregate.records import ClipRecord, Plan, RemoteCut
from tests.helpers_fetch import SOURCE_FPS, Behaviour, FakeTube, clip_frames, make_source, source_frame_index

NAME = "urlfiles"
SECONDS = 4.0
FILES = {"okfile": 31, "cutfile": 32, "norange": 33, "gone": 34, "busy": 35}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("files")
    return {name: make_source(root / f"{name}.mp4", seed, SECONDS) for name, seed in FILES.items()}


@pytest.fixture
def tube(sources: dict[str, Path]):
    t = FakeTube().start()
    for name, path in sources.items():
        t.add_file(name, path)
    t.behaviours.update({
        "cutfile": Behaviour(truncate=0.4, truncate_times=1),  # the connection ends after 40 % once
        "norange": Behaviour(truncate=0.4, truncate_times=1, ignore_range=True),
        "gone": Behaviour(status=404),
        "busy": Behaviour(fail_first=1, fail_status=503),
    })
    yield t
    t.stop()


def opts(**kw) -> FetchOptions:
    base = {"backoff_base": 0.01, "backoff_max": 0.05, "pause_base": 0.05, "pause_max": 0.2, "max_attempts": 3,
            "socket_timeout": 10, "local_http": True}
    return FetchOptions(**{**base, **kw})


def entry_of(folder: Path, key: str):
    return Ledger(folder / "ledger").get(key)


def test_a_whole_file_is_downloaded_into_the_cache_and_the_ledger(tube: FakeTube, sources, tmp_path: Path) -> None:
    fetcher = ClipFetcher(tmp_path / "fetch" / NAME, opts())
    got = fetcher.get(ClipRequest("", url=tube.file_url("okfile")))
    assert got.path.read_bytes() == sources["okfile"].read_bytes() and got.offset == 0.0
    assert tube.ranges == [("okfile", None)]
    e = entry_of(tmp_path / "fetch" / NAME, "okfile")
    assert (e.status, e.method, e.attempts, e.url, e.youtube_id) == ("ok", "full", 1, tube.file_url("okfile"), "")
    assert e.bytes == sources["okfile"].stat().st_size and e.ytdlp_version == ""
    # Asked again (another worker, a rerun): from the cache.
    assert ClipFetcher(tmp_path / "fetch" / NAME, opts()).get(ClipRequest("", url=tube.file_url("okfile"))).path == got.path
    assert tube.requests["okfile"] == 1


def test_a_download_cut_mid_way_resumes_with_range(tube: FakeTube, sources, tmp_path: Path) -> None:
    fetcher = ClipFetcher(tmp_path / "fetch" / NAME, opts())
    got = fetcher.get(ClipRequest("", url=tube.file_url("cutfile")))
    data = sources["cutfile"].read_bytes()
    assert got.path.read_bytes() == data  # byte-identical
    (first, r1), (second, r2) = tube.ranges
    assert first == second == "cutfile" and r1 is None
    assert r2 == f"bytes={int(len(data) * 0.4)}-"  # asked for the rest only
    e = entry_of(tmp_path / "fetch" / NAME, "cutfile")
    assert (e.status, e.method, e.attempts) == ("ok", "resumed", 2)
    assert not list((tmp_path / "fetch" / NAME / "partial").iterdir())  # the part became the file


def test_a_server_that_ignores_range_sends_the_file_again_from_0(tube: FakeTube, sources, tmp_path: Path) -> None:
    fetcher = ClipFetcher(tmp_path / "fetch" / NAME, opts())
    got = fetcher.get(ClipRequest("", url=tube.file_url("norange")))
    assert got.path.read_bytes() == sources["norange"].read_bytes()
    assert [r for _, r in tube.ranges][1].startswith("bytes=")  # it asked for the rest...
    assert tube.statuses == [("norange", 200), ("norange", 200)]  # ...and got the whole file
    assert entry_of(tmp_path / "fetch" / NAME, "norange").method == "full"


def test_404_is_permanent_and_named_and_a_rerun_does_not_ask_again(tube: FakeTube, tmp_path: Path) -> None:
    url = tube.file_url("gone")
    with pytest.raises(MediaError) as err:
        ClipFetcher(tmp_path / "fetch" / NAME, opts()).get(ClipRequest("", url=url))
    assert err.value.reason == "download failed: not found"
    assert url in str(err.value) and "404 Not Found" in str(err.value) and "left out" in str(err.value)
    assert tube.requests["gone"] == 1  # permanent: not retried in the run
    e = entry_of(tmp_path / "fetch" / NAME, "gone")
    assert (e.status, e.reason, e.transient, e.attempts) == ("failed", "not found", False, 1)
    with pytest.raises(MediaError, match="retry-failed"):
        ClipFetcher(tmp_path / "fetch" / NAME, opts()).get(ClipRequest("", url=url))
    assert tube.requests["gone"] == 1
    # --retry-failed asks once more.
    with pytest.raises(MediaError):
        ClipFetcher(tmp_path / "fetch" / NAME, opts(retry_failed=True)).get(ClipRequest("", url=url))
    assert tube.requests["gone"] == 2 and entry_of(tmp_path / "fetch" / NAME, "gone").attempts == 2


def test_503_then_success(tube: FakeTube, sources, tmp_path: Path) -> None:
    got = ClipFetcher(tmp_path / "fetch" / NAME, opts()).get(ClipRequest("", url=tube.file_url("busy")))
    assert got.path.read_bytes() == sources["busy"].read_bytes()
    assert [s for _, s in tube.statuses] == [503, 200]
    e = entry_of(tmp_path / "fetch" / NAME, "busy")
    assert (e.status, e.attempts) == ("ok", 2)


def test_transient_failures_stop_after_max_attempts(tube: FakeTube, tmp_path: Path) -> None:
    tube.behaviours["busy"] = Behaviour(status=503)
    with pytest.raises(MediaError) as err:
        ClipFetcher(tmp_path / "f", opts(max_attempts=2)).get(ClipRequest("", url=tube.file_url("busy")))
    assert err.value.reason == "download failed: server error" and "a later run tries again" in str(err.value)
    assert tube.requests["busy"] == 2


def test_offline_fetches_and_writes_nothing(tube: FakeTube, tmp_path: Path) -> None:
    folder = tmp_path / "fetch" / NAME
    with pytest.raises(MediaError) as err:
        ClipFetcher(folder, opts(offline=True)).get(ClipRequest("", url=tube.file_url("okfile")))
    assert err.value.reason == "missing video" and tube.file_url("okfile") in str(err.value)
    assert sum(tube.requests.values()) == 0
    assert not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]


def test_which_urls_are_fetched(tube: FakeTube, tmp_path: Path) -> None:
    local = tube.file_url("okfile")
    refused = {
        "http://example.org/v/a.mp4": "only https://",
        local: "local_http",  # this machine, but not asked for
        "ftp://example.org/a.mp4": "only https://",
        "https://user:pw@example.org/a.mp4": "credentials",
        "file:///etc/passwd": "only https://",
    }
    for url, why in refused.items():
        with pytest.raises(FileDownloadFailure, match=why) as err:
            safe_url(url, opts(local_http=False))
        assert err.value.reason == "unsupported url" and not err.value.transient
        assert "pw" not in err.value.detail
    # The fetcher refuses them before connecting, and records the failure as permanent.
    with pytest.raises(MediaError, match="unsupported url"):
        ClipFetcher(tmp_path / "f", opts(local_http=False)).get(ClipRequest("", url=local))
    assert sum(tube.requests.values()) == 0
    # A redirect to a URL that is not allowed is not followed.
    tube.behaviours["okfile"] = Behaviour(redirect="http://example.org/elsewhere.mp4")
    with pytest.raises(MediaError, match="only https://"):
        ClipFetcher(tmp_path / "g", opts()).get(ClipRequest("", url=local))
    assert tube.requests["okfile"] == 1


def test_url_segments_are_quoted_and_keys_are_file_names() -> None:
    o = opts()
    assert safe_url("https://h.org/a b/c%20d/x?y#z.mp4", o) == "https://h.org/a%20b/c%20d/x?y"
    assert safe_url("https://h.org/v/%C3%A9t%C3%A9/caf\u00e9 50%.mp4", o) == "https://h.org/v/%C3%A9t%C3%A9/caf%C3%A9%2050%25.mp4"
    for bad in ("https://h.org/v/../x.mp4", "https://h.org/v/%2e%2e/x.mp4", "https://h.org/v/a\nb.mp4"):
        with pytest.raises(FileDownloadFailure, match="not fetched"):
            safe_url(bad, o)
    assert url_key("https://h.org/videos/gBR_sBM_c01_d04_mBR0_ch01.mp4") == "gBR_sBM_c01_d04_mBR0_ch01"
    assert url_key("https://h.org/v/..%2F..%2Fetc%2Fpasswd") == "passwd"
    assert url_key("https://h.org/.hidden") == "%2Ehidden" and url_key("https://h.org/a%20b.mp4") == "a%20b"
    with pytest.raises(ValueError, match="exactly one"):
        RemoteCut("abcdefghijk", url="https://h.org/a.mp4")
    with pytest.raises(ValueError, match="no fetch range"):
        RemoteCut(url="https://h.org/a.mp4", fetch_start=1.0, fetch_end=2.0)


# -- a whole build whose records are URL cuts --------------------------------------------------
class UrlBuilder(SourceBuilder):
    """Plans ``files.csv`` (``url,start,end,split``): one URL cut per line (empty times: whole file)."""

    source = NAME
    config_name = NAME
    layout = "PATH/files.csv  (url,start,end,split)"
    fetches = True

    def plan(self) -> Plan:
        records = []
        with (self.data_dir / "files.csv").open(newline="") as f:
            for row in csv.DictReader(f):
                start = float(row["start"]) if row["start"] else None
                end = float(row["end"]) if row["end"] else None
                sid = f"{url_key(row['url'])}_{row['start'] or 'all'}"
                records.append(ClipRecord(
                    id=f"{NAME}/{sid}", source=NAME, source_id=sid, split=row["split"], label="salsa",
                    source_label="Salsa", family=self.taxonomy.map(NAME, "Salsa").family, group=url_key(row["url"]),
                    start_time=start, end_time=end, media=RemoteCut(url=row["url"], start=start, end=end)))
        return Plan(records, [])


SOURCE = Source(
    name=NAME, title="URL files", homepage="https://example.org/urlfiles", license="CC BY 4.0", license_id="cc-by-4.0",
    citation="Nobody. 2026.", has_pixels=True, configs=(Config(NAME, UrlBuilder),), dedup_priority=98,
    crosswalk={"version": "1", "labels": {"Salsa": {"label": "salsa", "match": "exact"}}},
)


@pytest.fixture
def url_source():
    registry.register(SOURCE)
    try:
        yield SOURCE
    finally:
        registry.unregister(NAME)


def test_a_build_of_url_cuts_fetches_once_cuts_and_reports(url_source, tube: FakeTube, tmp_path: Path) -> None:
    data = tmp_path / "raw"
    data.mkdir()
    with (data / "files.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["url", "start", "end", "split"])
        w.writerow([tube.file_url("okfile"), "", "", "train"])  # the whole file
        w.writerow([tube.file_url("okfile"), "1.0", "2.5", "train"])  # a range of the same file
        w.writerow([tube.file_url("gone"), "", "", "test"])
    out = tmp_path / "out"

    def build(**kw):
        settings = RunSettings(output=out, progress=False, part_size=8, runner=LocalRunner(1), fetch=opts(**kw))
        return build_config(UrlBuilder(data, taxonomy=registry.taxonomy()), settings)

    with pytest.raises(EmptyConfig) as caught:  # every clip missing offline: a failed config, no dataset
        build(offline=True)
    assert caught.value.accounting.excluded == {"missing video": 3} and sum(tube.requests.values()) == 0
    ledger_csv = out / "reports" / f"{NAME}.download_ledger.csv"
    assert not (out / ".work" / "fetch" / NAME / "ledger").exists()  # offline wrote no ledger line

    res = build()
    assert res.accounting.rows_written == 2 and res.accounting.excluded == {"download failed: not found": 1}
    assert tube.requests["okfile"] == 1 and tube.requests["gone"] == 1  # one download for both cuts
    rows = {r["key"]: r for r in read_rows(ledger_csv)}
    assert list(rows["okfile"])[:3] == ["key", "youtube_id", "url"]
    assert (rows["okfile"]["status"], rows["okfile"]["method"], rows["okfile"]["attempts"]) == ("ok", "full", "1")
    assert (rows["gone"]["status"], rows["gone"]["reason"], rows["gone"]["transient"]) == ("failed", "not found", "False")
    assert "404 Not Found" in rows["gone"]["detail"]
    table = read_config(out, NAME)["train"]
    by_start = {r["start_time"]: r for r in table.to_pylist()}
    n = int(SECONDS * SOURCE_FPS)
    whole = clip_frames(by_start[None]["video"]["bytes"])
    assert abs(len(whole) - n) <= 1 and by_start[None]["has_audio"]
    cut = clip_frames(by_start[1.0]["video"]["bytes"])
    assert abs(len(cut) - 1.5 * SOURCE_FPS) <= 1
    assert abs(source_frame_index(cut[0], FILES["okfile"], n) - math.ceil(1.0 * SOURCE_FPS)) <= 1

    tube.reset_counts()
    again = build()
    assert again.accounting.rows_written == 2 and sum(tube.requests.values()) == 0  # nothing fetched twice

    # A file added to the list, built offline: the report derives its 'missing' row (the same
    # reason name as the build's reports), and the ledger gets no line for it.
    with (data / "files.csv").open("a", newline="") as f:
        csv.writer(f, lineterminator="\n").writerow([tube.file_url("newfile"), "", "", "train"])
    later = build(offline=True)
    assert later.accounting.rows_written == 2 and sum(tube.requests.values()) == 0
    assert later.accounting.excluded == {"download failed: not found": 1, "missing video": 1}
    rows = {r["key"]: r for r in read_rows(ledger_csv)}
    assert (rows["newfile"]["status"], rows["newfile"]["reason"], rows["newfile"]["url"]) == (
        "missing", "missing video", tube.file_url("newfile"))
    assert Ledger(out / ".work" / "fetch" / NAME / "ledger").get("newfile") is None


def test_record_forms_and_unit_keys_are_what_they_were_before_urls() -> None:
    """``ClipRecord.to_dict`` (hashed into unit keys, so into part names a rerun looks for)
    is ``dataclasses.asdict`` as before, a YouTube plan without the new ``url`` member."""
    import dataclasses
    import json

    from dance_aggregate.records import FeatureShard, FrameRun, LocalCut

    plans = [
        RemoteCut("-5Yp-vToI2E", 1.0, 11.0, fetch_start=1.0, fetch_end=11.0),
        LocalCut("/m/a.mp4", 0.5, None),
        FrameRun("/f.zip", ((1, "a/1.jpg"), (2, "a/2.jpg")), 1, 3, (3,), 30.0),
        FeatureShard("/y/x.tfrecord", "x.tfrecord", {"vocab": [1, 2], "n": {"a": 1.5}}),
        None,
    ]
    for media in plans:
        record = ClipRecord("s/x", "s", "x", "train", "salsa", "Salsa", "latin", "g", youtube_id="-5Yp-vToI2E",
                            start_time=1.0, end_time=11.0, media=media, extra={"mean_rgb": [0.5, 1], "t": (1, 2)})
        old = dataclasses.asdict(record)
        if isinstance(media, RemoteCut):
            del old["media"]["url"]
        old["media_kind"] = type(media).__name__ if media is not None else None
        assert json.dumps(record.to_dict(), sort_keys=True, default=str) == json.dumps(old, sort_keys=True, default=str)
    with_url = ClipRecord("s/y", "s", "y", "train", "salsa", "Salsa", "latin", "g", media=RemoteCut(url="https://h/y.mp4"))
    assert with_url.to_dict()["media"]["url"] == "https://h/y.mp4"
