"""Digital silence is no sound: a clip whose source audio track holds only silence (as YouTube
leaves a video whose music it muted) is stored with ``has_audio`` false, no FLAC and no audio
track in its MP4; quiet but real sound, and a clip silent for only part of it, keep their audio.
The threshold and its figures: docs/audio.md."""

from __future__ import annotations

import io
import json
import logging
import math
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile

from dance_aggregate.media.audio import flac_bytes
from dance_aggregate.media.clip import EncodedClip, Window, cut_and_encode, cut_windows
from dance_aggregate.media.silence import DIGITAL_SILENCE, NO_AUDIO_SAMPLES, SILENCE_PEAK, SILENCE_PEAK_DBFS, is_silent, peak
from dance_aggregate.media.synth import write_video

SECONDS = 3.0
#: (video codec, audio codec, container, suffix, sample rate): the audio codecs the sources
#: bring: AAC in MP4 (YouTube, Kinetics mirrors), Opus in Matroska (yt-dlp's merges), MP3
#: in AVI (UCF101).
CODECS = {
    "aac": ("libx264", "aac", None, "mp4", 44100),
    "opus": ("libx264", "libopus", "matroska", "mkv", 48000),
    "mp3": ("mpeg4", "libmp3lame", "avi", "avi", 44100),
}


def _source(folder: Path, codec: str, samples: np.ndarray | None, name: str = "src") -> Path:
    """A 3 s, 160x120 video of seed 4 whose audio track holds ``samples`` (``None``: no
    audio track)."""
    video, audio, fmt, suffix, rate = CODECS[codec]
    return write_video(folder / f"{name}-{codec}.{suffix}", 4, seconds=SECONDS, width=160, height=120,
                       video_codec=video, audio_codec=audio if samples is not None else None, container_format=fmt,
                       codec_tag="XVID" if video == "mpeg4" else None, sample_rate=rate, audio_samples=samples)


def _tone(rate: int, peak_dbfs: float, silent: tuple[float, float] | None = None) -> np.ndarray:
    """A 1 kHz stereo tone peaking at ``peak_dbfs``, zeros over ``silent`` (s)."""
    t = np.arange(int(SECONDS * rate)) / rate
    x = 10 ** (peak_dbfs / 20) * np.sin(2 * np.pi * 1000.0 * t)
    if silent is not None:
        x[(t >= silent[0]) & (t < silent[1])] = 0.0
    return np.stack([x, x]).astype(np.float32)


def _streams(clip: EncodedClip) -> list[str]:
    with av.open(io.BytesIO(clip.video)) as c:
        return [s.type for s in c.streams]


def _flac_peak_dbfs(clip: EncodedClip) -> float:
    assert clip.audio_flac is not None
    data = soundfile.read(io.BytesIO(clip.audio_flac))[0]
    return 20 * math.log10(float(np.abs(data).max()))


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_a_track_of_digital_silence_is_stored_as_no_audio(codec: str, tmp_path: Path) -> None:
    rate = CODECS[codec][4]
    src = _source(tmp_path, codec, np.zeros((2, int(SECONDS * rate)), np.float32))
    with av.open(str(src)) as c:
        assert c.streams.audio, "the source has an audio track (of zeros)"
    clip = cut_and_encode(src, 0.5, 2.5, label="kinetics600/muted")
    assert (clip.has_audio, clip.audio_flac, clip.sample_rate) == (False, None, None)
    assert clip.silent_audio == DIGITAL_SILENCE
    assert clip.audio_peak_dbfs is not None and clip.audio_peak_dbfs <= SILENCE_PEAK_DBFS
    assert _streams(clip) == ["video"], "no silent AAC track in the MP4 either"


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("level", [-60.0, -80.0])
def test_quiet_but_real_sound_keeps_its_audio(codec: str, level: float, tmp_path: Path) -> None:
    rate = CODECS[codec][4]
    clip = cut_and_encode(_source(tmp_path, codec, _tone(rate, level)), 0.5, 2.5)
    assert clip.has_audio and clip.silent_audio is None and _streams(clip) == ["video", "audio"]
    assert clip.audio_peak_dbfs is not None and abs(clip.audio_peak_dbfs - level) < 2.0, clip.audio_peak_dbfs
    assert abs(_flac_peak_dbfs(clip) - level) < 2.0  # the FLAC holds the tone, not zeros


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_a_clip_silent_for_part_of_it_is_sound(codec: str, tmp_path: Path) -> None:
    """A track muted from 1.5 s on (YouTube mutes the claimed part of a video): the window
    inside the muted part is silence, the one across its start keeps its audio, and the
    same windows cut one at a time give the same result."""
    rate = CODECS[codec][4]
    src = _source(tmp_path, codec, _tone(rate, -20.0, silent=(1.5, SECONDS)))
    windows = [Window(0.5, 2.0, "across"), Window(2.0, 3.0, "muted")]
    across, muted = cut_windows(src, windows)
    assert isinstance(across, EncodedClip) and isinstance(muted, EncodedClip)
    assert across.has_audio and across.silent_audio is None and abs(_flac_peak_dbfs(across) + 20.0) < 2.0
    assert not muted.has_audio and muted.silent_audio == DIGITAL_SILENCE
    alone = cut_and_encode(src, 2.0, 3.0, label="muted")
    assert (alone.video, alone.audio_flac, alone.silent_audio) == (muted.video, None, DIGITAL_SILENCE)


def test_a_silent_clip_is_the_clip_of_the_same_video_without_audio(tmp_path: Path) -> None:
    """Dropping the silent track leaves exactly the MP4 a source without audio gives."""
    silent = _source(tmp_path, "aac", np.zeros((2, int(SECONDS * 44100)), np.float32), "silent")
    mute = _source(tmp_path, "aac", None, "mute")
    a, b = cut_and_encode(silent, 0.5, 2.5), cut_and_encode(mute, 0.5, 2.5)
    assert a.video == b.video and a.frame_hashes == b.frame_hashes
    assert b.silent_audio is None and b.audio_peak_dbfs is None  # no track: not "silent audio"


def test_a_track_with_no_samples_in_the_clip_is_no_audio(tmp_path: Path) -> None:
    """An audio track that exists but has no packets (Matroska keeps an empty track), or none
    in the clip's range (audio that ends early): no audio, and said why."""
    empty = _source(tmp_path, "opus", np.zeros((2, 0), np.float32), "empty")
    with av.open(str(empty)) as c:
        assert c.streams.audio and not any(p.size for p in c.demux(c.streams.audio[0]))
    clip = cut_and_encode(empty, 0.5, 2.5)
    assert (clip.has_audio, clip.audio_flac, clip.silent_audio, clip.audio_peak_dbfs) == (False, None, NO_AUDIO_SAMPLES, None)
    assert _streams(clip) == ["video"]
    short = _source(tmp_path, "opus", _tone(48000, -20.0)[:, :24000], "short")  # 0.5 s of sound
    late = cut_and_encode(short, 1.0, 2.5)
    assert (late.has_audio, late.silent_audio) == (False, NO_AUDIO_SAMPLES)
    assert cut_and_encode(short, 0.0, 2.5).has_audio  # the first 0.5 s are sound


def test_the_threshold_is_where_the_16_bit_flac_becomes_all_zeros() -> None:
    """``has_audio`` true always means a FLAC with a sample other than 0."""

    def flac_nonzero(level: float) -> int:
        x = np.full((2, 4800), level, np.float32)
        x[:, ::2] *= -1
        return int(np.count_nonzero(soundfile.read(io.BytesIO(flac_bytes(x, 48000)), dtype="int16")[0]))

    assert is_silent(SILENCE_PEAK) and flac_nonzero(SILENCE_PEAK) == 0
    above = float(np.nextafter(np.float32(SILENCE_PEAK), np.float32(1.0)))
    assert not is_silent(above) and flac_nonzero(above) > 0
    assert round(SILENCE_PEAK_DBFS, 2) == -96.33
    assert peak(np.zeros((2, 0), np.float32)) == 0.0 and is_silent(peak(np.zeros((2, 5), np.float32)))
    assert not is_silent(peak(np.array([[0.0, float("nan")]], np.float32)))  # damaged samples are not silence


def _ucf_tree(root: Path) -> Path:
    """A UCF101 tree of three SalsaSpin clips (UCF101's Xvid + MP3 AVIs, 2 s): g08 with a
    tone, g09 with an MP3 track of digital silence (train), g01 with no audio track (test)."""
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_bytes(b"77 SalsaSpin\r\n")
    tracks = {1: None, 8: "tone", 9: "silence"}
    for g, track in tracks.items():
        write_video(root / "UCF-101" / "SalsaSpin" / f"v_SalsaSpin_g{g:02d}_c01.avi", g, seconds=2.0, video_codec="mpeg4",
                    codec_tag="XVID", audio_codec="libmp3lame" if track else None, container_format="avi",
                    audio_samples=np.zeros((2, 2 * 44100), np.float32) if track == "silence" else None)
    for fold in (1, 2, 3):
        (lists / f"trainlist0{fold}.txt").write_bytes(b"SalsaSpin/v_SalsaSpin_g08_c01.avi 77\r\n"
                                                      b"SalsaSpin/v_SalsaSpin_g09_c01.avi 77\r\n")
        (lists / f"testlist0{fold}.txt").write_bytes(b"SalsaSpin/v_SalsaSpin_g01_c01.avi\r\n")
    return root


def test_a_build_stores_a_muted_clip_without_audio_and_counts_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A UCF101 build where one clip's MP3 track is digital silence: it is a row (not an
    exclusion) with ``has_audio`` false and no audio, counted with its reason in the report
    and the build summary; a clip with no audio track at all is not counted; a rerun that
    reuses the finished parts counts it the same."""
    from dance_aggregate.builders.ucf101 import UCF101Builder
    from dance_aggregate.output.folder import read_config
    from dance_aggregate.pipeline.config import RunSettings, build_config

    ucf = _ucf_tree(tmp_path / "ucf101")
    out = tmp_path / "dance_aggregate"
    for run in ("first", "rerun"):
        # the package's logger itself: a CLI test earlier in the process may have set its level
        with caplog.at_level(logging.INFO, logger="dance_aggregate"):
            result = build_config(UCF101Builder(ucf), RunSettings(output=out, progress=False))
        assert ("already encoded by an earlier run" in caplog.text) == (run == "rerun")  # the rerun reads manifests
        acc = result.accounting
        assert acc.adds_up and (acc.rows_written, acc.silent_audio) == (3, 1), run
        assert "silent audio: 1 row written has a source audio track that is digital silence" in acc.summary()
        report = json.loads((out / "reports" / "ucf101.json").read_text())
        assert report["accounting"]["silent_audio"] == 1
        assert report["silent_audio"] == [{"id": "ucf101/SalsaSpin/v_SalsaSpin_g09_c01", "reason": DIGITAL_SILENCE, "peak_dbfs": None}]
    rows = {r["id"]: r for t in read_config(out, "ucf101").values() for r in t.to_pylist()}
    muted, tone, none = (rows[f"ucf101/SalsaSpin/v_SalsaSpin_g{g}_c01"] for g in ("09", "08", "01"))
    assert (muted["has_audio"], muted["audio"], muted["num_frames"]) == (False, None, 50)
    with av.open(io.BytesIO(muted["video"]["bytes"])) as c:
        assert not c.streams.audio
    assert tone["has_audio"] and tone["audio"] is not None
    assert (none["has_audio"], none["audio"]) == (False, None)  # no track at all: not in the list
