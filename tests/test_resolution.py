"""The stored resolution: 360 short side by default for the YouTube sources and Let's Dance
(docs/scaling.md, "Resolution"), the source size for UCF101, and --max-short-side wins."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dance_aggregate.builders import registry
from dance_aggregate.errors import ConfigError
from dance_aggregate.media.synth import write_video
from dance_aggregate.pipeline.build import make_builders
from dance_aggregate.pipeline.request import BuildRequest
from tests.helpers_produce import context, produce_row


def test_defaults_per_source() -> None:
    side = {name: registry.get_config(name).builder.default_max_short_side
            for name in ("ucf101", "activitynet", "kinetics600", "letsdance")}
    assert side == {"ucf101": None, "activitynet": 360, "kinetics600": 360, "letsdance": 360}


@pytest.mark.parametrize(("flag", "want"), [(None, 360), (0, None), (256, 256)])
def test_max_short_side_overrides_the_default(tmp_path: Path, flag: int | None, want: int | None) -> None:
    req = BuildRequest(configs=["kinetics600"], data_dirs={"kinetics600": tmp_path}, output=tmp_path / "o",
                       max_short_side=flag)
    (builder,) = make_builders(req)
    assert context(builder, tmp_path / "o", max_short_side=req.max_short_side).encode.max_short_side == want


def test_max_short_side_must_be_zero_or_a_real_size(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="0 \\(keep the source size\\) or a whole number from 16 to 8192"):
        BuildRequest(max_short_side=8, output=tmp_path)


@pytest.mark.parametrize(("flag", "size"), [(None, (640, 360)), (0, (1280, 720))])
def test_a_720p_mirror_is_stored_at_360(tmp_path: Path, flag: int | None, size: tuple[int, int]) -> None:
    data = tmp_path / "k600"
    data.mkdir()
    with (data / "validate.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["label", "youtube_id", "time_start", "time_end", "split"],
                                 ["salsa dancing", "aaaaaaaaaaa", "0", "1", "val"]])
    write_video(tmp_path / "mirror" / "val" / "aaaaaaaaaaa_000000_000001.mp4", seed=1, seconds=1, width=1280,
                height=720, audio_codec=None)
    req = BuildRequest(configs=["kinetics600"], data_dirs={"kinetics600": data}, video_dirs={"kinetics600": tmp_path / "mirror"},
                       output=tmp_path / "o", max_short_side=flag)
    (builder,) = make_builders(req)
    (record,) = builder.plan().records
    row = produce_row(builder, record, tmp_path / "o", max_short_side=req.max_short_side)
    assert (row["width"], row["height"]) == size
