"""Every Python and shell block of the README, ``docs/*.md`` and the generated dataset card
runs, against the sample build, so a documented command that stops working fails here.

- The sample is built once per session (conftest's ``sample_build``); each section (``## ``
  heading) of a document runs, in order, in its own work folder holding a copy of it as
  ``./dance_aggregate`` (and ``examples/``, ``scripts/``, ``benchmarks/`` of the repo), as a
  reader in a clone would.
- Stand-ins (:data:`tests.docs_snippets`): ``/data/UCF101``, ``/data/k600``, ``/data/anet``
  and their ``videos`` mirrors are the sample's raw trees of those sources (same layouts, a
  few clips); ``/path/to/dance_aggregate`` and ``/fast/...`` are folders of the work folder.
  The Hub is the project's Hub-API server (``tests/hubserver.py``) through ``HF_ENDPOINT``,
  the same real client, with a write token of the user ``my-user``.
- Blocks marked ``<!-- docs-test: skip (why) -->`` are not run (the closing summary lists
  them); blocks marked ``<!-- docs-test: torch -->`` run in the torch run, after the
  document's other blocks (the names they define are used later).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_snippets import ROOT, SKIPPED_REPORT, DocRunner, Snippet, env_for, parse, substitute
from tests.hubserver import HubServer

DOCS = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]
CARD = "card"  # the card the sample build generated (dance_aggregate/README.md)
HUB_USER = "my-user"
TOKEN = "hf_DOCStestTOKEN_0123456789abcdef"
#: Documents that load a published copy first need it on the Hub stand-in.
PUBLISHED_FIRST = {"docs/example_card.md": f"{HUB_USER}/dance_aggregate"}


def doc_snippets(doc: str, sample_build: Path | None = None) -> list[Snippet]:
    if doc == CARD:
        assert sample_build is not None
        return parse((sample_build / "README.md").read_text(encoding="utf-8"), "card (dance_aggregate/README.md)")
    return parse((ROOT / doc).read_text(encoding="utf-8"), doc)


def _sections(torch: bool) -> list[tuple[str, str]]:
    """(document, section) with a block to run (in the torch run: with a torch block). The
    card's sections come from its template (its headings are fixed text)."""
    out = []
    template = parse((ROOT / "src/dance_aggregate/hub/card_template.md").read_text(encoding="utf-8"), CARD)
    for doc, snippets in [*((d, doc_snippets(d)) for d in DOCS), (CARD, template)]:
        for section in dict.fromkeys(s.section for s in snippets):
            marks = [s.mark for s in snippets if s.section == section]
            if ("torch" in marks) if torch else any(m is None for m in marks):
                out.append((doc, section))
    return out


@pytest.fixture
def hub(tmp_path: Path):
    """A fresh Hub stand-in per document; ``my-user`` owns every token."""
    with HubServer() as server:
        server.state.default_user = {"name": HUB_USER, "role": "write", "orgs": {}}
        yield server


def _stand_ins(sample_sources, work: Path) -> dict[str, str]:
    src = {s.config: s for s in sample_sources}
    return {
        "/data/UCF101": str(src["ucf101"].data_dir),
        "/data/k600/videos": str(src["kinetics600"].video_dir),
        "/data/k600": str(src["kinetics600"].data_dir),
        "/data/anet/videos": str(src["activitynet"].video_dir),
        "/data/anet": str(src["activitynet"].data_dir),
        "/path/to/dance_aggregate": str(work / "dance_aggregate"),
        "/fast/": str(work / "fast") + "/",
    }


def _workspace(tmp_path: Path, sample_build: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(sample_build, work / "dance_aggregate", symlinks=True)
    # The sample's raw trees stand for the real sources here (the /data/... stand-ins), so the
    # copy stands for a build of them: not marked as the sample, which publish would refuse.
    for report in (work / "dance_aggregate" / "reports").glob("*.json"):
        data = json.loads(report.read_text(encoding="utf-8"))
        data["sample"] = False
        report.write_text(json.dumps(data), encoding="utf-8")
    for name in ("examples", "scripts", "benchmarks"):
        (work / name).symlink_to(ROOT / name)
    return work


def _publish(folder: Path, repo_id: str, env: dict[str, str]) -> None:
    """``dance-aggregate publish`` of ``folder`` to the Hub stand-in (in the snippets' environment)."""
    cmd = [sys.executable, "-m", "dance_aggregate", "publish", "--repo-id", repo_id, "--folder", str(folder), "-q"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def run_doc(
    doc: str, section: str | None, *, torch: bool, tmp_path: Path, sample_build: Path, sample_cache: Path, sample_sources,
    hub: HubServer,
) -> None:
    """Run the blocks of ``doc`` (of one ``section`` of it, or all), in order."""
    snippets = [s for s in doc_snippets(doc, sample_build) if section is None or s.section == section]
    work = _workspace(tmp_path, sample_build)
    table = _stand_ins(sample_sources, work)
    env = env_for(
        {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))},
        DANCE_AGGREGATE_CACHE=str(sample_cache),
        HF_HOME=str(tmp_path / "hf_home"),
        HF_ENDPOINT=hub.url,
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_TOKEN=TOKEN,
        PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    if doc in PUBLISHED_FIRST:
        _publish(work / "dance_aggregate", PUBLISHED_FIRST[doc], env)
    runner = DocRunner(work, env, tmp_path / "snippets.log")
    ran = 0
    try:
        for snippet in snippets:
            if snippet.mark == "skip" or (snippet.mark == "torch" and not torch):
                continue
            error = runner.run(snippet, substitute(snippet.code, table))
            assert error is None, f"{snippet.where} failed:\n{snippet.code}\n{error}\n(log: {tmp_path / 'snippets.log'})"
            ran += 1
    finally:
        runner.close()
    assert ran or not snippets, f"{doc}: {section}: no block ran"


@pytest.mark.slow  # it reads the card of the sample build
def test_every_block_is_run_or_honestly_marked(sample_build: Path) -> None:
    """Skips say why; blocks that need torch are marked so; the list of what is not run is
    printed at the end of the session."""
    problems = []
    skipped = []
    for doc in [*DOCS, CARD]:
        for s in doc_snippets(doc, sample_build):
            if s.mark == "skip":
                if not s.reason:
                    problems.append(f"{s.where}: `docs-test: skip` without a reason in parentheses")
                skipped.append(f"{s.where}: {s.reason}")
            elif s.needs_torch and s.mark != "torch":
                problems.append(f"{s.where}: needs torch; mark it <!-- docs-test: torch -->")
    assert not problems, "\n".join(problems)
    SKIPPED_REPORT[:] = [f"{len(skipped)} block(s) not run:", *skipped]
    blocks = [s for d in [*DOCS, CARD] for s in doc_snippets(d, sample_build)]
    assert len(skipped) < len(blocks) / 2, "most documented blocks must run"


def _id(unit: tuple[str, str]) -> str:
    return f"{unit[0]}: {unit[1]}"


@pytest.mark.slow
@pytest.mark.timeout(900)  # a section with several builds takes minutes on a busy 2-core machine
@pytest.mark.parametrize("unit", _sections(torch=False), ids=_id)
def test_doc_blocks_run(
    unit: tuple[str, str], tmp_path: Path, sample_build: Path, sample_cache: Path, sample_sources, hub: HubServer
) -> None:
    run_doc(*unit, torch=False, tmp_path=tmp_path, sample_build=sample_build, sample_cache=sample_cache,
            sample_sources=sample_sources, hub=hub)


@pytest.mark.torch
@pytest.mark.timeout(900)
@pytest.mark.parametrize("unit", _sections(torch=True), ids=_id)
def test_doc_torch_blocks_run(
    unit: tuple[str, str], tmp_path: Path, sample_build: Path, sample_cache: Path, sample_sources, hub: HubServer
) -> None:
    run_doc(*unit, torch=True, tmp_path=tmp_path, sample_build=sample_build, sample_cache=sample_cache,
            sample_sources=sample_sources, hub=hub)
