"""Parts in a work folder given as an fsspec URL: same output as the default local work folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

from dance_aggregate.errors import DanceAggregateError
from dance_aggregate.output import parts
from dance_aggregate.pipeline.runners import LocalRunner
from dance_aggregate.sample.makers import make_sample
from dance_aggregate.schema import arrow_schema
from tests.helpers_runners import build_sample, folder_snapshot


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def sample(cache_dir):
    return make_sample(cache_dir)


@pytest.fixture(scope="module")
def local_build(sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    build_sample(sample, out, part_size=3)
    return out


def test_join_and_manifest_for_paths_and_urls(tmp_path):
    assert parts.join("s3://bucket/run/", "parts", "x.parquet") == "s3://bucket/run/parts/x.parquet"
    assert parts.join(tmp_path, "parts") == str(tmp_path / "parts")
    assert parts.manifest_path("file:///w/parts/train-ab.parquet") == "file:///w/parts/train-ab.json"
    with pytest.raises(ValueError, match="ends in .parquet"):
        parts.manifest_path("/w/parts/train-ab.json")


def test_part_roundtrip_through_a_url(tmp_path):
    part = f"file://{tmp_path}/w/parts/cfg/train-0123.parquet"
    table = arrow_schema().empty_table()
    assert not parts.is_done(part)
    parts.write_part(table, part)
    assert not parts.is_done(part), "a part without its manifest is not done"
    parts.write_manifest(part, {"rows": 0, "exclusions": []})
    assert parts.is_done(part)
    assert parts.read_manifest(part) == {"rows": 0, "exclusions": []}
    assert parts.read_part(part, arrow_schema()).schema == table.schema
    # only the two files: the temporary names were renamed away
    assert sorted(p.name for p in (tmp_path / "w/parts/cfg").iterdir()) == ["train-0123.json", "train-0123.parquet"]


def test_object_store_style_filesystem(tmp_path):
    """memory:// has no rename: the part is written in one put."""
    part = "memory://dance-aggregate-test/parts/cfg/test-1.parquet"
    t = pa.table({"x": [1, 2]})
    parts.write_part(t, part)
    parts.write_manifest(part, {"rows": 2})
    assert parts.is_done(part)
    assert parts.read_part(part, t.schema).equals(t)


def test_build_with_memory_work_dir_matches_local(sample, local_build, tmp_path):
    out = tmp_path / "out"
    build_sample(sample, out, part_size=3, work_dir="memory://dance-aggregate-test/build1")
    assert not (out / ".work" / "parts").exists()
    assert folder_snapshot(out) == folder_snapshot(local_build)


@pytest.mark.slow
def test_build_with_file_url_across_processes_resumes(sample, local_build, tmp_path):
    out = tmp_path / "out"
    work = f"file://{tmp_path}/shared"
    build_sample(sample, out, part_size=3, work_dir=work, runner=LocalRunner(2))
    assert folder_snapshot(out) == folder_snapshot(local_build)
    written = sorted((tmp_path / "shared/parts/ucf101").glob("*.parquet"))
    assert written and all(p.with_suffix(".json").is_file() for p in written)
    mtimes = {p: p.stat().st_mtime_ns for p in written}
    # a rerun finds every part done and rewrites none
    build_sample(sample, out, part_size=3, work_dir=work)
    assert {p: p.stat().st_mtime_ns for p in written} == mtimes
    assert folder_snapshot(out) == folder_snapshot(local_build)


def test_ray_runner_says_how_to_install_ray(monkeypatch):
    from dance_aggregate.pipeline.ray_runner import RayRunner

    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    # the package is not on PyPI: the fix installs Ray itself (the [ray] extra's requirement)
    with pytest.raises(DanceAggregateError, match=r"pip install \"ray>=2.40,<3\""):
        list(RayRunner(1).run(len, [[1]]))


def test_cli_ray_address_needs_ray_runner(tmp_path):
    from click.testing import CliRunner

    from dance_aggregate.cli import cli

    res = CliRunner().invoke(
        cli, ["build", "--sample", "--cache-dir", str(tmp_path), "-O", str(tmp_path / "o"), "--ray-address", "auto"]
    )
    assert res.exit_code != 0
    assert "--ray-address needs --runner ray" in res.output


def test_local_path_work_dir_default(tmp_path: Path):
    from dance_aggregate.pipeline.config import RunSettings

    assert RunSettings(output=tmp_path).get_work_dir() == str(tmp_path / ".work")
    assert RunSettings(output=tmp_path, work_dir="s3://b/w").get_work_dir() == "s3://b/w"


def test_cli_unreachable_ray_address_fails_fast(sample, cache_dir, tmp_path):
    pytest.importorskip("ray", reason='Ray is not installed (pip install "dance-aggregate[ray]")')
    import socket

    from click.testing import CliRunner

    from dance_aggregate.cli import cli

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = CliRunner().invoke(
        cli,
        ["build", "--sample", "--cache-dir", str(cache_dir), "-O", str(tmp_path / "o"),
         "--runner", "ray", "--ray-address", f"127.0.0.1:{port}"],
    )
    assert res.exit_code != 0
    assert f"cannot connect to the Ray cluster at --ray-address 127.0.0.1:{port}" in res.output
    assert "ray start --head" in res.output
