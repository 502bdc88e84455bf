"""The windows of one source file are cut in one pass: units never split them, a pass gives
the same bytes as one window at a time, and 1 or N workers give the same folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.pipeline.execute import produce_records
from dance_aggregate.pipeline.units import plan_units
from dance_aggregate.records import Produced
from dance_aggregate.sample.makers import make_sample
from tests.helpers_produce import context
from tests.helpers_runners import build_sample, folder_snapshot, sample_builder


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    return make_sample(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def anet(sample, tmp_path_factory: pytest.TempPathFactory):
    src = next(s for s in sample if s.config == "activitynet")
    # Every window of a segment (no cap): the sample's Wn4eLm8pQ2c segment gives 4 windows of
    # 1.625 s from 1.0 s; its mirror file ends at 5.2 s (w02 truncated, w03 past the end).
    src = replace(src, options={**src.options, "max_windows_per_segment": "0"})
    return sample_builder(src)


@pytest.fixture(scope="module")
def anet_ctx(anet, tmp_path_factory: pytest.TempPathFactory):
    return context(anet, tmp_path_factory.mktemp("anet"), fetch=FetchOptions(offline=True))


def test_units_never_split_the_windows_of_one_file(anet, anet_ctx, sample, tmp_path: Path) -> None:
    records = anet.plan().records
    keys = [anet_ctx.pass_key(r) for r in sorted(records, key=lambda r: r.id)]
    assert max(keys.count(k) for k in set(keys)) >= 4  # one video gives several windows
    units = plan_units(anet_ctx, records, tmp_path, part_size=2)
    where = {}
    for i, unit in enumerate(units):
        for r in unit.records:
            where.setdefault(anet_ctx.pass_key(r), set()).add(i)
    assert all(len(u) == 1 for u in where.values()), where
    assert sorted(r.id for u in units for r in u.records) == sorted(r.id for r in records)
    assert max(len(u.records) for u in units) > 2  # a group may exceed part_size
    # Records that do not share files (a UCF101 clip each) keep plain part_size units.
    ucf = sample_builder(next(s for s in sample if s.config == "ucf101"))
    ucf_records = ucf.plan().records
    ucf_ctx = context(ucf, tmp_path)
    assert len({ucf_ctx.pass_key(r) for r in ucf_records}) == len(ucf_records)
    assert all(len(u.records) <= 2 for u in plan_units(ucf_ctx, ucf_records, tmp_path, part_size=2))


def test_a_pass_gives_the_bytes_of_one_window_at_a_time(anet, anet_ctx) -> None:
    records = [r for r in anet.plan().records if r.youtube_id == "Wn4eLm8pQ2c"]
    assert len(records) == 4
    together = produce_records(records, anet_ctx)
    alone = (produce_records(records[:1], anet_ctx) + produce_records(records[1:2], anet_ctx)
             + [produce_records([r], anet_ctx)[0] for r in records[2:]])
    for a, b in zip(alone, together, strict=True):
        if isinstance(a, Produced):
            assert isinstance(b, Produced) and a.rows == b.rows and a.truncated == b.truncated
        else:
            assert type(a) is type(b) and str(a) == str(b)
    assert [isinstance(p, Produced) for p in together] == [True, True, True, False]
    assert together[2].truncated and not together[1].truncated  # type: ignore[union-attr]


def test_one_and_two_workers_give_the_same_folder(sample, tmp_path: Path) -> None:
    configs = ("activitynet", "kinetics600")
    one, two = tmp_path / "one" / "out", tmp_path / "two" / "out"  # one name: the card names its folder
    build_sample(sample, one, configs, part_size=2, workers=1)
    build_sample(sample, two, configs, part_size=3, workers=2)
    assert folder_snapshot(one) == folder_snapshot(two)
