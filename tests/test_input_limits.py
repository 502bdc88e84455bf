"""Inputs that would make the build plan or hold too much: bounded before the work starts.

- ActivityNet: a segment's windows are counted, never listed beyond the ones kept (at most
  1,000 a segment, even with ``max_windows_per_segment=0``); a segment longer than 12 hours
  is excluded; ``max_window`` below 0.5 s is refused.
- Let's Dance: a frame is read as a stream of at most 64 MiB; a zip member declaring more,
  inflating more than 100 times its stored size, compressed with a method that inflates
  whole blocks, or a JPEG header of more than 8K pixels is one unreadable frame (filled like
  a missing one), never held whole; a frame number spanning more than an hour of frames
  excludes its clip before any gap is listed.

Memory is measured with tracemalloc only as an upper bound, never timed.
"""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import dance_aggregate as da
from dance_aggregate.builders.activitynet import ActivityNetBuilder
from dance_aggregate.builders.activitynet.builder import MAX_WINDOWS_PER_SEGMENT
from dance_aggregate.builders.letsdance import LetsDanceBuilder
from dance_aggregate.errors import ConfigError
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.media.frames import MAX_FRAME_BYTES, ClipFrames, FrameContainer, FrameTooLarge, decode_jpeg
from dance_aggregate.records import FrameRun

TAXONOMY = [{"nodeId": 136, "nodeName": "Dancing", "parentId": 0}, {"nodeId": 141, "nodeName": "Tango", "parentId": 136}]
MiB = 2**20


def peak_bytes(fn: Callable[[], Any]) -> tuple[Any, int]:
    """``(fn(), the peak of Python allocations while it ran)``."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def anet_dir(root: Path, database: dict[str, Any]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    doc = {"version": "1.3", "taxonomy": TAXONOMY, "database": database}
    (root / "activity_net.v1-3.min.json").write_text(json.dumps(doc), encoding="utf-8")
    return root


def segment_video(start: float, end: float, duration: float | None) -> dict[str, Any]:
    return {"duration": duration, "subset": "training", "annotations": [{"segment": [start, end], "label": "Tango"}]}


# -- ActivityNet windows ---------------------------------------------------------------------------
def test_a_two_hour_segment_with_the_smallest_window_plans_a_bounded_list(tmp_path: Path) -> None:
    data = anet_dir(tmp_path / "anet", {"sJFgo9H6zNo": segment_video(0, 7200, 7200)})
    opts = ActivityNetBuilder.parse_options({"max_window": "0.5", "max_windows_per_segment": "0"})
    plan, peak = peak_bytes(lambda: ActivityNetBuilder(data, opts).plan())
    assert len(plan.records) == MAX_WINDOWS_PER_SEGMENT  # "every window", up to the ceiling
    (cap,) = [e for e in plan.exclusions if e.reason == "window cap"]
    assert cap.count == 14400 - MAX_WINDOWS_PER_SEGMENT and plan.records_read == 14400
    assert f"0 keeps all, up to {MAX_WINDOWS_PER_SEGMENT}" in cap.detail
    ids = [r.id for r in plan.records]
    assert ids[0].endswith("_w00") and ids[-1].endswith("_w14399")  # spread over the whole segment
    assert peak < 64 * MiB, f"planning 1,000 windows took {peak / MiB:.0f} MiB"


def test_a_window_too_small_to_be_a_clip_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"-o activitynet.max_window must be a finite number from 0.5 to 3600 "
                                          r"\(seconds\), got 1e-09\. Fix: -o activitynet.max_window=0.5"):
        ActivityNetBuilder.parse_options({"max_window": "1e-9"})
    with pytest.raises(ConfigError, match="from 1 to 1000, got 1000000000"):
        ActivityNetBuilder.parse_options({"max_windows_per_segment": "1000000000"})


def test_a_segment_longer_than_any_youtube_video_is_one_excluded_record(tmp_path: Path) -> None:
    data = anet_dir(tmp_path / "anet", {
        "sJFgo9H6zNo": segment_video(1, 3, 20),
        "aaaaaaaaaaa": segment_video(0, 1e15, None),  # no duration to clamp it (the BSN copy has none either)
    })
    opts = ActivityNetBuilder.parse_options({"max_windows_per_segment": "0"})
    plan, peak = peak_bytes(lambda: ActivityNetBuilder(data, opts).plan())
    assert [r.id for r in plan.records] == ["activitynet/sJFgo9H6zNo_s00_w00"]
    (bad,) = plan.exclusions
    assert bad.reason == "invalid segment" and "upload limit" in bad.detail and bad.count == 1
    assert plan.records_read == 2 and peak < 16 * MiB


# -- Let's Dance frames ----------------------------------------------------------------------------
def jpeg(w: int = 64, h: int = 36, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "JPEG")
    return buf.getvalue()


def jpeg_declaring(w: int, h: int) -> bytes:
    """A small JPEG whose header (SOF0) declares ``w`` x ``h`` pixels."""
    data = bytearray(jpeg(16, 16))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = h.to_bytes(2, "big") + w.to_bytes(2, "big")
    return bytes(data)


def write_zeros(zf: zipfile.ZipFile, name: str, size: int, method: int = zipfile.ZIP_DEFLATED) -> None:
    """A member of ``size`` zero bytes, written in 1 MiB steps (never held whole)."""
    info = zipfile.ZipInfo(name)
    info.compress_type = method
    with zf.open(info, "w") as w:
        for start in range(0, size, MiB):
            w.write(bytes(min(MiB, size - start)))


CLIP = "rgb/ballet/0DvqbnEtyNY_053_{:04d}.jpg"


@pytest.fixture(scope="module")
def bomb_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 good frames of one clip, frame 7 a member inflating to 65 MiB (64 KiB stored), and
    stray members: a 2 MiB member stored 500 times smaller, a bzip2 member, a JPEG whose
    header declares 9000x5000 pixels and one declaring 60000x60000."""
    path = tmp_path_factory.mktemp("zip") / "letsdance.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(1, 14):
            if i == 7:
                write_zeros(zf, CLIP.format(i), MAX_FRAME_BYTES + MiB)
            else:
                zf.writestr(CLIP.format(i), jpeg(color=(20 * i, 30, 30)))
        write_zeros(zf, "extra/ratio.jpg", 2 * MiB)
        zf.writestr(zipfile.ZipInfo("extra/bzip2.jpg"), jpeg(), compress_type=zipfile.ZIP_BZIP2)
        zf.writestr("extra/8k-plus.jpg", jpeg_declaring(9000, 5000))
        zf.writestr("extra/huge.jpg", jpeg_declaring(60000, 60000))
    return path


@pytest.mark.parametrize(("member", "why"), [
    (CLIP.format(7), f"inflates to {MAX_FRAME_BYTES + MiB} bytes"),
    ("extra/ratio.jpg", "more than 100 times"),
    ("extra/bzip2.jpg", "compressed with zip method 12"),
])
def test_a_zip_member_is_refused_before_it_is_inflated(bomb_zip: Path, member: str, why: str) -> None:
    container = FrameContainer(bomb_zip)
    with pytest.raises(FrameTooLarge, match=why):
        container.read(member)
    assert container.size(member) is None
    _, peak = peak_bytes(lambda: _refused(container, member))
    assert peak < 2 * MiB, f"refusing {member} took {peak / MiB:.1f} MiB"


def _refused(container: FrameContainer, member: str) -> None:
    try:
        container.read(member)
    except FrameTooLarge:
        return
    raise AssertionError(f"{member} was read")


@pytest.mark.parametrize("member", ["extra/8k-plus.jpg", "extra/huge.jpg"])
def test_a_frame_declaring_too_many_pixels_is_never_decoded(bomb_zip: Path, member: str) -> None:
    container = FrameContainer(bomb_zip)
    data = container.read(member)  # a few hundred bytes: reading is fine, decoding is not
    assert len(data) < 4096
    with pytest.raises((FrameTooLarge, Image.DecompressionBombError)):
        decode_jpeg(data, None)
    assert container.size(member) is None  # never the clip's size


def test_a_bomb_frame_is_one_unreadable_frame_and_memory_stays_small(bomb_zip: Path) -> None:
    run = FrameRun(container=str(bomb_zip), frames=tuple((i, CLIP.format(i)) for i in range(1, 14)), first=1, expected=13,
                   max_missing=0.1)

    def decode_all() -> tuple[ClipFrames, int]:
        reader = ClipFrames(FrameContainer(bomb_zip), run, "letsdance/0DvqbnEtyNY_053", None)
        return reader, sum(1 for _ in reader.frames())

    (reader, n), peak = peak_bytes(decode_all)
    assert n == 13 and reader.size == (64, 36)
    assert [m for m, _ in reader.unreadable] == [CLIP.format(7)] and "not inflated" in reader.unreadable[0][1]
    assert peak < 16 * MiB, f"{peak / MiB:.0f} MiB for 13 small frames and one refused member"


def test_a_folder_frame_too_big_is_not_read(tmp_path: Path) -> None:
    big = tmp_path / "ballet" / "0DvqbnEtyNY_053_0002.jpg"
    big.parent.mkdir()
    with open(big, "wb") as f:
        f.truncate(MAX_FRAME_BYTES + 1)  # sparse: nothing written
    container = FrameContainer(tmp_path)
    _, peak = peak_bytes(lambda: _refused(container, "ballet/0DvqbnEtyNY_053_0002.jpg"))
    assert peak < 2 * MiB and container.size("ballet/0DvqbnEtyNY_053_0002.jpg") is None


def test_a_build_stores_the_clip_with_its_bomb_frame_filled(bomb_zip: Path, tmp_path: Path) -> None:
    result = da.build(configs=["letsdance"], data_dirs={"letsdance": bomb_zip}, output=tmp_path / "out",
                      progress=False, fetch=FetchOptions(offline=True), max_short_side=32)
    acc = result.accounting()["letsdance"]
    assert result.ok and acc.rows_written == 1 and acc.adds_up, (result.failures, acc.excluded)


def test_a_frame_number_past_an_hour_excludes_its_clip_before_gaps_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "ld.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in (1, 2, 3):
            zf.writestr(CLIP.format(i), b"x")
            zf.writestr(f"rgb/waltz/-2W1PfHleRM_033_{i:04d}.jpg", b"x")
        zf.writestr("rgb/ballet/0DvqbnEtyNY_053_99999999999.jpg", b"x")
    plan, peak = peak_bytes(lambda: LetsDanceBuilder(path).plan())
    assert [r.source_id for r in plan.records] == ["-2W1PfHleRM_033"]
    (bad,) = plan.exclusions
    assert bad.reason == "invalid frame number" and "99999999999" in bad.detail and bad.split is not None
    assert peak < 16 * MiB
