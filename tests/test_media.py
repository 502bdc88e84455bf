"""Cutting and encoding with PyAV: frame-exact cuts, audio kept, browser-ready MP4."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from dance_aggregate.errors import MediaError
from dance_aggregate.media.clip import EncodeOptions, cut_and_encode, encode_frames
from dance_aggregate.media.decode import frame_indices, read_audio, sample_frames
from dance_aggregate.media.fingerprint import BLANK, HASHES_PER_SECOND
from dance_aggregate.media.synth import pattern_frame, write_video


@pytest.fixture(scope="module")
def src30(tmp_path_factory) -> Path:
    """10 s, 30 fps, 320x240 H.264 + AAC stereo 48 kHz."""
    return write_video(tmp_path_factory.mktemp("m") / "src.mp4", seed=7, seconds=10, fps=30, sample_rate=48000)


def _frames(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _top_level_boxes(data: bytes) -> list[str]:
    boxes, i = [], 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i : i + 4], "big")
        boxes.append(data[i + 4 : i + 8].decode("latin1"))
        if size < 8:
            break
        i += size
    return boxes


def test_cut_is_frame_exact_and_keeps_audio(src30):
    clip = cut_and_encode(src30, 3.3, 6.7)
    assert clip.num_frames == 102  # frames at t in [3.3, 6.7) of a 30 fps source
    assert clip.fps == 30.0 and abs(clip.duration - 3.4) < 1 / 30
    frames = _frames(clip.video)
    assert len(frames) == 102
    # The first and last frames are the source's frames 99 and 200 (H.264 is lossy: compare loosely).
    for got, idx in ((frames[0], 99), (frames[-1], 200)):
        want = pattern_frame(7, idx, 320, 240).astype(np.int16)
        errs = {j: np.abs(got.astype(np.int16) - pattern_frame(7, j, 320, 240)).mean() for j in (idx - 1, idx, idx + 1)}
        assert min(errs, key=errs.get) == idx, errs
        assert np.abs(got.astype(np.int16) - want).mean() < 6
    assert clip.has_audio and clip.sample_rate == 48000
    samples, sr = read_audio(clip.audio_flac)
    assert sr == 48000 and samples.shape[1] == 2
    assert abs(len(samples) / sr - 3.4) < 1 / 30
    with av.open(io.BytesIO(clip.video)) as c:
        a = c.streams.audio[0]
        assert a.codec_context.name == "aac"
        assert abs(float(a.duration * a.time_base) - 3.4) < 0.05


def test_mp4_is_faststart_h264_yuv420p(src30):
    clip = cut_and_encode(src30, 0, 2)
    boxes = _top_level_boxes(clip.video)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    with av.open(io.BytesIO(clip.video)) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "h264" and v.codec_context.pix_fmt == "yuv420p"


def test_downscale_keeps_aspect_and_even_sizes(src30):
    clip = cut_and_encode(src30, 0, 1, EncodeOptions(max_short_side=101))
    assert clip.height == 100 and clip.width == 134  # 320x240 -> short side 101 -> even sizes


def test_encode_is_deterministic(src30):
    a = cut_and_encode(src30, 1, 2)
    b = cut_and_encode(src30, 1, 2)
    assert a.video == b.video and a.audio_flac == b.audio_flac and a.frame_hashes == b.frame_hashes


def test_silent_source_has_no_audio(tmp_path):
    p = write_video(tmp_path / "silent.mp4", seed=3, seconds=1, audio_codec=None)
    clip = cut_and_encode(p)
    assert not clip.has_audio and clip.audio_flac is None
    with av.open(io.BytesIO(clip.video)) as c:
        assert not c.streams.audio


def test_webm_vp9_opus_source(tmp_path):
    p = write_video(tmp_path / "yt.webm", seed=4, seconds=2, video_codec="libvpx-vp9", audio_codec="libopus", sample_rate=48000)
    clip = cut_and_encode(p, 0.5, 1.5)
    assert clip.num_frames == 25 and clip.has_audio


def test_empty_range_and_garbage_are_media_errors(src30, tmp_path):
    with pytest.raises(MediaError, match=r"the video ends at 10\.000 s, before the range \[20\.000, 25\.000\)") as err:
        cut_and_encode(src30, 20, 25)  # past the end of a 10 s file
    assert err.value.reason == "media shorter than range"
    with pytest.raises(MediaError) as err:
        cut_and_encode(src30, 3.01, 3.02)  # inside the file, between two frames
    assert err.value.reason == "empty segment"
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(MediaError, match="junk.mp4") as err:
        cut_and_encode(junk)
    assert err.value.reason == "unreadable media"


def test_fingerprints_skip_blank_seconds(tmp_path):
    p = write_video(tmp_path / "intro.mp4", seed=5, seconds=4, black_intro=2.0, audio_codec=None)
    clip = cut_and_encode(p)
    intro = 2 * HASHES_PER_SECOND
    assert clip.frame_hashes[:intro] == [BLANK] * intro
    assert all(h != BLANK for h in clip.frame_hashes[intro:])


def test_encode_frames(tmp_path):
    frames = [pattern_frame(1, i, 64, 48) for i in range(30)]
    clip = encode_frames(frames, 30)
    assert (clip.num_frames, clip.width, clip.height, clip.has_audio) == (30, 64, 48, False)
    with pytest.raises(MediaError):
        encode_frames([], 30)


def test_sample_frames_and_indices(src30):
    clip = cut_and_encode(src30, 0, 2)
    out = sample_frames(clip.video, 8, size=(60, 80))
    assert out.shape == (8, 60, 80, 3) and out.dtype == np.uint8
    assert frame_indices(60, 4).tolist() == [7, 22, 37, 52]
    r1 = frame_indices(60, 4, "random", seed=1)
    assert r1.tolist() == frame_indices(60, 4, "random", seed=1).tolist()
    assert all(lo <= i < lo + 15 for i, lo in zip(r1, (0, 15, 30, 45), strict=True))
    assert sample_frames({"bytes": clip.video, "path": "x.mp4"}, 2).shape[0] == 2


def test_keyframe_every_two_seconds_so_readers_can_seek(src30):
    clip = cut_and_encode(src30)
    with av.open(io.BytesIO(clip.video)) as c:
        s = c.streams.video[0]
        key_times = [float(p.pts * s.time_base) for p in c.demux(s) if p.is_keyframe and p.pts is not None]
    gaps = [b - a for a, b in zip(key_times, key_times[1:], strict=False)]
    assert len(key_times) >= 5 and max(gaps) <= 2.0 + 1e-6, key_times
