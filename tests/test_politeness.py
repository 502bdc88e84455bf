"""The cluster-wide politeness rules (plain state; the Ray actor is tested in test_runners_ray)."""

from __future__ import annotations

import pickle

import pytest

from dance_aggregate.fetch.politeness_ray import PolitenessState, RayPoliteness


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


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
    assert s.report_rate_limited() == 10.0
    assert s.reserve() == 10.0  # any worker now waits out the pause
    clock.now += 10
    assert s.report_rate_limited() == 20.0  # second episode in a row: doubled
    clock.now += 20
    assert s.report_rate_limited() == 25.0  # capped at max_pause
    clock.now += 25
    assert s.report_rate_limited(seconds=90) == 90.0  # a longer Retry-After wins over the cap
    clock.now += 90
    s.report_ok()
    assert s.report_rate_limited() == 10.0  # a success ends the streak
    assert s.status()["strikes"] == 1


def test_reports_during_a_pause_are_the_same_episode():
    clock = FakeClock()
    s = PolitenessState(min_interval=0.0, base_pause=10.0, clock=clock)
    s.report_rate_limited()
    clock.now += 1
    # other workers' requests sent before the pause fail too: no growth...
    assert s.report_rate_limited() == 9.0
    # ...but a server hint still extends the pause
    assert s.report_rate_limited(seconds=30) == 30.0
    assert s.status()["strikes"] == 1 and s.status()["rate_limited"] == 3


@pytest.mark.parametrize("kw", [{"min_interval": -1}, {"growth": 0.5}, {"base_pause": 10, "max_pause": 5}])
def test_bad_parameters(kw):
    with pytest.raises(ValueError):
        PolitenessState(**kw)


def test_client_pickles_by_name_only():
    c = RayPoliteness("p1", "ns")
    c._handle = object()  # a live handle never travels: workers look the actor up by name
    d = pickle.loads(pickle.dumps(c))
    assert (d.name, d.namespace, d._handle) == ("p1", "ns", None)
