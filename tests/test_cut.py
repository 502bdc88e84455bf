"""Cutting with seeks and one-pass windows, media shorter than its range, damaged media, and
libav's warnings logged with the record they belong to."""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from dance_aggregate.errors import MediaError
from dance_aggregate.media.clip import EncodedClip, Window, cut_and_encode, cut_windows
from dance_aggregate.media.synth import pattern_frame, write_video

MEDIA = Path(__file__).parent / "data" / "media"


@pytest.fixture(scope="module")
def far_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s, 25 fps, H.264 + AAC with keyframes only at 0 s and 10 s."""
    return write_video(tmp_path_factory.mktemp("far") / "far.mp4", seed=11, seconds=12, fps=25, keyint=250)


@pytest.fixture(scope="module")
def src30(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s, 30 fps, 320x240 H.264 + AAC stereo 48 kHz."""
    return write_video(tmp_path_factory.mktemp("m") / "src.mp4", seed=7, seconds=10, fps=30, sample_rate=48000)


def _frames(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _closest(frame: np.ndarray, seed: int, candidates: range, w: int, h: int) -> int:
    errs = {j: np.abs(frame.astype(np.int16) - pattern_frame(seed, j, w, h)).mean() for j in candidates}
    return min(errs, key=errs.__getitem__)


def _same(a: EncodedClip | MediaError, b: EncodedClip | MediaError) -> bool:
    if isinstance(a, MediaError) or isinstance(b, MediaError):
        return isinstance(a, MediaError) and isinstance(b, MediaError) and (a.reason, str(a)) == (b.reason, str(b))
    return (a.video, a.audio_flac, a.frame_hashes, a.num_frames, a.start, a.truncated) == (
        b.video, b.audio_flac, b.frame_hashes, b.num_frames, b.start, b.truncated)


def test_seek_with_keyframes_far_apart_is_frame_exact(far_keys: Path) -> None:
    with av.open(str(far_keys)) as c:
        s = c.streams.video[0]
        keys = [round(float(p.pts * s.time_base), 3) for p in c.demux(s) if p.is_keyframe and p.pts is not None]
    assert keys == [0.0, 10.0]
    # 6.2 s is 155 frames past the only keyframe before it: decoded from there, not from 6.2.
    clip = cut_and_encode(far_keys, 6.2, 8.6)
    frames = _frames(clip.video)
    assert clip.num_frames == len(frames) == 60  # frames 155..214 at 25 fps
    assert _closest(frames[0], 11, range(152, 159), 320, 240) == 155
    assert _closest(frames[-1], 11, range(211, 218), 320, 240) == 214
    after = cut_and_encode(far_keys, 10.4, 11.0)  # past the second keyframe
    assert after.num_frames == 15 and _closest(_frames(after.video)[0], 11, range(257, 263), 320, 240) == 260
    assert not clip.truncated and abs(clip.duration - 2.4) < 1e-9 and clip.has_audio


@pytest.mark.parametrize("name", ["mp4-aac", "avi-mp3", "mkv-opus", "far-keys"])
def test_one_pass_is_byte_identical_to_one_window_at_a_time(name: str, src30: Path, far_keys: Path) -> None:
    source = {"mp4-aac": src30, "avi-mp3": MEDIA / "test.avi", "mkv-opus": MEDIA / "flipping_a_pancake.mkv",
              "far-keys": far_keys}[name]
    windows = [
        Window(1.1, 3.2, "a"), Window(3.2, 5.3, "b"),  # consecutive, as ActivityNet windows
        Window(2.0, 4.0, "c"),  # overlapping both
        Window(4.9, 6.1, "d"),
        Window(9.0, 14.0, "e"),  # past the end: truncated or excluded, alike
        Window(-1.0, 0.5, "f"),  # negative start
    ]
    together = cut_windows(source, windows)
    alone = []
    for w in windows:
        try:
            alone.append(cut_and_encode(source, w.start, w.end, label=w.label))
        except MediaError as exc:
            alone.append(exc)
    assert [_same(a, b) for a, b in zip(alone, together, strict=True)] == [True] * len(windows)
    assert all(isinstance(c, EncodedClip) and c.has_audio for c in together[:4])


def test_source_ending_before_the_range_keeps_its_true_end_or_is_excluded() -> None:
    avi = MEDIA / "test.avi"  # 6.56 s
    clip = cut_and_encode(avi, 2.0, 8.0)  # covers 4.6 of 6 s (77 %)
    assert clip.truncated and clip.start == 2.0 and clip.requested == (2.0, 8.0)
    assert clip.num_frames == 115 and abs(clip.duration - 4.6) < 1e-9
    with av.open(io.BytesIO(clip.video)) as c:
        assert sum(1 for _ in c.decode(video=0)) == clip.num_frames
    with pytest.raises(MediaError, match=r"covers \[5\.000, 6\.600\) s, 1\.60 s of the 5\.00 s range") as err:
        cut_and_encode(avi, 5.0, 10.0)  # 32 %: below min_coverage
    assert err.value.reason == "media shorter than range"
    whole = cut_and_encode(avi, 1.0, 3.0)
    assert not whole.truncated and whole.num_frames == 50


def test_negative_start_is_clamped_to_zero(src30: Path) -> None:
    clip = cut_and_encode(src30, -2.0, 3.0)
    assert clip.start == 0.0 and clip.num_frames == 90 and clip.truncated  # [0, 3) of [-2, 3)
    assert _closest(_frames(clip.video)[0], 7, range(0, 3), 320, 240) == 0


def test_truncated_file_is_corrupt_media_naming_the_time(tmp_path: Path) -> None:
    """A copy cut short (as an interrupted download) is damaged, not a short video: the AVI
    header still declares 6.56 s, the frames stop at 2.44 s."""
    bad = tmp_path / "v_SalsaSpin_g01_c01.avi"
    data = (MEDIA / "test.avi").read_bytes()
    bad.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(MediaError) as err:
        cut_and_encode(bad, label="ucf101/v_SalsaSpin_g01_c01")
    assert err.value.reason == "corrupt media"
    assert "decoding stopped at 2.44 s but the file declares 6.56 s" in str(err.value)
    assert "v_SalsaSpin_g01_c01.avi" in str(err.value) and "ucf101/v_SalsaSpin_g01_c01" in str(err.value)
    before = cut_and_encode(bad, 0.0, 2.0)  # the part before the damage is whole
    assert before.num_frames == 49 and not before.truncated  # AVI B-frames: first frame at 0.04 s
    with pytest.raises(MediaError) as err:
        cut_and_encode(bad, 1.0, 4.0)
    assert err.value.reason == "corrupt media"


def test_truncated_matroska_uses_the_declared_stream_duration(tmp_path: Path) -> None:
    bad = tmp_path / "clip.mkv"
    data = (MEDIA / "flipping_a_pancake.mkv").read_bytes()
    bad.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(MediaError, match=r"decoding stopped at 3\.93 s but the file declares 10\.33 s") as err:
        cut_and_encode(bad, 2.0, 8.0)
    assert err.value.reason == "corrupt media"
    # The whole file ends at its video's DURATION tag (10.333 s), not at the longer audio.
    assert not cut_and_encode(MEDIA / "flipping_a_pancake.mkv", 5.0, 10.3).truncated


def test_decoder_error_partway_is_corrupt_media(tmp_path: Path, src30: Path) -> None:
    """A faststart MP4 whose data is cut: the index promises frames the file lacks."""
    whole = cut_and_encode(src30).video
    bad = tmp_path / "cut.mp4"
    bad.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(MediaError, match=r"(decoding failed after|decoding stopped at) \d+\.\d\d s") as err:
        cut_and_encode(bad, 1.0, 9.0)
    assert err.value.reason == "corrupt media"


def test_libav_warnings_are_logged_with_the_record(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "short.avi"
    data = (MEDIA / "test.avi").read_bytes()
    bad.write_bytes(data[: int(len(data) * 0.4)])
    caplog.set_level(logging.WARNING)
    with pytest.raises(MediaError):
        cut_and_encode(bad, label="ucf101/v_Test_g01_c01")  # reads up to the cut
    libav = [r for r in caplog.records if r.name == "dance_aggregate.media.avlog"]
    assert libav, "the truncated AVI makes libav warn"
    assert all(r.getMessage().startswith("ucf101/v_Test_g01_c01: ") for r in libav)
    assert any("Packet corrupt" in r.getMessage() and "(libav avi)" in r.getMessage() for r in libav)
    assert not [r for r in caplog.records if r.name.startswith("libav")]  # no bare lines


def test_windows_of_a_pass_get_their_own_libav_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = tmp_path / "short.avi"
    data = (MEDIA / "test.avi").read_bytes()
    bad.write_bytes(data[: int(len(data) * 0.4)])
    caplog.set_level(logging.WARNING)
    results = cut_windows(bad, [Window(0.0, 1.0, "w00"), Window(1.0, 2.0, "w01"), Window(2.0, 3.0, "w02")])
    assert [isinstance(r, EncodedClip) for r in results] == [True, True, False]
    assert isinstance(results[2], MediaError) and results[2].reason == "corrupt media"
    lines = [r.getMessage() for r in caplog.records if r.name == "dance_aggregate.media.avlog"]
    assert lines and all(line.split(":")[0] in ("w00", "w01", "w02", "w00, w01", "w01, w02") for line in lines)


def test_unopenable_file_fails_every_window(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(MediaError, match="junk.mp4") as err:
        cut_windows(junk, [Window(0, 1, "a"), Window(1, 2, "b")])
    assert err.value.reason == "unreadable media"


def test_bytes_and_file_objects_cut_like_paths(src30: Path) -> None:
    a = cut_and_encode(src30, 1.0, 2.0)
    b = cut_and_encode(src30.read_bytes(), 1.0, 2.0)
    with src30.open("rb") as f:
        c = cut_and_encode(f, 1.0, 2.0)
    assert a.video == b.video == c.video and a.audio_flac == b.audio_flac == c.audio_flac


def test_real_avi_copy_is_untouched(tmp_path: Path) -> None:
    """The committed real AVI the tests truncate copies of is itself whole."""
    copy = tmp_path / "t.avi"
    shutil.copy(MEDIA / "test.avi", copy)
    clip = cut_and_encode(copy)
    assert clip.num_frames == 164 and not clip.truncated and clip.has_audio


def _late_start_source(path: Path, origin: float) -> Path:
    """8 s of H.264 + AAC whose timestamps begin at ``origin`` s (as a clip stream-copied out
    of a longer video keeps them); silent for the first 2 s of the video, a tone after."""
    return write_video(path, 5, seconds=8.0, fps=25, width=160, height=120, start=origin, silent_until=2.0)


def test_times_count_from_the_start_of_the_video_when_its_timestamps_do_not(tmp_path: Path) -> None:
    """A file whose timestamps begin at 5 s: times count from its first frame, as FFmpeg's
    ``-ss`` counts them (before, [1, 3) was excluded as empty and [6, 8) held the frames of 1-3 s)."""
    import soundfile

    src = _late_start_source(tmp_path / "late.mp4", origin=5.0)
    quiet, early, late = cut_windows(src, [Window(0.0, 1.0, "q"), Window(1.0, 3.0, "a"), Window(6.0, 8.0, "b")])
    assert isinstance(early, EncodedClip) and isinstance(late, EncodedClip) and isinstance(quiet, EncodedClip)
    assert (early.start, early.num_frames, late.start, late.num_frames) == (1.0, 50, 6.0, 50)
    assert not early.truncated and not late.truncated
    assert _closest(_frames(early.video)[0], 5, range(20, 31), 160, 120) == 25
    assert _closest(_frames(late.video)[0], 5, range(145, 156), 160, 120) == 150
    assert _closest(_frames(late.video)[-1], 5, range(194, 200), 160, 120) == 199
    # Audio follows the video's time: [0, 1) s is in the silent part (stored without audio).
    assert (quiet.has_audio, quiet.audio_flac, quiet.silent_audio) == (False, None, "digital silence")
    loud = float(np.sqrt(np.mean(soundfile.read(io.BytesIO(late.audio_flac))[0] ** 2)))
    assert loud > 0.1, f"audio follows the video's time: RMS {loud}"
    assert _same(cut_and_encode(src, 6.0, 8.0, label="b"), late)  # one pass = one window at a time


def test_a_hole_in_the_frames_holds_the_frame_before_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A variable-rate source with no frames for 1.56 s: the clip keeps a constant rate and
    the source's times (the frame before the hole fills it, as FFmpeg's constant-rate
    output does), and says so; before, the frames after the hole were moved 1.56 s earlier
    and the clip was stored as truncated, out of sync with its audio."""
    # frames 0-30 at 0-1.2 s, then 31-99 from 2.8 s on
    times = [(i if i <= 30 else i + 39) / 25 for i in range(100)]
    src = write_video(tmp_path / "holes.mp4", 9, fps=25, width=160, height=120, audio_codec=None, frame_times=times)
    with caplog.at_level(logging.WARNING):
        clip = cut_and_encode(src, 1.0, 3.0, label="kinetics600/holes")
    assert (clip.num_frames, clip.duration, clip.truncated) == (50, 2.0, False)
    shown = [_closest(f, 9, range(20, 40), 160, 120) for f in _frames(clip.video)]
    # slot k (at 1.0 + k/25 s) shows the last source frame that began before its middle
    assert shown[:6] == [25, 26, 27, 28, 29, 30]
    assert shown[6:45] == [30] * 39  # 1.24-2.76 s: no source frame, the one at 1.2 s holds
    assert shown[45:] == [31, 32, 33, 34, 35]  # 2.8 s on: frame 31 at its own time
    assert "no source frame in [1.24, 2.80) s: the frame at 1.20 s is held there (39 frames)" in caplog.text
    assert "kinetics600/holes" in caplog.text


def test_timestamps_that_jitter_by_a_frame_keep_every_frame_in_order(tmp_path: Path) -> None:
    """Timestamps a frame off, as an AVI's packed B-frames give them (the real Xvid sample
    stamps its frame of 0.12 s as 0.16 s, the same as the next one), or jittering by most
    of a frame: every frame is stored once, in order, none dropped for a copy of another."""
    stamps = [0, 40, 120, 121, 160, 215, 225, 280, 305, 360, *range(400, 2000, 40)]  # ms
    src = write_video(tmp_path / "jitter.mkv", 6, fps=25, width=160, height=120, audio_codec=None,
                      frame_times=[ms / 1000 for ms in stamps])
    clip = cut_and_encode(src, 0.0, 2.0)
    assert clip.num_frames == len(stamps) == 50
    shown = [_closest(f, 6, range(max(0, i - 3), i + 4), 160, 120) for i, f in enumerate(_frames(clip.video))]
    assert shown == list(range(50))
