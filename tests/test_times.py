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
from dance_aggregate.output.shards import configs_in, read_config


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
    for config in configs_in(out):
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
    w01 = rows["activitynet/Wn4eLm8pQ2c_s00_w01"]  # annotated [2.625, 4.25), the file ends at 4.0
    assert (w01["start_time"], w01["num_frames"], w01["duration"]) == (2.625, 34, 1.36)
    assert abs(w01["end_time"] - 3.985) < 1e-9
    assert rows["activitynet/Wn4eLm8pQ2c_s00_w00"]["end_time"] == 2.625  # whole: annotated times kept
    with (out / "reports" / "activitynet.excluded.csv").open() as f:
        excluded = {r["id"]: r for r in csv.DictReader(f)}
    for w in ("w02", "w03"):  # past the end of the file
        assert excluded[f"activitynet/Wn4eLm8pQ2c_s00_{w}"]["reason"] == "media shorter than range"
    report = json.loads((out / "reports" / "activitynet.json").read_text())
    assert report["accounting"]["truncated"] == 1
    assert report["truncated"] == [{"id": "activitynet/Wn4eLm8pQ2c_s00_w01", "annotated": [2.625, 4.25],
                                    "stored": [2.625, 3.985], "covered": 0.8369}]
    acc = result.accounting()
    assert acc["activitynet"].truncated == 1 and "truncated: 1 row written" in acc["activitynet"].summary()
    assert acc["activitynet"].adds_up


def test_negative_start_is_stored_from_zero(built: tuple[Path, da.BuildResult]) -> None:
    out, result = built
    rows = {r["id"]: r for t in read_config(out, "kinetics600").values() for r in t.to_pylist()}
    row = rows["kinetics600/Lq7Nv2bX0sE_-00001_000001"]  # annotated [-1, 1), whole video mirrored
    assert (row["start_time"], row["end_time"], row["duration"], row["num_frames"]) == (0.0, 1.0, 1.0, 25)
    assert row["has_audio"] and row["audio"]["bytes"][:4] == b"fLaC"
    report = json.loads((out / "reports" / "kinetics600.json").read_text())
    assert [t["id"] for t in report["truncated"]] == ["kinetics600/Lq7Nv2bX0sE_-00001_000001"]
    assert result.accounting()["kinetics600"].truncated == 1
