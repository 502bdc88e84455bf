"""Publishing against a Hub-API server of our own (tests/hubserver.py) with the REAL
``huggingface_hub`` client and ``datasets.load_dataset``.

The UCF101 sample is built once per session (conftest's ``built_ucf``, what
``dance-aggregate build --sample`` makes); each test publishes a fresh copy of it. ``load_dataset`` runs in a subprocess so
``HF_ENDPOINT`` / ``HF_HOME`` are set before ``datasets`` and ``huggingface_hub`` read them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dance_aggregate.hub.card import render_card
from dance_aggregate.hub.checks import PublishError, check_accounting, check_leakage, check_row_groups, run_checks
from dance_aggregate.hub.publish import PublishOptions, local_files, publish
from tests.hubserver import HubServer

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # inside huggingface_hub

REPO = "tester/dance-aggregate"
TOKEN = "hf_TESTsecretTOKEN_0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def folder(built_ucf: Path, tmp_path: Path) -> Path:
    """A fresh copy of the sample build (conftest's ``built_ucf``; publishing rewrites its card)."""
    dst = tmp_path / "dance_aggregate"
    shutil.copytree(built_ucf, dst)
    return dst


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The Hub stand-in, and an environment that points the real client at it."""
    import huggingface_hub.constants as hf_constants

    with HubServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
        monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setattr(hf_constants, "ENDPOINT", server.url)  # read at import time
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
        monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf_datasets"))
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        yield server


def _options(folder: Path, hub: HubServer, **kw) -> PublishOptions:
    kw.setdefault("progress", False)
    return PublishOptions(repo_id=REPO, folder=folder, endpoint=hub.url, **kw)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _load_in_subprocess(code: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_publish_then_load_normal_and_streaming(folder: Path, hub: HubServer) -> None:
    result = publish(_options(folder, hub, tag="v1.0"))
    repo = hub.repo(REPO)
    files = repo.files("main")
    assert "README.md" in files and "data/ucf101/train-00000-of-00001.parquet" in files
    assert not any(p.startswith(".work") for p in files), "build scratch space must stay local"
    assert repo.tags["v1.0"] == repo.branches["main"]
    assert result.url == f"{hub.url}/datasets/{REPO}"
    # card after data: the last commit is the card
    assert hub.state.commit_paths[-1] == ["README.md"]
    assert REPO in files["README.md"].data.decode()

    rows = {s: sum(pq.read_metadata(p).num_rows for p in (folder / "data/ucf101").glob(f"{s}-*.parquet")) for s in ("train", "test")}
    got = _load_in_subprocess(
        f"""
import hashlib
import json
from datasets import load_dataset
from dance_aggregate.schema import features
ds = load_dataset({REPO!r}, "ucf101")
st = load_dataset({REPO!r}, "ucf101", split="train", streaming=True)
first = next(iter(st.decode(False)))
tagged = load_dataset({REPO!r}, "ucf101", split="test", revision="v1.0")
print(json.dumps({{
    "splits": {{k: v.num_rows for k, v in ds.items()}},
    "features_ok": ds["train"].features == features(),
    "stream_features_ok": st.features == features(),
    "stream_video_path": first["video"]["path"],
    "stream_video_bytes": len(first["video"]["bytes"]),
    "tagged_rows": tagged.num_rows,
}}))
"""
    )
    assert got["splits"] == rows
    assert got["features_ok"] and got["stream_features_ok"]
    assert got["stream_video_path"].endswith(".mp4") and got["stream_video_bytes"] > 1000
    assert got["tagged_rows"] == rows["test"]


def test_interrupted_upload_resumes_without_resending(folder: Path, hub: HubServer) -> None:
    hub.state.fail_commits_after = 2  # the 3rd commit dies: an upload interrupted midway
    opts = _options(folder, hub, max_files_per_commit=1, retries=0, backoff=0)
    order = [f.path for f in local_files(folder)]  # one file per commit, in this order
    with pytest.raises(PublishError, match="failed after 2 commit") as err:
        publish(opts)
    assert "rerun the same command to resume" in str(err.value)
    first_run = [p for c in hub.state.commit_paths for p in c]
    assert first_run == order[:2]
    failed = order[2]
    lfs_sent = [p for p in order[:3] if p.endswith((".parquet", ".png"))]
    assert failed in lfs_sent, "the failed commit's file is an LFS file that reached storage"
    assert sum(hub.state.lfs_puts.values()) == len(lfs_sent)

    hub.state.fail_commits_after = None
    result = publish(opts)
    assert first_run[0] in result.plan.unchanged
    resent = [p for c in hub.state.commit_paths[1:] for p in c]
    assert first_run[0] not in resent
    assert all(n == 1 for n in hub.state.lfs_puts.values()), f"an LFS object was sent twice: {hub.state.lfs_puts}"
    files = hub.repo(REPO).files("main")
    assert {f.path for f in local_files(folder)} | {"README.md"} <= set(files)

    # a third run has nothing to do: no data commit, no new LFS upload
    commits = hub.state.commits_ok
    again = publish(opts)
    assert again.plan.commits == [] and hub.state.commits_ok == commits


def test_killed_publish_resumes_without_resending(folder: Path, hub: HubServer) -> None:
    """A publish process killed in the middle of its uploads (like Ctrl-C or a lost machine)."""
    hub.state.hang_lfs_after = 1  # the first LFS object is stored, the second upload hangs
    cmd = [sys.executable, "-m", "dance_aggregate", "publish", "--repo-id", REPO, "--folder", str(folder), "-q"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert hub.state.hanging.wait(60), "the upload never reached the second file"
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    stored = dict(hub.state.lfs_puts)
    assert len(stored) == 1
    hub.state.hang_lfs_after = None
    hub.state.release.set()
    result = publish(_options(folder, hub))  # the rerun (in-process: faster, same code path)
    assert result.commits >= 2
    # Files with the same bytes share one LFS object (the `all` shards of a one-source build
    # equal that source's shards): the objects stored before the kill are never sent again,
    # the others at most once per local file holding them.
    same_bytes = Counter(hashlib.sha256(f.read_bytes()).hexdigest() for f in folder.rglob("*.parquet"))
    assert all(hub.state.lfs_puts[oid] == 1 for oid in stored), f"a finished file was sent again: {hub.state.lfs_puts}"
    assert all(n <= max(1, same_bytes[oid]) for oid, n in hub.state.lfs_puts.items()), hub.state.lfs_puts
    assert set(stored) < set(hub.state.lfs_puts)
    files = hub.repo(REPO).files("main")
    assert {f.path for f in local_files(folder)} | {"README.md"} <= set(files)


def test_rate_limited_commits_are_retried(folder: Path, hub: HubServer) -> None:
    hub.state.rate_limit_commits = 2
    publish(_options(folder, hub, retries=3, backoff=0, private=True))
    assert hub.state.rate_limited == 2
    assert "README.md" in hub.repo(REPO).files("main")
    assert hub.repo(REPO).private


def test_republish_deletes_stale_files_and_guards_tags(folder: Path, hub: HubServer) -> None:
    publish(_options(folder, hub, tag="v1"))
    publish(_options(folder, hub, tag="v1"))  # nothing changed: the tag already names this version
    (folder / "reports/ucf101.excluded.csv").unlink()
    with pytest.raises(PublishError, match="--tag v2") as err:
        publish(_options(folder, hub, tag="v1"))
    assert "nothing was uploaded" in str(err.value)
    commits = hub.state.commits_ok
    publish(_options(folder, hub, tag="v2"))
    repo = hub.repo(REPO)
    assert "reports/ucf101.excluded.csv" not in repo.files("main")
    assert "reports/ucf101.excluded.csv" in repo.files("v1")
    assert hub.state.commit_paths[-1] == ["reports/ucf101.excluded.csv"]  # in the (unchanged) card's commit
    assert hub.state.commits_ok == commits + 1 and repo.tags["v2"] == repo.branches["main"]


def test_dry_run_sends_nothing(folder: Path, hub: HubServer) -> None:
    before = (folder / "README.md").read_bytes()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "publish.py"), "--repo-id", REPO, "--folder", str(folder), "--dry-run", "--tag", "v1.0"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Dry run: nothing was uploaded" in proc.stdout
    assert "data/ucf101/train-00000-of-00001.parquet" in proc.stdout
    assert "[PASS] card" in proc.stdout and "Repository: will be created" in proc.stdout
    assert hub.state.writes == [], [r.path for r in hub.state.writes]
    assert hub.state.repos == {}
    assert (folder / "README.md").read_bytes() == before


def test_folder_failing_a_check_is_refused_before_any_upload(folder: Path, hub: HubServer) -> None:
    shard = folder / "data/ucf101/train-00000-of-00001.parquet"
    t = pq.read_table(shard)
    videos = t.column("video").to_pylist()
    videos[0] = {"bytes": videos[0]["bytes"], "path": "clip.avi"}
    t = t.set_column(t.schema.get_field_index("video"), t.schema.field("video"), pa.array(videos, t.schema.field("video").type))
    pq.write_table(t, shard, write_page_index=True)
    with pytest.raises(PublishError) as err:
        publish(_options(folder, hub))
    msg = str(err.value)
    assert "nothing was uploaded" in msg and "clip.avi" in msg and ".mp4" in msg and "Fix:" in msg
    assert hub.state.writes == []
    assert hub.state.repos == {}
    # --dry-run shows every check, the failed one included, and exits non-zero
    from click.testing import CliRunner

    from dance_aggregate.cli import cli

    res = CliRunner().invoke(cli, ["publish", "--repo-id", REPO, "--folder", str(folder), "--dry-run", "-q"])
    assert res.exit_code == 1 and "[FAIL] shards" in res.output and "[PASS] card" in res.output
    assert "check(s) failed (shards)" in res.output
    assert hub.state.writes == []


def test_token_never_printed_or_logged(folder: Path, hub: HubServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    from huggingface_hub.utils import logging as hf_logging

    hub.state.required_token = TOKEN
    caplog.set_level(logging.DEBUG)
    hf_logging.set_verbosity_debug()
    try:
        publish(_options(folder, hub, progress=True, tag="v1"))
    finally:
        hf_logging.set_verbosity_warning()
    assert any(r.token == TOKEN for r in hub.state.requests), "the token from HF_TOKEN was used"
    # CLI at -vv, huggingface_hub at debug, in a subprocess: stdout and stderr
    env = _env() | {"HF_HUB_VERBOSITY": "debug"}
    proc = subprocess.run(
        [sys.executable, "-m", "dance_aggregate", "publish", "--repo-id", REPO, "--folder", str(folder), "-vv"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    # a refused token: the error says what to do, without the token
    hub.state.required_token = "hf_another"
    (folder / "reports" / "extra.json").write_text("{}")
    with pytest.raises(PublishError, match="hf auth login") as refused:
        publish(_options(folder, hub))
    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for text in (out, err, logged, proc.stdout, proc.stderr, str(refused.value)):
        assert TOKEN not in text
        assert TOKEN[3:] not in text


def test_no_token_is_a_clear_error(folder: Path, hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(PublishError, match="hf auth login"):
        publish(_options(folder, hub))
    assert hub.state.writes == []


def test_only_dataset_files_are_published(folder: Path) -> None:
    (folder / "data" / ".ucf101.abc.staging").mkdir()
    (folder / "data" / ".ucf101.abc.staging" / "train-00000-of-00001.parquet").write_bytes(b"x")
    (folder / "notes.py").write_text("print('hi')\n")
    paths = [f.path for f in local_files(folder)]
    assert all(not p.startswith(".work") and "staging" not in p and p != "notes.py" for p in paths)
    assert "data/ucf101/train-00000-of-00001.parquet" in paths


def test_checks_catch_leakage_row_groups_and_accounting(folder: Path) -> None:
    assert all(r.ok for r in run_checks(folder, render_card(folder)))
    # an `all` config whose test split repeats the train split: every group leaks
    shutil.rmtree(folder / "data" / "all", ignore_errors=True)  # replace the built `all`
    (folder / "data" / "all").mkdir()
    for split in ("train", "test"):
        shutil.copy(folder / "data/ucf101/train-00000-of-00001.parquet", folder / f"data/all/{split}-00000-of-00001.parquet")
    leak = check_leakage(folder)
    assert not leak.ok and "SalsaSpin_g" in leak.detail and "dance-aggregate build" in leak.detail
    rg = check_row_groups(folder, read_limit=1000)
    assert not rg.ok and "read limit" in rg.detail
    report = json.loads((folder / "reports/ucf101.json").read_text())
    report["accounting"]["rows_written"] += 1
    (folder / "reports/ucf101.json").write_text(json.dumps(report))
    acc = check_accounting(folder)
    assert not acc.ok and "ucf101" in acc.detail
    card = [r for r in run_checks(folder, (folder / "README.md").read_text()) if r.name == "card"][0]
    assert not card.ok and "all" in card.detail  # the README was not re-rendered for `all`


# -- symbolic links: refused before anything is read or sent, never followed -----------------------
SECRET = b"hf_not_for_the_hub: the contents of a file outside the folder\n"


def _stored(hub: HubServer) -> list[bytes]:
    """Every file content and LFS object the Hub stand-in holds."""
    out = []
    for repo in hub.state.repos.values():
        out += list(repo.lfs.values())
        for sha in repo.order:
            out += [f.data for f in repo.commits[sha].values()]
    return out


@pytest.mark.parametrize(
    "link, target",
    [
        ("reports/notes.txt", "secret"),  # a file outside the folder
        ("reports/more", "outside"),  # a folder outside the folder
        ("data/ucf101/extra-00000-of-00001.parquet", "secret"),
        ("LICENSE.md", "secret"),
        ("images/copy.png", "inside"),  # a link within the folder is refused too
    ],
)
def test_a_link_in_the_folder_is_refused_and_never_followed(folder: Path, hub: HubServer, tmp_path: Path, link: str, target: str) -> None:
    from click.testing import CliRunner

    from dance_aggregate.cli import cli

    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.json").write_bytes(SECRET)
    path = folder / link
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    where = {"secret": secret, "outside": outside, "inside": folder / "LICENSE.md"}[target]
    path.symlink_to(where)
    before = (folder / "README.md").read_bytes()
    with pytest.raises(PublishError) as err:
        publish(_options(folder, hub))
    msg = str(err.value)
    assert f"{link} -> {where}" in msg and "nothing was uploaded" in msg and "Fix:" in msg
    for args in (["--dry-run"], []):
        res = CliRunner().invoke(cli, ["publish", "--repo-id", REPO, "--folder", str(folder), "-q", *args])
        assert res.exit_code == 1 and f"{link} -> {where}" in res.output, res.output
        assert "Traceback" not in res.output
    assert hub.state.writes == [] and hub.state.repos == {}
    assert (folder / "README.md").read_bytes() == before


def test_links_outside_what_is_published_are_not_read(folder: Path, hub: HubServer, tmp_path: Path) -> None:
    # the build's own .work/ holds a link (the ffmpeg binary for yt-dlp); other files stay local
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    (folder / ".work" / "fetch" / "bin").mkdir(parents=True, exist_ok=True)
    (folder / ".work" / "fetch" / "bin" / "ffmpeg").symlink_to(secret)
    (folder / "notes.txt").symlink_to(secret)
    publish(_options(folder, hub))
    files = hub.repo(REPO).files("main")
    assert "data/ucf101/train-00000-of-00001.parquet" in files and "notes.txt" not in files
    assert not [d for d in _stored(hub) if SECRET in d]


def test_a_file_swapped_for_a_link_after_the_plan_is_not_uploaded(folder: Path, hub: HubServer, tmp_path: Path) -> None:
    from huggingface_hub import HfApi

    from dance_aggregate.hub.publish import PublishResult, _upload, plan_publish

    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    options = _options(folder, hub)
    plan = plan_publish(options)
    report = folder / "reports" / "ucf101.json"
    assert "reports/ucf101.json" in [f.path for f in plan.upload]
    report.unlink()
    report.symlink_to(secret)
    with pytest.raises(PublishError, match=r"reports/ucf101\.json -> .*secret\.txt"):
        _upload(HfApi(endpoint=hub.url), options, plan, PublishResult(url=plan.url, plan=plan))
    assert not [d for d in _stored(hub) if SECRET in d]
