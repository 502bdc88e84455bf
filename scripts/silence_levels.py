#!/usr/bin/env python3
"""The figures behind the digital-silence threshold (docs/audio.md), printed.

    python scripts/silence_levels.py

Each test signal (4 s, stereo) is encoded with PyAV's FFmpeg as AAC (MP4), Opus (WebM),
MP3 (libmp3lame) and FLAC, then decoded by the build's own reader
(:func:`dance_aggregate.media.audio.read_audio_range`, the samples a clip's audio is made
from). For each it prints the decoded peak and RMS in dBFS, how many samples of the 16-bit
FLAC the dataset would store are not 0, and what the build decides
(:func:`dance_aggregate.media.silence.is_silent`). Then the margins on each side of the
threshold, and what dropping a silent AAC track does to a clip's MP4. Signals are seeded:
the figures are the same on every run (the timing line aside).
"""

from __future__ import annotations

import io
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import av  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from dance_aggregate.media import silence  # noqa: E402
from dance_aggregate.media.audio import audio_spec, flac_bytes, read_audio_range  # noqa: E402
from dance_aggregate.media.clip import cut_and_encode  # noqa: E402
from dance_aggregate.media.silence import SILENCE_PEAK_DBFS, dbfs, is_silent, peak  # noqa: E402
from dance_aggregate.media.synth import write_video  # noqa: E402

SECONDS = 4.0
#: (codec, file suffix, sample rate): the audio codecs of the sources (YouTube's AAC and
#: Opus, UCF101's MP3) and a lossless one.
CODECS = [("aac", "mp4", 44100), ("libopus", "webm", 48000), ("libmp3lame", "mp3", 44100), ("flac", "flac", 44100)]


def signals(rate: int) -> dict[str, tuple[np.ndarray, bool]]:
    """Test signals, mono: name -> (samples, whether it is silence)."""
    rng = np.random.default_rng(0)
    n = int(SECONDS * rate)
    t = np.arange(n) / rate

    def tone(peak_db: float) -> np.ndarray:
        return 10 ** (peak_db / 20) * np.sin(2 * np.pi * 1000.0 * t)

    def noise(rms_db: float) -> np.ndarray:
        return 10 ** (rms_db / 20) * rng.standard_normal(n)

    def pink(rms_db: float) -> np.ndarray:  # 1/f noise, the spectrum of a quiet room
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / rate)
        f[0] = f[1]
        x = np.fft.irfft(spectrum / np.sqrt(f), n)
        return x / np.sqrt(np.mean(x**2)) * 10 ** (rms_db / 20)

    # Silence a 16-bit master carries after TPDF dither: integers -1..1 (LSB 1/32768).
    dither = np.rint(rng.uniform(-0.5, 0.5, n) + rng.uniform(-0.5, 0.5, n)) / 32768
    return {
        "digital silence (zeros)": (np.zeros(n), True),
        "noise -120 dBFS RMS (below 16 bits)": (noise(-120), True),
        "16-bit TPDF dither": (dither, False),
        "noise -90 dBFS RMS": (noise(-90), False),
        "tone -90 dBFS peak": (tone(-90), False),
        "tone -80 dBFS peak": (tone(-80), False),
        "noise -80 dBFS RMS": (noise(-80), False),
        "tone -60 dBFS peak": (tone(-60), False),
        "room noise (pink) -65 dBFS RMS": (pink(-65), False),
        "fade-out from -20 dBFS to 0": (tone(-20) * np.linspace(1, 0, n), False),
        "3 s of zeros, then 1 s at -20 dBFS": (np.where(t >= 3.0, tone(-20), 0.0), False),
    }


def decoded(path: Path) -> tuple[np.ndarray, int]:
    """The samples the build reads from ``path`` (all of it), and their rate."""
    with av.open(str(path)) as c:
        spec = audio_spec(c)
    assert spec is not None  # noqa: S101 - written with audio above
    samples = read_audio_range(lambda: av.open(str(path)), 0.0, None, spec, str(path))
    assert samples is not None  # noqa: S101
    return samples, spec.rate


def fmt(db: float) -> str:
    return "   -inf" if db == -math.inf else f"{db:7.1f}"


def levels(tmp: Path) -> None:
    print(f"threshold: peak <= {SILENCE_PEAK_DBFS:.2f} dBFS (half a 16-bit step) is digital silence\n")
    print(f"{'codec':<10} {'signal':<36} {'in peak':>7} {'peak':>7} {'RMS':>7} {'FLAC != 0':>10}  decision")
    worst_silence: dict[str, float] = {}
    quietest_sound: dict[str, float] = {}
    for codec, suffix, rate in CODECS:
        for name, (mono, is_silence) in signals(rate).items():
            path = write_video(tmp / f"{codec}.{suffix}", 0, seconds=SECONDS, video_codec=None, audio_codec=codec,
                               sample_rate=rate, audio_samples=np.stack([mono, mono]))
            samples, out_rate = decoded(path)
            level = peak(samples)
            rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
            stored = soundfile.read(io.BytesIO(flac_bytes(samples, out_rate)), dtype="int16")[0]
            verdict = "silence" if is_silent(level) else "sound"
            wrong = "" if (verdict == "silence") == is_silence else "   <-- not what it is"
            print(f"{codec:<10} {name:<36} {fmt(dbfs(float(np.abs(mono).max())))} {fmt(dbfs(level))} {fmt(dbfs(rms))} "
                  f"{np.count_nonzero(stored):>10}  {verdict}{wrong}")
            table = worst_silence if is_silence else quietest_sound
            key = "silence" if is_silence else ("dither" if "dither" in name else "real sound")
            table[key] = max(table.get(key, -math.inf), dbfs(level)) if is_silence else min(table.get(key, math.inf), dbfs(level))
    print("\nmargins (decoded peaks, all codecs):")
    print(f"  loudest silence            {fmt(worst_silence['silence'])} dBFS  "
          f"({SILENCE_PEAK_DBFS - worst_silence['silence']:.1f} dB under the threshold)")
    print(f"  quietest 16-bit dither     {fmt(quietest_sound['dither'])} dBFS  "
          f"({quietest_sound['dither'] - SILENCE_PEAK_DBFS:.1f} dB over it: kept as sound)")
    print(f"  quietest real sound        {fmt(quietest_sound['real sound'])} dBFS  "
          f"({quietest_sound['real sound'] - SILENCE_PEAK_DBFS:.1f} dB over it)")


def mp4_track(tmp: Path) -> None:
    """A 10 s 320x240 clip cut from a source whose AAC track is silence, and from the same
    video without audio: the silent track is dropped, so the two MP4s are the same bytes."""
    zeros = np.zeros((2, 10 * 44100), np.float32)
    silent = write_video(tmp / "silent.mp4", 1, seconds=10.0, audio_samples=zeros)
    mute = write_video(tmp / "mute.mp4", 1, seconds=10.0, audio_codec=None)
    a, b = cut_and_encode(silent, 0.0, 10.0), cut_and_encode(mute, 0.0, 10.0)
    threshold, silence.SILENCE_PEAK = silence.SILENCE_PEAK, -1.0  # detection off: the clip as it was before
    try:
        kept = cut_and_encode(silent, 0.0, 10.0)
    finally:
        silence.SILENCE_PEAK = threshold
    print()
    for what, clip in (("silent track kept (before)", kept), ("silent track dropped", a), ("source without audio", b)):
        with av.open(io.BytesIO(clip.video)) as c:
            streams, duration = [s.type for s in c.streams], c.duration / 1e6
        print(f"MP4 of a 10 s clip, {what:<27} {len(clip.video):>7} bytes, streams {streams}, {duration:.3f} s, "
              f"FLAC {len(clip.audio_flac or b'')} bytes")
    print(f"dropped and without audio are the same bytes: {a.video == b.video}")
    samples = np.random.default_rng(0).standard_normal((2, 10 * 48000)).astype(np.float32)
    t0 = time.perf_counter()
    for _ in range(20):
        peak(samples)
    print(f"peak of 10 s of 48 kHz stereo: {(time.perf_counter() - t0) / 20 * 1000:.2f} ms (this machine)")


def real_media() -> None:
    """The real files of ``tests/data/media`` (a YouTube video with Opus, an AVI with MP3):
    how far real sound is from the threshold, over the file and in its quietest 0.5 s."""
    print("\nreal media (tests/data/media):")
    for path in sorted((Path(__file__).resolve().parents[1] / "tests" / "data" / "media").iterdir()):
        samples, rate = decoded(path)
        w = rate // 2
        quietest = min(peak(samples[:, i : i + w]) for i in range(0, samples.shape[1] - w + 1, w))
        print(f"  {path.name:<24} peak {fmt(dbfs(peak(samples)))} dBFS, quietest 0.5 s window peak {fmt(dbfs(quietest))} dBFS")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        levels(Path(tmp))
        real_media()
        mp4_track(Path(tmp))


if __name__ == "__main__":
    main()
