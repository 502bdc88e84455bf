"""``publish --dry-run`` checks what the real publish would meet: the Hub answering, the token
(present, accepted, allowed to write to the namespace); offline it stops at once; and a
failed publish leaves the local card as the build wrote it.

Against the Hub stand-in (tests/hubserver.py), whose ``whoami-v2`` answers per token.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from dance_aggregate.cli import cli
from dance_aggregate.hub.checks import PublishError
from dance_aggregate.hub.publish import PublishOptions, publish
from tests.hubserver import HubServer

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

TOKEN = "hf_ACCESStestTOKEN_0123456789abcdef"


@pytest.fixture
def folder(built_ucf: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "dance_aggregate"
    shutil.copytree(built_ucf, dst)
    return dst


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import huggingface_hub.constants as hf_constants

    with HubServer() as server:
        _point_at(server.url, tmp_path, monkeypatch)
        monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield server


def _point_at(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setattr(hf_constants, "ENDPOINT", url)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _dry_run(folder: Path, repo: str = "tester/dance-aggregate") -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["publish", "--repo-id", repo, "--folder", str(folder), "--dry-run", "-q"])
    return res.exit_code, res.output


def test_dry_run_names_the_token_user(folder: Path, hub: HubServer) -> None:
    code, out = _dry_run(folder)
    assert code == 0, out
    assert "[PASS] token: token of tester (write) can write to tester" in out
    assert "[PASS] hub:" in out and "does not exist yet" in out
    assert TOKEN not in out and hub.state.writes == []


def test_dry_run_without_token_fails_like_the_real_run(folder: Path, hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN")
    code, out = _dry_run(folder)
    assert code == 1 and "[FAIL] token: no Hugging Face token found" in out and "hf auth login" in out
    assert "check(s) failed (token)" in out
    with pytest.raises(PublishError, match="no Hugging Face token"):
        publish(PublishOptions(repo_id="tester/dance-aggregate", folder=folder, progress=False))
    assert hub.state.writes == []


@pytest.mark.parametrize(
    ("user", "repo", "expected"),
    [
        ({"name": "tester", "role": "read"}, "tester/d", "[FAIL] token: the token of tester is read-only"),
        ({"name": "tester", "role": "write"}, "someone-else/d", "[FAIL] token: the token belongs to tester, who cannot write to the namespace 'someone-else'"),
        ({"name": "tester", "role": "write", "orgs": {"dance-lab": "write"}}, "dance-lab/d", "[PASS] token: token of tester (write) can write to dance-lab"),
        ({"name": "tester", "role": "write", "orgs": {"dance-lab": "read"}}, "dance-lab/d", "[FAIL] token: tester has the role 'read' in dance-lab"),
        (
            {"name": "tester", "role": "fineGrained", "scoped": [{"entity": {"type": "user", "name": "tester"}, "permissions": ["repo.content.read", "repo.write"]}]},
            "tester/d",
            "[PASS] token: fine-grained token of tester can write to tester",
        ),
        (
            {"name": "tester", "role": "fineGrained", "scoped": [{"entity": {"type": "user", "name": "tester"}, "permissions": ["repo.content.read"]}]},
            "tester/d",
            "[FAIL] token: the fine-grained token of tester has no repo write permission on tester",
        ),
    ],
)
def test_dry_run_checks_write_access(folder: Path, hub: HubServer, user: dict, repo: str, expected: str) -> None:
    hub.state.users[TOKEN] = user
    code, out = _dry_run(folder, repo)
    assert expected in out, out
    assert code == (0 if "[PASS] token" in expected else 1)
    assert hub.state.writes == []


def test_refused_token_fails_the_dry_run(folder: Path, hub: HubServer) -> None:
    hub.state.required_token = "hf_someone_else"
    code, out = _dry_run(folder)
    assert code == 1 and "[FAIL] token: the Hub refused the token" in out


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_unreachable_hub_fails_at_once_with_the_offline_hint(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _point_at(_closed_port(), tmp_path, monkeypatch)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    code, out = _dry_run(folder)
    assert code == 1
    assert "[FAIL] hub: cannot reach http://127.0.0.1:" in out
    assert "HF_HUB_OFFLINE=1 dance-aggregate publish --repo-id tester/dance-aggregate --dry-run" in out
    assert "[PASS] card" in out, "the local checks still ran"
    assert "Retrying" not in out + caplog.text, "no retries against a Hub that does not answer"


def test_offline_dry_run_checks_only_the_folder(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hf_constants

    _point_at(_closed_port(), tmp_path, monkeypatch)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    code, out = _dry_run(folder)
    assert code == 0, out
    assert "[WARN] hub: HF_HUB_OFFLINE is set: the token, the repository and its files were not checked" in out
    with pytest.raises(PublishError, match="unset HF_HUB_OFFLINE"):
        publish(PublishOptions(repo_id="tester/dance-aggregate", folder=folder, progress=False))


def test_failed_publish_keeps_the_local_card(folder: Path, hub: HubServer) -> None:
    before = (folder / "README.md").read_bytes()
    hub.state.users[TOKEN] = {"name": "tester", "role": "read"}
    with pytest.raises(PublishError, match="read-only"):
        publish(PublishOptions(repo_id="tester/dance-aggregate", folder=folder, progress=False))
    hub.state.users.pop(TOKEN)
    hub.state.fail_commits_after = 0  # accepted token, but the upload itself fails
    with pytest.raises(PublishError, match="failed after 0 commit"):
        publish(PublishOptions(repo_id="tester/dance-aggregate", folder=folder, progress=False, retries=0))
    assert (folder / "README.md").read_bytes() == before, "a failed publish rewrote the local card"
    hub.state.fail_commits_after = None
    publish(PublishOptions(repo_id="tester/dance-aggregate", folder=folder, progress=False))
    card = (folder / "README.md").read_text()
    assert 'load_dataset("tester/dance-aggregate"' in card, "after a publish the local card names the repo"
    assert card.encode() == hub.repo("tester/dance-aggregate").files("main")["README.md"].data
