"""How the suite runs: in its own environment (a developer's Hugging Face token, endpoint,
offline mode, caches, Ray cluster or proxy never reach a test: tests/conftest.py scrubs them),
which tests a plain run, `-m 'not slow'` and `-m torch` select, and the per-test timeout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_no_developer_setting_reaches_a_test():
    import huggingface_hub
    from huggingface_hub import constants

    tmp = Path(tempfile.gettempdir())
    for name in ("HF_HOME", "HF_DATASETS_CACHE", "DANCE_AGGREGATE_CACHE"):
        assert Path(os.environ[name]).is_relative_to(tmp), (name, os.environ[name])
    for name in ("HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_HUB_CACHE", "RAY_ADDRESS", "HTTPS_PROXY", "https_proxy"):
        assert name not in os.environ, name
    assert huggingface_hub.get_token() is None
    assert constants.ENDPOINT == "https://huggingface.co" and not constants.HF_HUB_OFFLINE


def test_even_when_the_developer_has_them_set(tmp_path):
    mine = {
        "HF_TOKEN": "hf_developer_token",
        "HF_ENDPOINT": "http://developer.invalid",
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "my-hf-home"),
        "HF_HUB_CACHE": str(tmp_path / "my-hub-cache"),
        "DANCE_AGGREGATE_CACHE": str(tmp_path / "my-cache"),
        "RAY_ADDRESS": "developer.invalid:6379",
        "HTTPS_PROXY": "http://developer.invalid:3128",
    }
    # the probe above, in a fresh session started with the developer's settings
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{__file__}::test_no_developer_setting_reaches_a_test"]
    proc = subprocess.run(cmd, cwd=REPO, env={**os.environ, **mine}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "1 passed" in proc.stdout
    assert not (tmp_path / "my-cache").exists() and not (tmp_path / "my-hf-home").exists()


#: Prints, for each -m given as an argument, the node ids pytest would run (one process: the
#: imports are paid once).
_COLLECT = """
import sys
import pytest

for expr in sys.argv[1:]:
    print(f"@@selection {expr}", flush=True)
    selection = ["-m", expr] if expr else []
    pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *selection, "tests/test_cli.py", "tests/test_streaming.py"])
"""


def _collect(*exprs: str) -> list[set[str]]:
    """The node ids of two modules (one holds the torch test) selected by each -m ``exprs``."""
    proc = subprocess.run([sys.executable, "-c", _COLLECT, *exprs], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = re.split(r"^@@selection.*$", proc.stdout, flags=re.M)[1:]
    assert len(runs) == len(exprs), proc.stdout[-3000:]
    return [set(re.findall(r"^tests/\S+::\S+", run, re.M)) for run in runs]


def test_selection_of_slow_and_torch_tests():
    slow, torch = "tests/test_cli.py::test_sample_build_end_to_end", "tests/test_streaming.py::test_real_dataloader_workers"
    default, quick, torch_only = _collect("", "not slow", "torch")
    assert slow in default and torch not in default  # CI's plain run: slow included, torch-free
    assert quick == default - {slow}  # the developer's run: still torch-free
    assert torch_only == {torch}


def test_a_hanging_test_fails_after_the_timeout(request):
    assert request.config.getini("timeout") == "300"
