"""Every field of a :class:`BuildRequest` is checked when the request is made: a wrong type or
a value out of range is a ``ConfigError`` that names the field, shows the value, says what
is expected and gives a fix that passes; ``build(**fields)`` refuses a name that is not a
field; local paths are made absolute, so a runner working from another folder (a Ray node
whose ``ray start`` ran elsewhere) reads and writes the same files."""

from __future__ import annotations

import ast
import dataclasses
import math
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import dance_aggregate as da
from dance_aggregate.cli import cli
from dance_aggregate.errors import ConfigError
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.pipeline.request import BuildRequest
from tests.helpers_runners import ElsewhereRunner

NAN, INF = float("nan"), float("inf")

# (field, a refused value, text the message must hold besides the field's name)
BAD: list[tuple[str, object, str]] = [
    ("configs", 5, "list of config names"),
    ("configs", {"ucf101": True}, "list of config names"),
    ("configs", [1], "is not a config name"),
    ("configs", b"ucf101", "list of config names"),
    ("configs", "ucf101,kinetics600", "Fix: configs=['ucf101', 'kinetics600']"),
    ("data_dirs", ["/data/UCF101"], "mapping of source name to path"),
    ("data_dirs", ["ucf101=/data/UCF101"], "Fix: data_dirs={'ucf101': '/data/UCF101'}"),
    ("data_dirs", {"ucf101": 5}, "must be a path"),
    ("data_dirs", {"ucf101": ""}, "must be a path"),
    ("data_dirs", {5: "/data"}, "is not a source name"),
    ("video_dirs", "/videos", "mapping of source name to path"),
    ("video_dirs", {"kinetics600": None}, "must be a path"),
    ("options", "ucf101.fold=2", "mapping of config"),
    ("options", {"ucf101": "fold=2"}, "Fix: options={'ucf101': {'fold': '2'}}"),
    ("options", {"ucf101.fold": "2"}, "Fix: options={'ucf101': {'fold': '2'}}"),
    ("options", {"ucf101": {"fold": [2]}}, "text, a number or a bool"),
    ("options", {"ucf101": {"fold": "4"}}, "-o ucf101.fold must be 1, 2 or 3"),
    ("options", {"ucf101": {"fold": 2.5}}, "-o ucf101.fold must be 1, 2 or 3"),
    ("options", {"activitynet": {"max_window": 1e-9}}, "-o activitynet.max_window must be a finite number from 0.5"),
    ("output", None, "must be a path"),
    ("output", "", "must be a path"),
    ("output", 5, "must be a path"),
    ("output", "out\x00put", "must be a path"),
    ("sample", "yes", "true or false"),
    ("sample", 1, "true or false"),
    ("cache_dir", 5, "must be a path"),
    ("cache_dir", "", "must be a path"),
    ("workers", "2", "whole number from 1 to 1024"),
    ("workers", 0, "whole number from 1 to 1024"),
    ("workers", 2.0, "whole number"),
    ("workers", True, "whole number"),
    ("workers", 10**6, "whole number from 1 to 1024"),
    ("part_size", 0, "whole number from 1 to 10000"),
    ("part_size", 1.5, "whole number"),
    ("part_size", 10**9, "whole number from 1 to 10000"),
    ("runner", "slurm", "unknown runner 'slurm'"),
    ("runner", 5, "runner object"),
    ("runner", object(), "runner object"),
    ("ray_address", 6379, "text, or None"),
    ("work_dir", 5, "must be a path"),
    ("work_dir", "", "must be a path"),
    ("max_short_side", 2, "0 (keep the source size) or a whole number from 16 to 8192"),
    ("max_short_side", -1, "from 16 to 8192"),
    ("max_short_side", 10**6, "from 16 to 8192"),
    ("max_short_side", 360.0, "whole number"),
    ("max_short_side", "360", "whole number"),
    ("shards", 2.5, "whole number from 1 to 3000"),
    ("shards", 0, "whole number from 1 to 3000"),
    ("shards", "2", "whole number"),
    ("shards", NAN, "whole number"),
    ("shards", 10**6, "whole number from 1 to 3000"),
    ("fetch", "offline", "must be a FetchOptions"),
    ("fetch", {"offline": "yes"}, "true or false"),
    ("fetch", {"ofline": True}, "unknown field 'ofline'"),
    ("progress", "no", "true or false"),
    ("failure_min_records", 0, "whole number from 1"),
    ("failure_min_records", 2.5, "whole number"),
    ("max_failure_share", 0, "> 0 and <= 1"),
    ("max_failure_share", 1.5, "> 0 and <= 1"),
    ("max_failure_share", NAN, "> 0 and <= 1"),
    ("max_failure_share", INF, "> 0 and <= 1"),
    ("max_failure_share", "0.5", "finite number"),
    ("pretraining_ids", ["k400=ids.csv"], "Fix: pretraining_ids={'k400': 'ids.csv'}"),
    ("pretraining_ids", {"k400": 5}, "must be a path"),
    ("pretraining_to_train", "true", "true or false"),
    ("accept_terms", ["nosuchsource"], "unknown source"),
    ("accept_terms", ["ucf101"], "has no terms of use to accept"),
    ("accept_terms", [5], "source names"),
    ("resplit", "0.1", "two fractions"),
    ("resplit", "0.6,0.6", "leaves nothing for train"),
    ("resplit", (0.1, NAN), "[0, 1)"),
    ("seed", 1.5, "whole number"),
]
#: Fields whose value does not reach the message as the Python value (shown otherwise).
_NOT_SHOWN = {"fetch"}


def test_the_table_covers_every_field() -> None:
    assert {f for f, _, _ in BAD} == {f.name for f in dataclasses.fields(BuildRequest)}


@pytest.mark.parametrize(("field", "value", "expected"), BAD, ids=[f"{f}={v!r}"[:40] for f, v, _ in BAD])
def test_a_wrong_value_names_the_field_the_value_and_the_fix(tmp_path: Path, field: str, value: object,
                                                             expected: str) -> None:
    kwargs = {"output": tmp_path / "out", field: value}
    with pytest.raises(ConfigError) as info:
        BuildRequest(**kwargs)
    message = str(info.value)
    assert expected in message
    assert field in message or field == "options" and "-o " in message or field == "fetch"
    assert "Fix" in message
    if field not in _NOT_SHOWN and isinstance(value, (int, float, str)) and not isinstance(value, bool) \
            and not (isinstance(value, float) and math.isnan(value)) and "\x00" not in str(value):
        assert repr(value) in message or str(value) in message
    # the library call refuses it the same way, before any work
    with pytest.raises(ConfigError):
        da.build(**kwargs)
    assert not (tmp_path / "out").exists()


SCALAR_FIXES = [(f, v) for f, v, _ in BAD if f in {"workers", "part_size", "max_short_side", "shards", "sample", "progress",
                                                     "failure_min_records", "max_failure_share", "pretraining_to_train"}]


@pytest.mark.parametrize(("field", "value"), SCALAR_FIXES, ids=[f"{f}={v!r}"[:40] for f, v in SCALAR_FIXES])
def test_the_fix_of_a_number_or_flag_passes(tmp_path: Path, field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        BuildRequest(output=tmp_path, **{field: value})
    fix = re.search(rf"Fix: {field}=(.+?)(?: \(on the command line|$)", str(info.value))
    assert fix, str(info.value)
    good = ast.literal_eval(fix.group(1))
    assert getattr(BuildRequest(output=tmp_path, **{field: good}), field) == good


def test_build_refuses_an_unknown_field_naming_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown field 'shard'; did you mean 'shards'\? The fields of a BuildRequest"):
        da.build(shard=2, output=tmp_path / "o")
    with pytest.raises(ConfigError, match="unknown field 'data_dir'; did you mean 'data_dirs'"):
        da.build(da.BuildRequest(output=tmp_path / "o"), data_dir="/x")
    with pytest.raises(ConfigError, match="takes a BuildRequest"):
        da.build({"configs": ["ucf101"]})  # type: ignore[arg-type]
    assert not (tmp_path / "o").exists()


def test_friendly_forms_are_accepted(tmp_path: Path) -> None:
    req = BuildRequest(configs="ucf101", output=tmp_path, options={"ucf101": {"fold": 2}},
                       fetch={"offline": True}, workers=2, max_failure_share=1)
    assert req.configs == ("ucf101",)  # one name as text is one config
    assert req.options == {"ucf101": {"fold": 2}}
    assert req.fetch == FetchOptions(offline=True)
    assert req.max_failure_share == 1.0 and isinstance(req.max_failure_share, float)
    assert BuildRequest(configs=["ucf101", "ucf101"], output=tmp_path).configs == ("ucf101",)


def test_every_path_of_a_request_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "ids.txt").write_text("-5Yp-vToI2E\n")
    req = BuildRequest(
        configs=["letsdance"], output="out", cache_dir="cache", work_dir="work",
        data_dirs={"ucf101": "raw/../ucf", "letsdance": Path("ld")}, video_dirs={"kinetics600": "~/mirror"},
        pretraining_ids={"k400": "ids.txt"}, options={"letsdance": {"splits": "lists"}},
        fetch=FetchOptions(offline=True, cookies="cookies.txt"),
    )
    assert req.output == tmp_path / "out" and req.cache_dir == tmp_path / "cache"
    assert req.work_dir == str(tmp_path / "work")
    assert req.data_dirs == {"ucf101": str(tmp_path / "ucf"), "letsdance": str(tmp_path / "ld")}
    assert req.video_dirs == {"kinetics600": str(tmp_path / "home" / "mirror")}
    assert req.pretraining_ids == {"k400": str(tmp_path / "ids.txt")}
    assert req.options == {"letsdance": {"splits": str(tmp_path / "lists")}}
    assert req.fetch.cookies == str(tmp_path / "cookies.txt")
    # a URL is where every worker reaches it already
    assert BuildRequest(output="out", work_dir="s3://bucket/run1").work_dir == "s3://bucket/run1"
    # made once: the build's own copies of the request (dataclasses.replace) made in
    # another folder keep them
    monkeypatch.chdir("/")
    again = dataclasses.replace(req)
    assert (again.output, again.data_dirs, again.options, again.work_dir) == (req.output, req.data_dirs, req.options, req.work_dir)


def test_units_running_from_another_folder_see_the_same_files(tmp_path: Path, ucf_sample: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A build asked with relative paths, whose units run from another current folder (as
    on a Ray node started elsewhere), stores every clip: none is 'unreadable media'."""
    shutil.copytree(ucf_sample, tmp_path / "raw" / "ucf101")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    result = da.build(configs=["ucf101"], data_dirs={"ucf101": "raw/ucf101"}, output="out", progress=False,
                      max_short_side=64, runner=ElsewhereRunner(tmp_path / "elsewhere"))
    assert result.ok, result.failures
    acc = result.accounting()["ucf101"]
    assert acc.rows_written > 0 and acc.adds_up
    assert "unreadable media" not in (acc.excluded or {}), acc.excluded
    assert result.output == tmp_path / "out" and (tmp_path / "out" / "data" / "ucf101").is_dir()
    assert not (tmp_path / "elsewhere" / "out").exists()


@pytest.mark.parametrize("args", [
    ["-o", "letsdance.max_short_side=2"],
    ["-o", "activitynet.max_window=1e-9"],
    ["-o", "activitynet.max_windows_per_segment=100000"],
    ["-o", "ucf101.fold=nan"],
    ["-o", "youtube8m.frame_features=maybe"],
    ["--workers", "5000"],
    ["--shards", "1000000"],
    ["--max-short-side", "8"],
])
def test_the_cli_prints_one_clean_line(tmp_path: Path, args: list[str]) -> None:
    res = CliRunner().invoke(cli, ["build", "ucf101", "--data-dir", f"ucf101={tmp_path}", "-O", str(tmp_path / "o"), *args])
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Fix:" in lines[0], res.output
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    assert not (tmp_path / "o").exists()
