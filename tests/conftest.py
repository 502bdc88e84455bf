"""Shared fixtures: isolated caches, the generated UCF101 sample and a built folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def pytest_configure(config: pytest.Config) -> None:
    # Keep every cache of datasets / huggingface_hub inside a throwaway folder, set before
    # those libraries read their configuration.
    root = Path(tempfile.mkdtemp(prefix="dance_aggregate-tests-"))
    os.environ.setdefault("HF_HOME", str(root / "hf"))
    os.environ.setdefault("HF_DATASETS_CACHE", str(root / "hf" / "datasets"))
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("DANCE_AGGREGATE_CACHE", str(root / "cache"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The committed real test data (tests/data)."""
    return DATA


@pytest.fixture(scope="session")
def sample_sources(tmp_path_factory: pytest.TempPathFactory):
    """The generated raw sample of every source (once per session)."""
    from dance_aggregate.sample.makers import make_sample

    return make_sample(tmp_path_factory.mktemp("sample-cache"))


@pytest.fixture(scope="session")
def ucf_sample(sample_sources) -> Path:
    """The generated UCF101 sample tree."""
    return next(s.data_dir for s in sample_sources if s.config == "ucf101")


@pytest.fixture(scope="session")
def built_ucf(tmp_path_factory: pytest.TempPathFactory, ucf_sample: Path) -> Path:
    """A folder holding the UCF101 sample built once per session: <parent>/dance_aggregate."""
    from dance_aggregate.pipeline.build import finalize_folder
    from dance_aggregate.pipeline.config import RunSettings, build_config
    from dance_aggregate.builders.ucf101 import UCF101Builder

    out = tmp_path_factory.mktemp("built") / "dance_aggregate"
    build_config(UCF101Builder(ucf_sample), RunSettings(output=out, progress=False))
    finalize_folder(out)
    return out


@pytest.fixture(scope="session")
def sample_cache(sample_sources) -> Path:
    """The ``--cache-dir`` that holds the generated sample (``<cache>/sample-<version>/``)."""
    return sample_sources[0].data_dir.parents[1]


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory, sample_cache: Path) -> Path:
    """``dance-aggregate build --sample`` once per session, through the real CLI (in-process):
    every config of the sample in ``<tmp>/dance_aggregate``. Copy it before changing it."""
    from click.testing import CliRunner

    from dance_aggregate.cli import cli

    out = tmp_path_factory.mktemp("sample-build") / "dance_aggregate"
    res = CliRunner().invoke(cli, ["build", "--sample", "-O", str(out), "--cache-dir", str(sample_cache), "-q"])
    assert res.exit_code == 0, res.output
    return out


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The docs test's list of code blocks it did not run, and why."""
    from tests.docs_snippets import SKIPPED_REPORT

    if SKIPPED_REPORT:
        terminalreporter.section("docs: code blocks not run")
        for line in SKIPPED_REPORT:
            terminalreporter.write_line(line)
