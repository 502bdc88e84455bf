"""The shared pause: the rules on a fake clock, then both backends (a JSON file shared by
processes, a Ray actor shared by a cluster) applying them the same way.

Nothing here measures elapsed time: clocks are fake or frozen and sleeps are recorded, so a
loaded machine cannot change an outcome. The Ray tests start one local Ray instance for the
module (skipped when Ray is not installed)."""

from __future__ import annotations

import functools
import json
import logging
import math
import pickle
import re
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from dance_aggregate.errors import DanceAggregateError
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.fetch.politeness import FilePoliteness, Penalty, PolitenessState
from dance_aggregate.fetch.politeness_ray import RayPoliteness

#: A clock stopped at t=100 s that pickles (it travels to the Ray actor).
FROZEN = functools.partial(float, 100.0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- the rules -------------------------------------------------------------------------------
def test_defaults_come_from_the_fetch_options():
    s = PolitenessState()
    assert (s.base_pause, s.max_pause) == (FetchOptions.pause_base, FetchOptions.pause_max)
    assert s.min_interval == 0.0 and s.growth == 2.0


def test_requests_are_spaced_across_callers():
    clock = FakeClock()
    s = PolitenessState(min_interval=2.0, clock=clock)
    # three workers ask at the same instant: they get slots 0, 2 and 4 s away
    assert [s.reserve() for _ in range(3)] == [0.0, 2.0, 4.0]
    clock.now += 10
    assert s.reserve() == 0.0


def test_rate_limit_pauses_everyone_and_grows_until_a_success():
    clock = FakeClock()
    s = PolitenessState(min_interval=0.0, base_pause=10.0, growth=2.0, max_pause=25.0, clock=clock)
    assert s.report_rate_limited() == Penalty(10.0, True, 1)
    assert s.reserve() == 10.0  # any worker now waits out the pause
    clock.now += 10
    assert s.report_rate_limited().pause == 20.0  # second episode in a row: doubled
    clock.now += 20
    assert s.report_rate_limited().pause == 25.0  # capped at max_pause
    clock.now += 25
    assert s.report_rate_limited(retry_after=90).pause == 25.0  # a server hint is capped too
    clock.now += 25
    assert s.report_rate_limited(retry_after=15).pause == 25.0  # a shorter hint never shortens it
    clock.now += 25
    s.report_ok()
    assert s.report_rate_limited() == Penalty(10.0, True, 1)  # a success ends the streak
    assert s.status() == {"requests": 1, "rate_limited": 6, "level": 1, "paused_for": 10.0}


def test_reports_during_a_pause_are_the_same_episode():
    clock = FakeClock()
    s = PolitenessState(min_interval=0.0, base_pause=10.0, clock=clock)
    s.report_rate_limited()
    clock.now += 1
    # other workers' requests sent before the pause fail too: no growth...
    assert s.report_rate_limited() == Penalty(9.0, False, 1)
    # ...but a server hint still extends the pause
    assert s.report_rate_limited(retry_after=30) == Penalty(30.0, False, 1)
    assert s.status()["level"] == 1 and s.status()["rate_limited"] == 3


def test_a_429_storm_never_pauses_longer_than_the_max():
    clock = FakeClock()
    s = PolitenessState(base_pause=60.0, max_pause=1800.0, clock=clock)
    pauses = []
    for _ in range(200):  # far past the level where 60 * 2**(n-1) would overflow a float
        pauses.append(s.report_rate_limited().pause)
        clock.now += pauses[-1]
    assert pauses[:7] == [60.0, 120.0, 240.0, 480.0, 960.0, 1800.0, 1800.0]
    assert max(pauses) == 1800.0 and s.level == s.top_level == 6
    assert s.reserve() == 0.0


@pytest.mark.parametrize(
    ("saved", "expect"),
    [
        # a pause from a run with a longer max, or a stranger's file: capped at max_pause from now
        ({"level": 3, "pause_until": 1e12}, {"level": 3, "pause_until": 100.0 + 1800.0}),
        # (a slot may be booked at the end of the longest pause, the next one min_interval later)
        ({"level": 10**9, "pause_until": "inf", "next_slot": 1e300}, {"level": 6, "pause_until": 1900.0, "next_slot": 1900.5}),
        # not numbers at all: no pause, no streak
        ({"level": "many", "pause_until": None, "next_slot": [1]}, {"level": 0, "pause_until": 0.0, "next_slot": 0.0}),
        ({"level": -4, "pause_until": float("nan"), "requests": -1}, {"level": 0, "pause_until": 0.0, "requests": 0}),
        (["not", "a", "state"], {"level": 0, "pause_until": 0.0}),
    ],
)
def test_persisted_state_is_clamped_on_read(saved, expect):
    s = PolitenessState(min_interval=0.5, base_pause=60.0, max_pause=1800.0, clock=FROZEN)
    assert s.load(saved) is True
    assert {k: s.to_dict()[k] for k in expect} == expect
    assert s.reserve() <= 1800.0
    assert 0 < s.report_rate_limited().pause <= 1800.0


@pytest.mark.parametrize(
    "saved",
    [
        {"level": 2, "pause_until": 160.0, "next_slot": 101.0, "requests": 5, "rate_limited": 2},
        # the longest pause, and a slot booked at its end: what the rules themselves leave
        {"level": 6, "pause_until": 1900.0, "next_slot": 1900.5, "requests": 9, "rate_limited": 9},
    ],
)
def test_a_state_within_range_loads_unchanged(saved):
    s = PolitenessState(min_interval=0.5, base_pause=60.0, max_pause=1800.0, clock=FROZEN)
    assert s.load(saved) is False and s.to_dict() == saved


@pytest.mark.parametrize(
    "kw", [{"min_interval": -1}, {"growth": 0.5}, {"base_pause": 10, "max_pause": 5}, {"max_pause": math.inf}]
)
def test_bad_parameters(kw):
    with pytest.raises(ValueError):
        PolitenessState(**kw)


# -- both backends apply the same rules -----------------------------------------------------
@pytest.fixture(params=["file", "ray"])
def backend(request, tmp_path):
    """A fresh shared pause of each backend: 1 s spacing, 10 s base, 40 s max, frozen clock.

    Yields the pause and the list its sleeps are recorded in."""
    slept: list[float] = []
    rules = {"min_interval": 1.0, "base_pause": 10.0, "max_pause": 40.0}
    if request.param == "file":
        yield FilePoliteness(tmp_path, sleep=slept.append, clock=FROZEN, **rules), slept
    else:
        request.getfixturevalue("ray_instance")
        polite = RayPoliteness.start(name=f"test-{uuid.uuid4().hex}", clock=FROZEN, **rules)
        polite._sleep = slept.append
        yield polite, slept


def test_backends_apply_the_rules(backend, caplog):
    polite, slept = backend
    caplog.set_level(logging.INFO, logger="dance_aggregate.fetch.politeness")
    assert [polite.wait() for _ in range(3)] == [0.0, 1.0, 2.0]  # spaced, across all callers
    assert polite.penalize("k1: rate-limited") == 10.0
    assert polite.penalize("k2: rate-limited") == 10.0  # same episode: not grown
    assert polite.penalize("k3: rate-limited", retry_after=30) == 30.0  # the server's hint
    assert polite.penalize("k4: rate-limited", retry_after=1e9) == 40.0  # capped
    assert polite.wait() == 40.0  # the next request waits out the pause
    assert slept == [1.0, 2.0, 40.0]
    assert polite.status() == {"requests": 4, "rate_limited": 4, "level": 1, "paused_for": 40.0}
    polite.relax()
    assert polite.status()["level"] == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("k1: rate-limited: pausing every worker for 10 s, until ")


def test_penalty_warning_says_until_when(tmp_path, caplog):
    polite = FilePoliteness(tmp_path, base_pause=120.0, max_pause=600.0)
    caplog.set_level(logging.WARNING, logger="dance_aggregate.fetch.politeness")
    before = time.time()
    pause = polite.penalize("abc: rate-limited")
    after = time.time()
    assert pause == pytest.approx(120.0, abs=after - before + 1e-6)
    [message] = [r.getMessage() for r in caplog.records]
    until = re.fullmatch(r"abc: rate-limited: pausing every worker for 120 s, until (\d\d:\d\d:\d\d) \(.*\)", message)
    assert until, message
    # local wall-clock time of the end of the pause (the call happened between before and after)
    possible = {time.strftime("%H:%M:%S", time.localtime(t + 120.0)) for t in (before, after)}
    assert until.group(1) in possible


# -- the file backend ------------------------------------------------------------------------
def test_file_state_holds_other_processes(tmp_path: Path) -> None:
    clock = FakeClock()
    polite = FilePoliteness(tmp_path, base_pause=60.0, max_pause=600.0, clock=clock)
    assert polite.penalize("test 429") == 60.0
    # Another process (real clock) sees the pause and sleeps (its sleep reports and stops).
    code = textwrap.dedent(
        f"""
        import sys
        from dance_aggregate.fetch.politeness import FilePoliteness
        def stop(seconds):
            print(f"paused {{seconds}}")
            sys.exit(0)
        FilePoliteness({str(tmp_path)!r}, sleep=stop, clock=lambda: {clock.now + 15}).wait()
        print("not paused")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["paused", "45.0"]
    clock.now += 60
    assert polite.penalize("again") == 120.0  # the next episode is longer: the level was kept
    polite.relax()
    assert json.loads(polite.state_path.read_text())["level"] == 0


def test_file_storm_is_capped_even_from_a_strangers_file(tmp_path: Path, caplog) -> None:
    state = tmp_path / "politeness.json"
    state.write_text(json.dumps({"level": 10**12, "pause_until": 10**15}))
    clock = FakeClock()
    polite = FilePoliteness(tmp_path, base_pause=60.0, max_pause=1800.0, clock=clock)
    slept = []
    polite._sleep = slept.append
    assert polite.wait() == 1800.0  # not 10**15 - 100 s
    assert "held values out of range" in caplog.text
    assert json.loads(state.read_text())["pause_until"] == 1900.0  # written back clamped
    for _ in range(50):
        clock.now += 1800.0
        assert polite.penalize("storm") == 1800.0
    assert json.loads(state.read_text())["level"] == 6
    state.write_text("{not json")
    assert polite.wait() == 0.0  # an unreadable file is no pause


# -- the Ray backend -------------------------------------------------------------------------
def _book(client: RayPoliteness, n: int) -> list[float]:
    """A worker's requests: what it was told to wait for each (it really waits)."""
    return [client.wait() for _ in range(n)]


def _hit_rate_limit(client: RayPoliteness) -> float:
    return client.penalize("r429: rate-limited")


def test_politeness_holds_across_workers(ray_instance):
    import ray

    # The actor's clock is frozen: what each worker is told depends only on the order of
    # the calls, never on how fast this machine is.
    client = RayPoliteness.start(name=f"test-{uuid.uuid4().hex}", min_interval=0.05, base_pause=0.5, max_pause=2.0, clock=FROZEN)
    book, hit = ray.remote(num_cpus=1)(_book), ray.remote(num_cpus=1)(_hit_rate_limit)
    waits = ray.get([book.remote(client, 3) for _ in range(2)])
    # One rate for both workers: six distinct slots. (Each worker with its own state
    # would have been told 0, 0.05 and 0.1 twice.)
    assert sorted(w for batch in waits for w in batch) == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2, 0.25])
    # a 429 seen by one worker pauses the others, and the driver
    assert ray.get(hit.remote(client)) == 0.5
    assert ray.get(book.remote(client, 1)) == [0.5]
    status = client.status()
    assert status["rate_limited"] == 1 and status["level"] == 1 and status["requests"] == 7
    client.relax()
    assert client.status()["level"] == 0


def test_ray_client_pickles_by_name_only():
    c = RayPoliteness("p1", "ns")
    c._handle = object()  # a live handle never travels: workers look the actor up by name
    d = pickle.loads(pickle.dumps(c))
    assert (d.name, d.namespace, d._handle, d._sleep) == ("p1", "ns", None, time.sleep)


def test_ray_backend_without_ray_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(DanceAggregateError, match=r'pip install "dance-aggregate\[ray\]"'):
        RayPoliteness.start(name="nowhere")


def test_fetch_never_imports_the_pipeline():
    """fetch is below pipeline: the Ray backend has its own lazy `import ray`."""
    code = (
        "import sys, dance_aggregate.fetch.politeness_ray, dance_aggregate.fetch.fetcher; "
        "print([m for m in sys.modules if m.startswith('dance_aggregate.pipeline')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
