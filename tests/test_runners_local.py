"""The local runner's worker processes: they die with the build, and units run longest first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dance_aggregate.pipeline.runners import LocalRunner
from dance_aggregate.pipeline.units import plan_units
from dance_aggregate.records import ClipRecord, LocalCut
from tests.helpers_produce import context
from tests.helpers_runners import descendants, environment_variable, running, sample_builder, wait_for

REPO = Path(__file__).resolve().parents[1]

# A real build of the UCF101 sample with 2 workers whose units wait for a release file.
_DRIVER = """
import sys
from pathlib import Path
import dance_aggregate
from tests.helpers_runners import GatedLocalRunner
data, out, marks, release = map(Path, sys.argv[1:5])
dance_aggregate.build(configs=["ucf101"], data_dirs={"ucf101": data}, output=out, part_size=1, progress=False,
                      runner=GatedLocalRunner(2, marks, release))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc (Linux)")
def test_workers_die_with_a_killed_build(ucf_sample, tmp_path):
    out, marks, release = tmp_path / "out", tmp_path / "marks", tmp_path / "release"
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(ucf_sample), str(out), str(marks), str(release)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        # The point of the kill: both workers are inside a unit, nothing written yet.
        def both_workers_busy() -> bool:
            assert proc.poll() is None, proc.communicate()[0].decode(errors="replace")
            return len({m.split(".", 1)[0] for m in os.listdir(marks)}) == 2

        wait_for(both_workers_busy, 120, "two workers to start a unit")
        workers = {int(m.split(".", 1)[0]) for m in os.listdir(marks)}
        tree = descendants(proc.pid)
        assert workers <= tree and all(running(p) for p in workers)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        release.touch()  # a surviving worker would now encode its unit and take the next ones
        wait_for(lambda: not any(running(p) for p in tree), 30, f"the build's processes {sorted(tree)} to end")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not list((out / ".work").rglob("*.json")), "no unit finished after the build was killed"


def test_workers_see_the_environment_of_the_build_as_it_is_now(monkeypatch):
    """Workers fork from a forkserver started earlier; they still get the build's current
    environment (a proxy or a token set since), as spawned workers did."""
    name = "DANCE_AGGREGATE_TEST_WORKER_ENV"
    monkeypatch.delenv(name, raising=False)
    runner = LocalRunner(2)
    assert list(runner.run(environment_variable, [name, name])) == [None, None]  # the forkserver runs now
    monkeypatch.setenv(name, "set later")
    assert list(runner.run(environment_variable, [name, name])) == ["set later", "set later"]


def _record(i: int, split: str, seconds: float | None) -> ClipRecord:
    return ClipRecord(
        id=f"ucf101/v_SalsaSpin_g{i:02d}_c01", source="ucf101", source_id=f"v_SalsaSpin_g{i:02d}_c01", split=split,
        label="salsa", source_label="SalsaSpin", family="latin", group=f"g{i}",
        start_time=None if seconds is None else 0.0, end_time=seconds, media=LocalCut(f"/x/{i}.avi"),
    )


def test_units_are_planned_longest_first_with_unchanged_parts(sample_sources, tmp_path):
    builder = context(sample_builder(sample_sources[0]), tmp_path)
    seconds = [4.0, 4.0, 30.0, 10.0, 10.0, 2.0, 60.0, 1.0, 8.0]
    records = [_record(i, "test" if i < 3 else "train", s) for i, s in enumerate(seconds)]
    units = plan_units(builder, records, tmp_path / "w", 2)
    costs = [sum(r.end_time for r in u.records) for u in units]
    assert costs == sorted(costs, reverse=True), costs
    assert costs[0] == 62.0  # train g05 (2 s) + g06 (60 s)
    # the chunking (and so every part name) is the one of id order: a resumed build finds
    # the parts an earlier build wrote, whatever the order units run in
    chunks = {tuple(r.id for r in u.records) for u in units}
    by_split = {s: sorted(r.id for r in records if r.split == s) for s in ("test", "train")}
    assert chunks == {tuple(ids[i : i + 2]) for ids in by_split.values() for i in range(0, len(ids), 2)}
    assert plan_units(builder, list(reversed(records)), tmp_path / "w", 2) == units  # deterministic


def test_units_without_known_length_keep_id_order(sample_sources, tmp_path):
    builder = context(sample_builder(sample_sources[0]), tmp_path)
    records = [_record(i, "train", None) for i in range(7)]
    units = plan_units(builder, records, tmp_path / "w", 2)
    assert [len(u.records) for u in units] == [2, 2, 2, 1]
    assert [u.records[0].id for u in units] == sorted(u.records[0].id for u in units)
