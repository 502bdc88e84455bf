"""Every row's times agree with its media, in every config of a whole sample build.

The sample holds the real-world cases: an ActivityNet video whose file is shorter than the
annotation says (a window across its end, windows past it) and a Kinetics row that starts
before its video (a negative ``time_start``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import av
import pytest

import dance_aggregate as da
from dance_aggregate.output.folder import BuiltFolder, read_config


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, da.BuildResult]:
    root = tmp_path_factory.mktemp("times")
    out = root / "dance_aggregate"
    result = da.build(sample=True, output=out, cache_dir=root / "cache", progress=False)
    assert not result.failures
    return out, result


def _decoded_frames(data: bytes) -> tuple[int, float]:
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        times = [f.time for f in c.decode(s)]
    return len(times), (max(times) - min(times)) if times else 0.0


def test_every_row_of_every_config_matches_its_media(built: tuple[Path, da.BuildResult]) -> None:
    out, _ = built
    checked = 0
    for config in BuiltFolder.open(out).configs:
        for split, table in read_config(out, config).items():
            for row in table.to_pylist():
                if row["video"] is None:
                    continue  # feature-only rows (YouTube-8M)
                where = f"{config}/{split}/{row['id']}"
                frame = 1.0 / row["fps"]
                n, span = _decoded_frames(row["video"]["bytes"])
                assert n == row["num_frames"], where  # what PyAV decodes from the stored bytes
                assert abs(row["duration"] - n / row["fps"]) <= frame + 1e-6, where
                assert abs(span + frame - row["duration"]) <= frame + 1e-6, where
                if row["start_time"] is not None and row["end_time"] is not None:
                    assert row["start_time"] >= 0, where
                    assert abs((row["end_time"] - row["start_time"]) - row["duration"]) <= frame + 1e-6, where
                    checked += 1
    assert checked >= 10


def test_short_media_is_stored_with_its_true_end_and_counted(built: tuple[Path, da.BuildResult]) -> None:
    out, result = built
    rows = {r["id"]: r for t in read_config(out, "activitynet").values() for r in t.to_pylist()}
    # Wn4eLm8pQ2c: segment [1, 7.5] in 4 windows of 1.625 s, the cap keeps w00, w02, w03;
    # the mirror file ends at 5.2 s (the annotation says 8 s).
    w02 = rows["activitynet/Wn4eLm8pQ2c_s00_w02"]  # annotated [4.25, 5.875)
    frame = 1 / w02["fps"]
    assert w02["start_time"] == 4.25 and abs(w02["end_time"] - (w02["start_time"] + w02["duration"])) < 1e-6
    assert abs(w02["duration"] - w02["num_frames"] / w02["fps"]) <= frame
    assert 5.2 - 2 * frame < w02["end_time"] <= 5.2 + frame  # the true end, not 5.875
    assert rows["activitynet/Wn4eLm8pQ2c_s00_w00"]["end_time"] == 2.625  # whole: annotated times kept
    with (out / "reports" / "activitynet.excluded.csv").open() as f:
        excluded = {r["id"]: r for r in csv.DictReader(f)}
    assert excluded["activitynet/Wn4eLm8pQ2c_s00_w03"]["reason"] == "media shorter than range"  # past the end
    report = json.loads((out / "reports" / "activitynet.json").read_text())
    assert report["accounting"]["truncated"] == 1
    [note] = report["truncated"]
    assert note["id"] == "activitynet/Wn4eLm8pQ2c_s00_w02" and note["annotated"] == [4.25, 5.875]
    assert note["stored"] == [4.25, round(w02["end_time"], 6)] and 0.5 <= note["covered"] < 0.6
    acc = result.accounting()
    assert acc["activitynet"].truncated == 1 and "truncated: 1 row written" in acc["activitynet"].summary()
    assert acc["activitynet"].adds_up


def test_negative_start_is_excluded_with_its_reason(built: tuple[Path, da.BuildResult]) -> None:
    """A negative time_start is never stored (as -1 s or silently shifted): the row is
    excluded as `negative time` when the annotations are read (the cut itself clamps a
    negative start to 0 for other callers, see test_cut)."""
    out, result = built
    rows = {r["id"] for t in read_config(out, "kinetics600").values() for r in t.to_pylist()}
    assert not any(r.startswith("kinetics600/Lq7Nv2bX0sE") for r in rows)
    with (out / "reports" / "kinetics600.excluded.csv").open() as f:
        excluded = {r["id"]: r for r in csv.DictReader(f)}
    assert excluded["kinetics600/Lq7Nv2bX0sE"]["reason"] == "negative time"
    assert "time_start '-1' is negative" in excluded["kinetics600/Lq7Nv2bX0sE"]["detail"]
    assert result.accounting()["kinetics600"].excluded["negative time"] == 1
