"""The library entry point (``dance_aggregate.build``), the source registry and the
``datasets`` builder class, which goes through the same pipeline."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import dance_aggregate as da
from dance_aggregate.builders import registry
from dance_aggregate.builders.base import load_crosswalk
from dance_aggregate.errors import ConfigError, DanceAggregateError
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.schema import source_names


def test_registry_declares_every_source_once_in_classlabel_order() -> None:
    assert tuple(s.name for s in registry.sources()) == source_names()
    for src in registry.sources():
        assert src.title and src.homepage.startswith("http") and src.license and src.citation
        for cfg in src.configs:
            assert cfg.builder.source == src.name and cfg.builder.config_name == cfg.name
            assert registry.get_config(cfg.name) is cfg
        assert callable(src.make_sample)
        # Its package holds its builder, sample maker and crosswalk: one package per source.
        package = f"dance_aggregate.builders.{src.name}"
        assert src.make_sample.__module__.startswith(package + ".")
        assert all(c.builder.__module__.startswith(package + ".") for c in src.configs)
        assert src.crosswalk == load_crosswalk(package)
    assert set(registry.dedup_priority()) == set(source_names())
    assert registry.dedup_priority()[0] == "kinetics600"
    assert registry.dedup_priority().index("kinetics600") < registry.dedup_priority().index("kinetics700")
    # `all` holds the pixel sources' main configs: not YouTube-8M (features), not the motion config
    assert [c.name for c in registry.configs() if registry.in_all(c.name)] == [
        "ucf101", "activitynet", "kinetics600", "letsdance", "aist", "kinetics700"]
    assert registry.default_configs({"kinetics600"}) == ["kinetics600"]
    with pytest.raises(ConfigError, match="known configs: ucf101"):
        registry.get_config("ucf")


def test_sample_has_one_tree_per_registered_source(sample_sources) -> None:
    assert [registry.get_config(s.config).source for s in sample_sources] == list(source_names())


def test_request_refuses_unknown_names_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown config 'ucf'"):
        da.BuildRequest(configs=["ucf"], output=tmp_path)
    with pytest.raises(ConfigError, match="unknown config 'ucf'"):
        da.BuildRequest(options={"ucf": {"fold": "2"}}, output=tmp_path)
    with pytest.raises(ConfigError, match="unknown source 'kinetics'"):
        da.BuildRequest(data_dirs={"kinetics": tmp_path}, output=tmp_path)
    with pytest.raises(ConfigError, match="'all' is not built on its own"):
        da.BuildRequest(configs=["all"], output=tmp_path)
    with pytest.raises(DanceAggregateError, match="nothing to build"):
        da.build(output=tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


def test_build_returns_the_accounting_it_wrote(ucf_sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "dance_aggregate"
    result = da.build(da.BuildRequest(configs=["ucf101"], data_dirs={"ucf101": ucf_sample}, output=out, progress=False))
    assert result.ok and [r.config for r in result.configs] == ["ucf101"]
    acc = result.accounting()
    assert set(acc) == {"ucf101", "all"} and acc["ucf101"].adds_up
    report = json.loads((out / "reports" / "ucf101.json").read_text())
    assert report["accounting"]["rows_written"] == acc["ucf101"].rows_written
    written = sum(pq.read_metadata(out / p).num_rows for paths in result.configs[0].shards.values() for p in paths)
    assert written == acc["ucf101"].rows_written > 0
    # the rows are the dance clips of the generated split lists: SalsaSpin only
    lists = (ucf_sample / "ucfTrainTestlist").glob("*list01.txt")
    salsa = {line.split()[0] for f in lists for line in f.read_text().splitlines() if line.startswith("SalsaSpin/")}
    assert written == len(salsa)
    assert result.to_dict()["accounting"]["ucf101"]["rows_written"] == written


def test_one_failing_config_does_not_stop_the_others(ucf_sample: Path, tmp_path: Path) -> None:
    broken = tmp_path / "k600"
    broken.mkdir()
    (broken / "train.csv").write_text("not,a,kinetics,header\n1,2,3,4\n", encoding="utf-8")
    out = tmp_path / "dance_aggregate"
    result = da.build(
        configs=["kinetics600", "ucf101"], data_dirs={"kinetics600": broken, "ucf101": ucf_sample}, output=out, progress=False
    )
    assert not result.ok
    assert [f.config for f in result.failures] == ["kinetics600"] and "train.csv" in result.failures[0].error
    assert [r.config for r in result.configs] == ["ucf101"]
    assert (out / "data" / "ucf101").is_dir() and not (out / "data" / "kinetics600").exists()


def test_builder_writes_no_report_the_pipeline_writes_the_ledger(sample_sources, tmp_path: Path) -> None:
    """Builders only parse and plan; the download ledger report comes from the pipeline."""
    src = next(s for s in sample_sources if s.config == "kinetics600")
    cls = registry.get_config("kinetics600").builder
    out = tmp_path / "dance_aggregate"
    builder = cls(src.data_dir)
    plan = builder.plan()
    assert not hasattr(builder, "finish") and not (out / "reports").exists()
    first = [r.to_dict() for r in plan.records]
    assert [r.to_dict() for r in builder.plan().records] == first  # planning twice is the same
    result = da.build(configs=["kinetics600"], data_dirs={"kinetics600": src.data_dir}, options={"kinetics600": src.options},
                      output=out, progress=False, fetch=FetchOptions(offline=True))
    # Offline with no mirror, every clip is missing: the config fails (no dataset of 0 rows),
    # and the ledger still says what was asked for and why it is missing.
    (failure,) = result.failures
    assert failure.accounting is not None and failure.accounting.rows_written == 0
    ledger = out / "reports" / "kinetics600.download_ledger.csv"
    with ledger.open(newline="") as f:
        rows = list(csv.DictReader(f))
    # every clip of the plan is not in a mirror (no --video-dir): one ledger row per clip, all missing offline
    assert len(rows) == len(plan.records) > 0 and {r["status"] for r in rows} == {"missing"}


def test_hf_builder_builds_a_youtube_backed_config_from_a_mirror(sample_sources, tmp_path: Path) -> None:
    src = next(s for s in sample_sources if s.config == "kinetics600")
    assert src.video_dir is not None
    b = da.DanceAggregate(
        config_name="kinetics600",
        data_dir=str(src.data_dir),
        video_dir=str(src.video_dir),
        offline=True,
        cache_dir=str(tmp_path / "cache"),
        dataset_name="dance_aggregate",
    )
    b.download_and_prepare()
    ds = b.as_dataset()
    # the same rows as the pipeline's own folder, which the builder kept with its reports
    folder = b.pipeline_folder()
    report = json.loads((folder / "reports" / "kinetics600.json").read_text())
    by_split = report["accounting"]["rows_by_split"]
    assert by_split and {s: ds[s].num_rows for s in ds} == by_split
    row = ds["train"].with_format("arrow")[0]
    assert row.column("source_id")[0].as_py() and row.column("video")[0].as_py()["path"].endswith(".mp4")


def test_hf_builder_all_needs_the_sources_data_dirs(tmp_path: Path) -> None:
    b = da.DanceAggregate(config_name="all", cache_dir=str(tmp_path / "c"), dataset_name="dance_aggregate")
    with pytest.raises(ConfigError, match="data_dirs"):
        b.download_and_prepare()
