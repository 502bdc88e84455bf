"""Torch-free decoding helpers: frames are exactly those of a full decode, whatever the method."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from dance_aggregate.errors import MediaError
from dance_aggregate.media.clip import cut_and_encode, flac_bytes
from dance_aggregate.media.decode import _index, _plan, frame_indices, read_audio, sample_frames
from dance_aggregate.media.synth import tone, write_ucf_avi, write_video
from tests.helpers_training import full_decode, write_gop_clip


@pytest.fixture(scope="module")
def gop_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gop_clip(tmp_path_factory.mktemp("decode") / "gop10.mp4", frames=120, gop=10)


@pytest.fixture(scope="module")
def gop_reference(gop_clip: Path) -> np.ndarray:
    return full_decode(gop_clip)


@pytest.fixture(scope="module")
def stored_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A clip as the builders store it (cut_and_encode: x264 default GOP, AAC audio)."""
    src = write_video(tmp_path_factory.mktemp("decode") / "src.mp4", seed=3, seconds=3.0)
    return cut_and_encode(src, 0.4, 2.6).video


@pytest.mark.parametrize("method", ["auto", "seek", "sequential"])
@pytest.mark.parametrize("num_frames", [1, 3, 8, 16, 32, 119, 200])
def test_uniform_frames_match_full_decode(gop_clip: Path, gop_reference: np.ndarray, method: str, num_frames: int) -> None:
    got = sample_frames(gop_clip, num_frames, method=method)
    want = gop_reference[frame_indices(len(gop_reference), num_frames)]
    assert got.dtype == np.uint8 and got.shape == (num_frames, 120, 160, 3)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("method", ["auto", "seek", "sequential"])
def test_random_and_explicit_indices_match_full_decode(gop_clip: Path, gop_reference: np.ndarray, method: str) -> None:
    data = gop_clip.read_bytes()
    for seed in range(5):
        got = sample_frames(data, 8, mode="random", seed=seed, method=method)
        np.testing.assert_array_equal(got, gop_reference[frame_indices(120, 8, "random", seed)])
    # unsorted, repeated, out of range (clipped), across keyframe boundaries
    idx = [119, 0, 10, 9, 11, 55, 55, 500]
    np.testing.assert_array_equal(sample_frames(data, indices=idx, method=method), gop_reference[np.clip(idx, 0, 119)])


def test_seek_plan_skips_keyframe_intervals(gop_clip: Path) -> None:
    """Few frames: the auto plan jumps over whole GOPs; many frames: one sequential run."""
    with av.open(str(gop_clip)) as c:
        index = _index(c, c.streams.video[0])
    assert index is not None and len(index.key_positions) == 12
    few = index.frame_pts[frame_indices(120, 4)]
    assert len(_plan(index, few, "auto")) == 4
    assert len(_plan(index, few, "sequential")) == 1
    assert len(_plan(index, few, "seek")) == 4
    dense = index.frame_pts[frame_indices(120, 60)]
    assert len(_plan(index, dense, "auto")) == 1  # no stretch worth a jump: one sequential run
    assert len(_plan(index, dense, "seek")) == 12  # forced: one run per keyframe interval


def test_stored_clip_row_cell_bytes_and_path_agree(stored_clip: bytes, tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(stored_clip)
    ref = full_decode(path)
    want = ref[frame_indices(len(ref), 16)]
    cell = {"bytes": stored_clip, "path": "ucf101-x.mp4"}
    for video in (stored_clip, cell, {"id": "ucf101/x", "video": cell, "audio": None}, path, str(path), {"bytes": None, "path": str(path)}):
        np.testing.assert_array_equal(sample_frames(video, 16), want)


def test_resize_and_short_clip_repeats(gop_clip: Path) -> None:
    out = sample_frames(gop_clip, 4, size=(56, 72))
    assert out.shape == (4, 56, 72, 3) and out.dtype == np.uint8
    idx = frame_indices(3, 8)  # 8 frames out of a 3-frame clip repeat frames
    assert sorted(set(idx.tolist())) == [0, 1, 2] and len(idx) == 8


def test_avi_without_mp4_timestamps_matches_full_decode(tmp_path: Path) -> None:
    avi = write_ucf_avi(tmp_path / "v_SalsaSpin_g01_c01.avi", seed=5, seconds=1.0)
    ref = full_decode(avi)
    np.testing.assert_array_equal(sample_frames(avi, 6), ref[frame_indices(len(ref), 6)])


def test_bad_inputs_raise_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="neither bytes nor path"):
        sample_frames({"bytes": None, "path": None})
    with pytest.raises(MediaError, match="null"):
        sample_frames({"id": "youtube8m/abcd", "video": None})
    with pytest.raises(MediaError, match="no video stream"):
        sample_frames(flac_bytes(tone(1, 0.5, 16000, 1), 16000))
    with pytest.raises(MediaError, match="cannot decode"):
        sample_frames(b"not a video at all" * 100)
    with pytest.raises(MediaError, match="decode=False"):
        sample_frames(12345)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        frame_indices(10, 2, "middle")


def test_read_audio_keeps_and_resamples() -> None:
    x = tone(5, 2.0, 44100, 2)  # 420 Hz
    cell = {"bytes": flac_bytes(x, 44100), "path": "a.flac"}
    same, rate = read_audio(cell)
    assert rate == 44100 and same.shape == (88200, 2) and same.dtype == np.float32
    np.testing.assert_allclose(same, x.T, atol=1e-4)  # 16-bit FLAC
    mono, rate = read_audio({"audio": cell}, 16000, mono=True)
    assert rate == 16000 and mono.ndim == 1 and abs(len(mono) - 32000) <= 64
    spectrum = np.abs(np.fft.rfft(mono))
    assert abs(np.argmax(spectrum) * 16000 / len(mono) - 420) < 2
    # a band-limited resampler: the 3.1x harmonic (1302 Hz) survives at 16 kHz, nothing aliases
    assert spectrum[int(1302 * len(mono) / 16000)] > 0.2 * spectrum.max()


def test_read_audio_from_video_track_and_errors(stored_clip: bytes, gop_clip: Path) -> None:
    samples, rate = read_audio(stored_clip, 22050)
    assert rate == 22050 and samples.shape[1] == 2 and abs(len(samples) - 2.2 * 22050) < 2048
    with pytest.raises(MediaError, match="no audio stream"):
        read_audio(gop_clip)
    with pytest.raises(MediaError, match="null"):
        read_audio({"id": "ucf101/x", "audio": None})
