"""Publishing respects each source's licence: a source whose media may not be redistributed
(the AIST Dance Video Database) is held back from the Hub copy, its config and its rows of
``all``; the dry run and the published card say so; what is published loads and streams;
``--include-restricted`` overrides it only when asked, with a warning naming the terms."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import dance_aggregate as da
from dance_aggregate.builders import registry
from dance_aggregate.cli import cli
from dance_aggregate.errors import ConfigError
from dance_aggregate.hub.publish import PublishOptions, publish
from dance_aggregate.hub.redistribution import HELD_BACK
from dance_aggregate.schema import source_names
from tests.hubserver import HubServer
from tests.test_publish import REPO, _load_in_subprocess, _options
from tests.test_publish import hub as hub  # noqa: F401 - the Hub stand-in fixture, shared

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
def folder(sample_build: Path, tmp_path: Path) -> Path:
    """A fresh copy of the sample build (it holds every source, AIST included)."""
    dst = tmp_path / "dance_aggregate"
    shutil.copytree(sample_build, dst, ignore=shutil.ignore_patterns(".work"))
    return dst


def _source_rows(path: Path, source: str) -> int:
    index = source_names().index(source)
    return sum(pq.read_table(p, columns=["source"]).column("source").to_pylist().count(index)
               for p in path.glob("*.parquet"))


def test_every_source_declares_whether_its_media_may_be_redistributed() -> None:
    flags = {s.name: s.redistributable for s in registry.sources()}
    assert flags["aist"] is False and all(v for k, v in flags.items() if k != "aist")
    aist = registry.source("aist")
    assert aist.terms_url and aist.terms_in_short


@pytest.mark.slow
def test_aist_is_held_back_and_the_rest_loads_as_before(folder: Path, hub: HubServer) -> None:
    local_all = sum(pq.read_metadata(p).num_rows for p in (folder / "data/all").glob("*.parquet"))
    held_all = _source_rows(folder / "data/all", "aist")
    assert held_all > 0 and (folder / "data/aist").is_dir()
    plan = da.publish(REPO, folder, dry_run=True, progress=False, allow_sample=True)
    text = plan.describe()
    assert "Held back (licence): aist" in text and registry.source("aist").terms_url in text
    assert not any(f.path.startswith("data/aist/") for f in plan.upload)
    assert not list((folder / ".work").glob("publish-*")), "the dry run's view of the folder is removed"

    publish(_options(folder, hub, allow_sample=True))
    files = hub.repo(REPO).files("main")
    assert not any(p.startswith(("data/aist/", "reports/aist.")) for p in files)
    published_all = [p for p in files if p.startswith("data/all/")]
    assert published_all
    card = files["README.md"].data.decode()
    assert "### Held back from this copy" in card and "--accept-terms aist" in card
    assert "dance-aggregate build aist --data-dir aist=/path/to/your/aist" in card
    assert "aist" not in [c["config_name"] for c in _configs(card)]
    report = json.loads(files["reports/all.json"].data.decode())
    acc = report["accounting"]
    assert acc["excluded"][HELD_BACK] == held_all
    assert acc["rows_written"] == local_all - held_all
    assert acc["records_read"] == acc["rows_written"] + sum(acc["excluded"].values())
    # The local folder is as the build left it (AIST rows and all), with no view left behind.
    assert sum(pq.read_metadata(p).num_rows for p in (folder / "data/all").glob("*.parquet")) == local_all
    assert not list((folder / ".work").glob("publish-*"))
    got = _load_in_subprocess(
        f"""
import json
from datasets import load_dataset
ds = load_dataset({REPO!r}, "all")
st = load_dataset({REPO!r}, "all", split="train", streaming=True).decode(False)
sources = ds["train"].features["source"].names
print(json.dumps({{"rows": sum(d.num_rows for d in ds.values()),
                   "aist": sum(r == sources.index("aist") for d in ds.values() for r in d["source"]),
                   "streamed": sum(1 for _ in st) == ds["train"].num_rows}}))
"""
    )
    assert got == {"rows": local_all - held_all, "aist": 0, "streamed": True}


@pytest.mark.slow
def test_include_restricted_publishes_it_with_a_warning(folder: Path, hub: HubServer, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="dance_aggregate"):
        publish(PublishOptions(repo_id=REPO, folder=folder, endpoint=hub.url, progress=False, include_restricted=("aist",),
                               allow_sample=True))
    files = hub.repo(REPO).files("main")
    assert any(p.startswith("data/aist/") for p in files)
    assert any("terms forbid redistribution" in r.getMessage() and registry.source("aist").terms_url in r.getMessage()
               for r in caplog.records)
    with pytest.raises(ConfigError, match="not a source whose media are held back"):
        da.publish(REPO, folder, dry_run=True, include_restricted=("ucf101",))


def test_cli_dry_run_names_what_is_held_back(folder: Path, hub: HubServer) -> None:
    res = CliRunner().invoke(cli, ["publish", "--repo-id", REPO, "--folder", str(folder), "--dry-run", "-q", "--allow-sample"])
    assert "Held back (licence): aist" in res.output, res.output


def test_a_sample_is_never_published_as_data(folder: Path, hub: HubServer) -> None:
    """The sample's clips are synthetic: its card says so first, publish refuses it, and with
    --allow-sample the published card says so at the top."""
    body = (folder / "README.md").read_text().split("\n# ", 1)[1].splitlines()[1:]
    assert next(line for line in body if line.strip()).startswith("> **This is the built-in sample")
    res = CliRunner().invoke(cli, ["publish", "--repo-id", REPO, "--folder", str(folder), "--dry-run", "-q"])
    assert res.exit_code == 1 and "the built-in sample" in res.output and "--allow-sample" in res.output
    with pytest.raises(da.DanceAggregateError, match="built-in sample"):
        publish(_options(folder, hub))
    assert ("dataset", REPO) not in hub.state.repos, "nothing is created or uploaded"
    plan = da.publish(REPO, folder, dry_run=True, progress=False, allow_sample=True)
    assert "published on purpose (`--allow-sample`)" in plan.card


def _configs(card: str) -> list[dict]:
    import yaml

    return yaml.safe_load(card.split("---", 2)[1])["configs"]
