"""AIST videos listed but missing from the copy: downloaded as plain files only once the user
accepts AIST's terms, from a server on 127.0.0.1 standing in for AIST's; a server that is gone
costs only the missing videos, named by URL, and the copy still builds."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

import dance_aggregate as da
from dance_aggregate.builders.aist.sample import make_sample
from dance_aggregate.errors import ConfigError
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.files.csvfiles import read_rows
from tests.helpers_fetch import FakeTube, make_source

#: The sample copy lists this video but does not hold it.
MISSING = "gPO_sBM_c04_d10_mPO0_ch09"
ROW_ID = f"aist/{MISSING}"


@pytest.fixture
def tube(tmp_path_factory: pytest.TempPathFactory):
    t = FakeTube().start()
    t.add_file(MISSING, make_source(tmp_path_factory.mktemp("aist-server") / "v.mp4", 31, seconds=2.0))
    yield t
    t.stop()


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return make_sample(tmp_path / "raw").data_dir


def template(tube: FakeTube) -> str:
    host, port = tube.server.server_address[:2]
    return f"http://{host}:{port}/v/{{name}}"


def fetch(**kw) -> FetchOptions:
    return FetchOptions(local_http=True, backoff_base=0.01, backoff_max=0.02, max_attempts=2, socket_timeout=10, **kw)


def build(copy: Path, out: Path, url: str, accept: bool, **kw) -> da.BuildResult:
    return da.build(configs=["aist"], data_dirs={"aist": copy}, output=out, progress=False,
                    options={"aist": {"url_template": url}}, accept_terms=["aist"] if accept else [], **kw)


def ids(out: Path) -> set[str]:
    return {i for p in (out / "data" / "aist").glob("*.parquet") for i in pq.read_table(p, columns=["id"]).column(0).to_pylist()}


def excluded(out: Path) -> dict[str, dict[str, str]]:
    return {r["id"]: r for r in read_rows(out / "reports" / "aist.excluded.csv")}


def test_nothing_is_downloaded_without_the_terms_accepted(copy: Path, tube: FakeTube, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = build(copy, out, template(tube), accept=False, fetch=fetch())
    assert res.ok, res.failures
    assert sum(tube.requests.values()) == 0 and ROW_ID not in ids(out)
    row = excluded(out)[ROW_ID]
    assert row["reason"] == "missing video"
    assert "--accept-terms aist" in row["detail"] and "terms_of_use" in row["detail"]


def test_accepted_terms_download_the_missing_video_once(copy: Path, tube: FakeTube, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = build(copy, out, template(tube), accept=True, fetch=fetch())
    assert first.ok, first.failures
    assert ROW_ID in ids(out) and tube.requests[MISSING] == 1
    ledger = {r["key"]: r for r in read_rows(out / "reports" / "aist.download_ledger.csv")}
    assert ledger[MISSING]["status"] == "ok" and ledger[MISSING]["url"] == tube.file_url(MISSING)
    copies = ids(out) - {ROW_ID}
    assert copies, "the videos of the copy are rows too"
    # A rerun reads the cache: nothing is fetched again.
    tube.reset_counts()
    again = build(copy, out, template(tube), accept=True, fetch=fetch())
    assert again.ok and sum(tube.requests.values()) == 0 and ids(out) == copies | {ROW_ID}


def test_a_server_that_is_gone_costs_only_the_missing_video(copy: Path, tube: FakeTube, tmp_path: Path) -> None:
    host, port = tube.server.server_address[:2]
    gone = f"http://{host}:{port}/moved/{{name}}"  # every URL answers 404
    out = tmp_path / "out"
    res = build(copy, out, gone, accept=True, fetch=fetch())
    assert res.ok, res.failures
    assert ROW_ID not in ids(out) and ids(out), "the copy still builds"
    row = excluded(out)[ROW_ID]
    assert row["reason"] == "download failed: not found"
    assert f"http://{host}:{port}/moved/{MISSING}.mp4" in row["detail"]


def test_only_https_reaches_the_network(copy: Path, tube: FakeTube, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"url_template must be an https:// URL"):
        build(copy, tmp_path / "a", "http://example.com/{name}", accept=True, fetch=fetch())
    # http:// to this machine only when the fetch options allow it (tests, a local mirror).
    out = tmp_path / "b"
    res = build(copy, out, template(tube), accept=True,
                fetch=FetchOptions(backoff_base=0.01, backoff_max=0.02, max_attempts=1))
    assert res.ok and ROW_ID not in ids(out) and sum(tube.requests.values()) == 0
    assert excluded(out)[ROW_ID]["reason"] == "download failed: unsupported url"
