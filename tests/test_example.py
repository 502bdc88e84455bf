"""``examples/train_stream.py`` on the sample build: it trains (a step with a loss) with and
without torch, and its fallback names a command that builds the missing config. (Its
refusals, of a bare name or an unknown config, are in tests/test_newcomer.py.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # the session's sample build, then a training run each


def _run(sample_build: Path, tmp_path: Path, *args: str) -> str:
    shutil.copytree(sample_build, tmp_path / "dance_aggregate", ignore=shutil.ignore_patterns(".work"))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, str(ROOT / "examples" / "train_stream.py"), "--data", "dance_aggregate", *args]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_trains_on_the_sample_without_torch(sample_build: Path, tmp_path: Path) -> None:
    """Two training clips and batches of 4: the partial batch is a step, as in a DataLoader."""
    out = _run(sample_build, tmp_path, "--config", "kinetics600", "--steps", "5")
    steps = re.findall(r"epoch 0 step (\d+) loss (\d+\.\d+) frames \((\d+), 16, 112, 112, 3\)", out)
    assert steps == [("1", steps[0][1], "2")], out[-2000:]
    assert float(steps[0][1]) > 0


def test_missing_config_fallback_names_the_source(sample_build: Path, tmp_path: Path) -> None:
    out = _run(sample_build, tmp_path, "--config", "kinetics600_motion", "--steps", "1")
    folder = tmp_path / "dance_aggregate"  # --data dance_aggregate, a folder here: read by its absolute path
    assert f"config 'kinetics600_motion' is not in {folder}" in out
    assert f"dance-aggregate build kinetics600_motion --data-dir kinetics600=PATH --output {folder}" in out
    assert "step 1 loss" in out


@pytest.mark.torch
def test_trains_on_the_sample_with_torch(sample_build: Path, tmp_path: Path) -> None:
    out = _run(sample_build, tmp_path, "--config", "kinetics600", "--steps", "5", "--workers", "1")
    assert re.search(r"epoch 0 step 1 loss \d+\.\d+ frames \(2, 16, 3, 112, 112\)", out), out[-2000:]
