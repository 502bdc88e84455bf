"""What a newcomer copies from the docs and examples works as written: the torch install
gives the CPU build, streamed rows read without torchcodec, datasets are named by path or
repo id (never by a bare name that turns into a Hub lookup), ``examples/train_stream.py``
refuses what it cannot use with a usage line, and ``DanceAggregate`` never leaves a source
out silently."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dance_aggregate.errors import ConfigError, DanceAggregateError
from dance_aggregate.pipeline.hf_builder import DanceAggregateConfig
from dance_aggregate.training import DatasetLocationError, dataset_location, stream
from tests.docs_snippets import parse
from tests.helpers_sample import MISSING, expected_kinetics600

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "--index-url https://download.pytorch.org/whl/cpu"
#: Every text a reader copies commands or code from.
DOCS = [
    ROOT / "README.md",
    *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "example_card.md"),  # generated: see the template
    ROOT / "src/dance_aggregate/hub/card_template.md",
]
TEXTS = [*DOCS, *sorted((ROOT / "examples").glob("*.py"))]


def _statements(code: str) -> list[str]:
    """The code's statements, a call spread over several lines joined into one."""
    out, current, depth = [], [], 0
    for line in code.splitlines():
        current.append(line.split("#", 1)[0])
        depth += line.count("(") - line.count(")")
        if depth <= 0:
            out.append(" ".join(current))
            current, depth = [], 0
    return out


# -- install lines -----------------------------------------------------------------------------


def test_torch_installs_name_the_cpu_index() -> None:
    """A plain ``pip install torch==...`` pulls PyPI's CUDA build (gigabytes); every install
    line of torch names PyTorch's CPU index, and the ``[torch]`` extra follows such a line."""
    problems = []
    for path in TEXTS:
        lines = path.read_text(encoding="utf-8").splitlines()
        cpu_before = False
        for n, line in enumerate(lines, 1):
            if "pip install" not in line:
                continue
            where = f"{path.relative_to(ROOT)}:{n}"
            if re.search(r"\btorch==", line):
                if CPU_INDEX not in line:
                    problems.append(f"{where}: installs torch without {CPU_INDEX}: {line.strip()}")
                cpu_before = True
            elif "[torch]" in line and not cpu_before:
                problems.append(f"{where}: the [torch] extra without installing the CPU torch first: {line.strip()}")
    assert not problems, "\n".join(problems)


# -- loading lines -----------------------------------------------------------------------------


def test_streamed_examples_read_without_torchcodec() -> None:
    """Iterating a stream decodes its media with torchcodec unless ``.decode(False)``: every
    streaming load outside a torch-marked block keeps the bytes."""
    problems = []
    for path in DOCS:
        for snippet in parse(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))):
            if snippet.lang != "python" or snippet.mark == "torch":
                continue
            for statement in _statements(snippet.code):
                if "load_dataset(" in statement and "streaming=True" in statement and ".decode(False)" not in statement:
                    problems.append(f"{snippet.where}: {statement.strip()}")
    assert not problems, "streaming loads that need torchcodec to iterate:\n" + "\n".join(problems)


_BARE = re.compile(r"""(load_dataset|stream)\(\s*["']dance_aggregate["']|--data\s+dance_aggregate\b""")


def test_docs_name_the_dataset_by_path_or_repo_id() -> None:
    """``"dance_aggregate"`` is the folder only from its parent directory, and a Hub lookup
    (retries, then a failure or a stale cached copy) anywhere else."""
    problems = []
    for path in TEXTS:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _BARE.search(line):
                problems.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not problems, "loads by a bare name:\n" + "\n".join(problems)


# -- dataset_location --------------------------------------------------------------------------


def test_dataset_location_tells_folders_repo_ids_and_bare_names_apart(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "dance_aggregate").mkdir()
    (tmp_path / "exports").mkdir()
    monkeypatch.chdir(tmp_path)
    assert dataset_location("dance_aggregate") == str(tmp_path / "dance_aggregate")  # a folder here: its path
    assert dataset_location("./dance_aggregate") == str(tmp_path / "dance_aggregate")
    assert dataset_location(tmp_path / "dance_aggregate") == str(tmp_path / "dance_aggregate")
    assert dataset_location("my-user/dance_aggregate") == "my-user/dance_aggregate"
    with pytest.raises(DatasetLocationError, match="not a folder of the current directory") as bare:
        dataset_location("dance_agregate")
    assert "Hub" in str(bare.value) and str(tmp_path / "dance_agregate") in str(bare.value)
    for path_like in ("./missing", "/nowhere/dance_aggregate", "exports/dance_aggregate", tmp_path / "missing"):
        with pytest.raises(DatasetLocationError, match="no dataset folder at"):
            dataset_location(path_like)  # a path (exports/ is a folder here), not a repo id


def test_stream_refuses_a_bare_name_before_any_lookup(tmp_path: Path, monkeypatch) -> None:
    """No Hub request is made: the refusal comes first (``HF_HUB_OFFLINE`` unset, and the
    Hub endpoint a closed port, so a lookup would be an error of another kind)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(DatasetLocationError, match="bare name"):
        stream("dance_aggregate", "ucf101")


# -- examples/train_stream.py ------------------------------------------------------------------


def _train_stream(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
               HF_ENDPOINT="http://127.0.0.1:9")
    env.pop("HF_HUB_OFFLINE", None)
    cmd = [sys.executable, str(ROOT / "examples" / "train_stream.py"), *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_train_stream_refuses_a_bare_name(tmp_path: Path) -> None:
    proc = _train_stream(tmp_path, "--data", "dance_aggregate", "--steps", "1")
    assert proc.returncode == 2, proc.stderr
    assert "--data: 'dance_aggregate' is not a folder of the current directory" in proc.stderr
    assert f"e.g. {tmp_path / 'dance_aggregate'}" in proc.stderr and "my-user/dance_aggregate" in proc.stderr
    assert "Traceback" not in proc.stderr and "Retrying" not in proc.stderr, "refused before any Hub request"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--config", "kinetics60"], "--config: unknown config 'kinetics60' (did you mean 'kinetics600'?)"),
        (["--config", "salsa"], "--config: unknown config 'salsa'; the configs are: ucf101, "),
        (["--frames", "0"], "argument --frames: expected an integer >= 1, got 0"),
        (["--batch-size", "four"], "argument --batch-size: expected an integer, got 'four'"),
        (["--data", "./missing"], "--data: no dataset folder at"),
    ],
)
def test_train_stream_usage_errors_are_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    (tmp_path / "dance_aggregate").mkdir()
    proc = _train_stream(tmp_path, "--data", "./dance_aggregate", *args)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("usage: train_stream.py")


def test_train_stream_on_a_folder_that_is_no_dataset(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = _train_stream(tmp_path, "--data", "empty", "--config", "all")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "has no configs" in proc.stderr and "dance-aggregate build --sample --output" in proc.stderr


# -- DanceAggregate: nothing left out silently -------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"name": "all", "data_dirs": {"ucf101": "/d/u", "youtube8m": "/d/y"}}, "all: youtube8m would be left out"),
        ({"name": "all", "data_dirs": {"ucf101": "/d/u"}, "video_dirs": {"kinetics600": "/d/k"}},
         "video_dirs names kinetics600, which data_dirs lacks"),
        ({"name": "all", "data_dirs": {"ucf101": "/d/u"}, "data_dir": "/d/k"}, "all: data_dir='/d/k' would be ignored"),
        ({"name": "all", "data_dirs": {"ucf101": "/d/u"}, "options": {"fold": "2"}}, "options={'fold': '2'} would be ignored"),
        ({"name": "all", "data_dirs": {"ucf": "/d/u"}}, "unknown source 'ucf'"),
        ({"name": "ucf101", "data_dir": "/d/u", "data_dirs": {"kinetics600": "/d/k"}}, "are for config_name='all'"),
    ],
)
def test_arguments_a_config_would_ignore_are_errors(tmp_path: Path, kwargs: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        DanceAggregateConfig(**kwargs).request(tmp_path / "out")
    assert expected in str(err.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_all_without_a_sources_videos_is_an_error_and_a_partial_loss_a_warning(
    sample_sources, tmp_path: Path, caplog
) -> None:
    """The README's example offline: without the Kinetics mirror every Kinetics clip lacks
    its video, and `all` would be UCF101 alone; with the mirror, the one clip the sample
    mirror lacks is a warning with the count."""
    from dance_aggregate import DanceAggregate

    src = {s.config: s for s in sample_sources}
    dirs = {"ucf101": str(src["ucf101"].data_dir), "kinetics600": str(src["kinetics600"].data_dir)}
    b = DanceAggregate(config_name="all", data_dirs=dirs, offline=True, cache_dir=str(tmp_path / "c"),
                       dataset_name="dance_aggregate", output=str(tmp_path / "no-mirror"))
    with pytest.raises(DanceAggregateError) as err:
        b.download_and_prepare()
    message = str(err.value)  # the source, how many clips and why (a build that fails an empty config says it first)
    none = expected_kinetics600(src["kinetics600"].data_dir, None).excluded[MISSING]  # every clip the plan keeps
    assert "kinetics600" in message and re.search(rf"\b{none}\b.*missing video|missing video: {none}", message), message
    b = DanceAggregate(config_name="all", data_dirs=dirs, video_dirs={"kinetics600": str(src["kinetics600"].video_dir)},
                       offline=True, cache_dir=str(tmp_path / "c"), dataset_name="dance_aggregate",
                       output=str(tmp_path / "mirror"))
    with caplog.at_level(logging.WARNING, logger="dance_aggregate.pipeline.hf_builder"):
        b.download_and_prepare()
    lost = [r.getMessage() for r in caplog.records if r.name == "dance_aggregate.pipeline.hf_builder"]
    exp = expected_kinetics600(src["kinetics600"].data_dir, src["kinetics600"].video_dir)
    gone = exp.excluded[MISSING]
    assert 0 < gone < exp.planned == none  # the sample mirror lacks some clips, not all
    assert len(lost) == 1, lost
    assert f"all: {gone} of {exp.planned} kinetics600 clips have no video (missing video: {gone}) and are left out" in lost[0]
    sources = b.as_dataset()["train"].features["source"]
    assert {sources.int2str(v) for v in b.as_dataset()["train"]["source"]} >= {"ucf101", "kinetics600"}


def test_check_videos_found_names_the_source_and_the_fix(tmp_path: Path) -> None:
    """The message of a source of `all` that gave no row (without a mirror, offline)."""
    from dance_aggregate.fetch.options import FetchOptions
    from dance_aggregate.output.reports import Accounting
    from dance_aggregate.pipeline.config import ConfigResult
    from dance_aggregate.pipeline.hf_builder import check_videos_found
    from dance_aggregate.pipeline.request import BuildRequest, BuildResult

    request = BuildRequest(configs=["ucf101", "kinetics600"], data_dirs={"ucf101": "/d/u", "kinetics600": "/d/k"},
                           output=tmp_path, fetch=FetchOptions(offline=True))
    kinetics = Accounting("kinetics600", records_read=6, excluded={"missing video": 4, "not a dance class": 2})
    ucf = Accounting("ucf101", records_read=5, rows_written=5, rows_by_split={"train": 5})
    result = BuildResult(output=tmp_path, configs=[ConfigResult("ucf101", ucf, {}, 0.0),
                                                   ConfigResult("kinetics600", kinetics, {}, 0.0)])
    with pytest.raises(DanceAggregateError) as err:
        check_videos_found(result, request, "all")
    assert str(err.value) == (
        "all: it would hold no row of kinetics600: 4 of 4 kinetics600 clips have no video (missing video: 4): put "
        "them in video_dirs['kinetics600'] (offline, nothing is downloaded). Or build it without kinetics600 (leave it "
        "out of data_dirs)"
    )
    kinetics.rows_written, kinetics.rows_by_split = 1, {"train": 1}
    check_videos_found(result, request, "all")  # a partial loss is a warning (the slow test above sees it)
