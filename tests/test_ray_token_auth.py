"""Joining a Ray cluster that uses token authentication, and the addresses --ray-address refuses.

Ray 2.5x and later turn token authentication on for ``ray start --head`` when the head has a
token file, while a driver given an explicit address sends a token only with
``RAY_AUTH_MODE=token``. The cluster test starts a real head with ``ray start --head --block``
on 127.0.0.1, with its own HOME (so its token is ``HOME/.ray/auth_token``, made by
``ray get-auth-token --generate``) and its own temp dir: it never reads or writes the user's
``~/.ray`` or ``/tmp/ray``, and stops with its process at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from dance_aggregate.cli import cli
from dance_aggregate.errors import ConfigError
from dance_aggregate.pipeline.ray_runner import RayRunner

REPO = Path(__file__).resolve().parents[1]
#: Variables of the developer's own Ray set-up that would change what these tests see (a
#: ray.init() of another test module in this process also sets RAY_AUTH_MODE=token).
RAY_VARS = ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_TMPDIR")


def test_ray_client_address_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match=r"ray://HEAD:10001: Ray Client \(ray://\) addresses are not supported") as info:
        RayRunner(1, "ray://HEAD:10001")
    assert "--ray-address HEAD_IP:6379" in str(info.value)
    assert "ray[client]" in str(info.value)


def test_cli_refuses_a_ray_client_address_before_any_work(tmp_path):
    pytest.importorskip("ray", reason='Ray is not installed (pip install "dance-aggregate[ray]")')
    out = tmp_path / "o"
    res = CliRunner().invoke(
        cli, ["build", "ucf101", "--data-dir", f"ucf101={tmp_path}", "-O", str(out), "--runner", "ray",
              "--ray-address", "ray://127.0.0.1:10001"],
    )
    assert res.exit_code != 0
    assert "Ray Client (ray://) addresses are not supported" in res.output
    assert "ray start --head" not in res.output, "nothing to start: the address form is the problem"
    assert not (out / "data").exists()


def test_ray_client_is_offered_nowhere():
    """--help, the README and the scaling guide offer no ray:// address (see check_address)."""
    help_text = CliRunner().invoke(cli, ["build", "--help"]).output
    for where, text in [("build --help", help_text), ("README.md", (REPO / "README.md").read_text(encoding="utf-8")),
                        ("docs/scaling.md", (REPO / "docs/scaling.md").read_text(encoding="utf-8"))]:
        offers = re.findall(r".{0,40}ray://\w.{0,40}", text)  # an address (ray://HOST...), not the scheme named
        assert not offers, f"{where} offers a Ray Client address: {offers}"


# --- a real token-authenticated head ---------------------------------------------------


@dataclass
class Head:
    """A running ``ray start --head`` with token authentication on."""

    address: str  # 127.0.0.1:PORT
    home: Path  # the HOME it ran with: its token is home/.ray/auth_token
    token_file: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment with HOME=home and none of the developer's Ray settings."""
    env = {k: v for k, v in os.environ.items() if k not in RAY_VARS}
    env.update(HOME=str(home), RAY_USAGE_STATS_ENABLED="0", **extra)
    return env


def _ray_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ray.scripts.scripts", *args]


@pytest.fixture(scope="module")
def token_head(tmp_path_factory) -> Iterator[Head]:
    pytest.importorskip("ray", reason='Ray is not installed (pip install "dance-aggregate[ray]")')
    pytest.importorskip(
        "ray._private.authentication.authentication_token_setup",
        reason="this Ray has no token authentication (added in Ray 2.5x; the [ray] extra allows >=2.40)",
    )
    home = tmp_path_factory.mktemp("ray-home")
    # Ray's socket paths live in the temp dir and must stay under 107 bytes: a short one.
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    env = _env(home)
    made = subprocess.run(_ray_cli("get-auth-token", "--generate"), env=env, capture_output=True, text=True, timeout=120)
    token_file = home / ".ray" / "auth_token"
    assert made.returncode == 0 and token_file.is_file(), made.stderr
    port = _free_port()
    log = temp / "head.log"
    with open(log, "wb") as sink:
        # --block: the head's processes live and die with this one (no `ray stop`, which
        # would stop every Ray instance of this user on the machine).
        proc = subprocess.Popen(
            _ray_cli("start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1", f"--temp-dir={temp}",
                     "--num-cpus=1", "--include-dashboard=false",
                     "--disable-usage-stats"),
            env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while "Ray runtime started" not in log.read_text(errors="replace") and proc.poll() is None:
            assert time.monotonic() < deadline, f"the head did not start in 180 s:\n{log.read_text(errors='replace')}"
            time.sleep(0.2)
        started = log.read_text(errors="replace")
        assert proc.poll() is None, f"ray start --head exited:\n{started}"
        # No RAY_AUTH_MODE was set: Ray turned token authentication on because of the token file.
        assert "Token authentication is enabled for this Ray cluster" in started, started
        yield Head(f"127.0.0.1:{port}", home, token_file, log)
    finally:
        proc.terminate()  # `ray start --block` stops the head's processes on SIGTERM
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        shutil.rmtree(temp, ignore_errors=True)


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=240)


@pytest.mark.slow
def test_driver_without_token_mode_is_told_what_to_set(token_head: Head, tmp_path):
    """The build of the issue: a driver on the head's machine, with the head's token file in
    its HOME but no RAY_AUTH_MODE, is refused (InvalidAuthToken). It is told to set
    RAY_AUTH_MODE=token and where the token must be, not to start a cluster."""
    data = tmp_path / "ucf"
    data.mkdir()
    cmd = [sys.executable, "-m", "dance_aggregate", "build", "ucf101", "--data-dir", f"ucf101={data}",
           "-O", str(tmp_path / "out"), "--runner", "ray", "--ray-address", token_head.address, "-q"]
    res = _run(cmd, _env(token_head.home), tmp_path)
    output = res.stdout + res.stderr
    assert res.returncode != 0, output
    assert f"cannot join the Ray cluster at --ray-address {token_head.address} (token authentication)" in output
    assert "InvalidAuthToken" in output
    assert "RAY_AUTH_MODE=(unset)" in output
    assert f"RAY_AUTH_MODE=token dance-aggregate build ... --runner ray --ray-address {token_head.address}" in output
    assert f"This machine has a token in {token_head.token_file}" in output
    assert "RAY_AUTH_TOKEN_PATH" in output
    assert f"RAY_AUTH_MODE=token ray start --address {token_head.address}" in output, "worker nodes need it too"
    assert "start one with: ray start --head" not in output, "a cluster runs there: starting one is wrong advice"
    assert token_head.token_file.read_text().strip() not in output, "the token itself is never printed"


@pytest.mark.slow
def test_driver_with_a_token_that_is_not_the_clusters_is_told_so(token_head: Head, tmp_path):
    wrong = tmp_path / "other-token"
    wrong.write_text("0" * 64)
    code = f"from dance_aggregate.pipeline.ray_runner import RayRunner\nRayRunner(1, {token_head.address!r}).connect()"
    res = _run([sys.executable, "-c", code], _env(token_head.home, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(wrong)), tmp_path)
    output = res.stdout + res.stderr
    assert res.returncode != 0, output
    assert "DanceAggregateError" in output and "InvalidAuthToken" in output
    assert f"sends the token in {wrong} (named by RAY_AUTH_TOKEN_PATH), which is not this cluster's" in output
    assert "0" * 64 not in output


@pytest.mark.slow
def test_driver_with_token_mode_connects_and_runs_units(token_head: Head, tmp_path):
    """With RAY_AUTH_MODE=token (the token from HOME/.ray/auth_token, as on the head) the
    runner joins the cluster and its units run there as Ray tasks."""
    code = (
        "import ray\n"
        "from dance_aggregate.pipeline.ray_runner import RayRunner\n"
        f"with RayRunner(1, {token_head.address!r}) as runner:\n"
        "    results = sorted(runner.run(abs, [-1, -2, -3]))\n"
        "    print('results', results, 'nodes', len(ray.nodes()))\n"
    )
    res = _run([sys.executable, "-c", code], _env(token_head.home, RAY_AUTH_MODE="token"), tmp_path)
    output = res.stdout + res.stderr
    assert res.returncode == 0, output
    assert "results [1, 2, 3] nodes 1" in output
