"""Shared set-up: an environment scrubbed of the developer's settings with throwaway caches,
torch tests left out unless asked for, a Ray instance per module that wants one, the
generated sample and a built folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


#: Environment variables scrubbed before any test: a developer's own Hugging Face settings
#: (token, endpoint, offline mode, cache folders, hf_transfer), dance_aggregate settings, a
#: Ray cluster to join, and proxies (every test talks to 127.0.0.1 only). Tests that need
#: one set it themselves (monkeypatch.setenv).
SCRUBBED_PREFIXES = ("HF_", "HUGGINGFACE_", "HUGGING_FACE_", "DANCE_AGGREGATE_")
SCRUBBED = ("TRANSFORMERS_OFFLINE", "RAY_ADDRESS", "http_proxy", "https_proxy", "all_proxy",
            "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def pytest_configure(config: pytest.Config) -> None:
    # Set before datasets / huggingface_hub are imported: they read the environment once.
    for name in list(os.environ):
        if name.startswith(SCRUBBED_PREFIXES) or name in SCRUBBED:
            del os.environ[name]
    # Every cache inside a throwaway folder (subprocesses inherit it).
    root = Path(tempfile.mkdtemp(prefix="dance_aggregate-tests-"))
    os.environ["HF_HOME"] = str(root / "hf")
    os.environ["HF_DATASETS_CACHE"] = str(root / "hf" / "datasets")
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["DANCE_AGGREGATE_CACHE"] = str(root / "cache")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The torch tests run only when asked for by an -m expression that names them
    # (`-m torch`); any other run, `-m 'not slow'` included, stays torch-free.
    if "torch" in (config.getoption("markexpr") or ""):
        return
    torch_tests = [item for item in items if item.get_closest_marker("torch")]
    if torch_tests:
        config.hook.pytest_deselected(items=torch_tests)
        items[:] = [item for item in items if not item.get_closest_marker("torch")]


@pytest.fixture(scope="module")
def ray_instance():
    """A local 2-CPU Ray instance for one test module (skipped when Ray is not installed).

    Its workers import from the repository (``tests.helpers_runners``, test modules): remote
    functions defined in tests travel by reference."""
    ray = pytest.importorskip(
        "ray", reason='Ray is not installed (pip install "dance-aggregate[ray]"); the Ray tests need it'
    )
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    ray.init(
        address="local",  # a new instance, never a cluster someone else started on this machine
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": pythonpath}},
    )
    yield
    ray.shutdown()


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
    from dance_aggregate.builders.ucf101 import UCF101Builder
    from dance_aggregate.pipeline.build import finalize_folder
    from dance_aggregate.pipeline.config import RunSettings, build_config

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
