"""Cut the same segments in-process with PyAV and with the ffmpeg command line.

The public Kinetics/ActivityNet crawlers cut each clip by starting one ``ffmpeg`` process
per clip. We cut and re-encode in-process with PyAV (``media/cut.py``), which also
extracts the FLAC audio and the fingerprints. This script makes 60 s sources (H.264 +
AAC, made by ffmpeg's ``testsrc2`` and ``sine`` sources: fast to make, with motion and
detail) and measures, in one run:

1. **single cuts**: 20 random 10 s segments, each cut by PyAV (``cut_and_encode``), by
   ffmpeg with ``-ss`` before ``-i`` (input seek) and by ffmpeg with ``-ss`` after ``-i``
   (the crawlers' output seek);
2. **one source, many windows** (an ActivityNet segment becomes consecutive windows of at
   most 10 s of one video): the segment [1.5, 60) s of one source as 6 windows of 9.75 s,
   cut one at a time, in one pass (``cut_windows``), and by ffmpeg ``-ss`` before ``-i``
   once per window. The one-pass
   clips must be byte-identical to the one-at-a-time clips (checked, printed).

Both sides use the same encoder settings: libx264 with the same preset, CRF, keyframe
interval and ``cpu-independent=1``, one encoder thread and one decoder thread
(``-threads 1`` on the input and the output), AAC at the same bitrate. Like FFmpeg's
command line, which runs demuxing, decoding and encoding in threads of their own, the
in-process cut decodes in one thread, encodes in another and reads each clip's audio in a
third. The three ways are run in turn on each segment (rotating the order) so that a
machine shared with other work slows them alike; the ratios are the figures to read.

Run:  python benchmarks/bench_cut.py [--sources 2] [--segments 20] [--seconds 10] [--windows 6]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg

from dance_aggregate.media.clip import EncodeOptions, Window, cut_and_encode, cut_windows


def make_source(ffmpeg: str, path: Path, seed: int, width: int, height: int) -> Path:
    """A 60 s H.264 + AAC MP4 (30 fps, keyframe every 2 s, as YouTube encodes)."""
    subprocess.run(
        [ffmpeg, "-y", "-loglevel", "error",
         "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30,hue=h={seed * 40}",
         "-f", "lavfi", "-i", f"sine=frequency={300 + 50 * seed}:sample_rate=44100",
         "-t", "60", "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-ac", "2", "-movflags", "+faststart", str(path)],
        check=True,
    )
    return path


class Timer:
    """Wall and CPU seconds of one way of cutting, summed over calls."""

    def __init__(self, children: bool = False) -> None:
        self.children = children
        self.wall = 0.0
        self.cpu = 0.0
        self.n = 0

    def run(self, fn: Callable[..., object], *args: object) -> object:
        t, c = time.perf_counter(), self._cpu()
        out = fn(*args)
        self.wall += time.perf_counter() - t
        self.cpu += self._cpu() - c
        self.n += 1
        return out

    def _cpu(self) -> float:
        if self.children:
            ru = resource.getrusage(resource.RUSAGE_CHILDREN)
            return ru.ru_utime + ru.ru_stime
        return time.process_time()

    def per(self, n: int | None = None) -> tuple[float, float]:
        n = n or self.n
        return self.wall / n, self.cpu / n


def ffmpeg_cmd(ffmpeg: str, opts: EncodeOptions, src: Path, s: float, e: float, out: Path, *, input_seek: bool) -> list[str]:
    """One ffmpeg process cutting ``[s, e)`` with the same encoder settings as ours."""
    keyint = round(30 * opts.keyframe_seconds)
    enc = ["-c:v", "libx264", "-preset", opts.preset, "-crf", str(opts.crf), "-pix_fmt", "yuv420p",
           "-x264-params", f"cpu-independent=1:keyint={keyint}",
           "-c:a", "aac", "-b:a", str(opts.audio_bitrate), "-movflags", "+faststart", "-threads", "1"]
    seek = ["-ss", str(s), "-i", str(src)] if input_seek else ["-i", str(src), "-ss", str(s)]
    return [ffmpeg, "-y", "-loglevel", "error", "-threads", "1", *seek, "-t", str(e - s), *enc, str(out)]


def bench_single(ffmpeg: str, opts: EncodeOptions, segments: list[tuple[Path, float, float]], root: Path) -> None:
    ways = {
        "pyav": (Timer(), lambda src, s, e, out: cut_and_encode(src, s, e, opts)),
        "input_seek": (Timer(children=True), lambda src, s, e, out: subprocess.run(
            ffmpeg_cmd(ffmpeg, opts, src, s, e, out, input_seek=True), check=True, capture_output=True)),
        "output_seek": (Timer(children=True), lambda src, s, e, out: subprocess.run(
            ffmpeg_cmd(ffmpeg, opts, src, s, e, out, input_seek=False), check=True, capture_output=True)),
    }
    names = list(ways)
    frames = 0
    for i, (src, s, e) in enumerate(segments):
        for name in names[i % 3 :] + names[: i % 3]:  # rotate: load hits every way alike
            timer, fn = ways[name]
            out = timer.run(fn, src, s, e, root / f"{name}{i}.mp4")
            if name == "pyav":
                frames += out.num_frames  # type: ignore[attr-defined]
    (pw, pc), (sw, sc), (ow, oc) = (ways[n][0].per() for n in names)
    print(f"\n1. single cuts: {len(segments)} segments of {segments[0][2] - segments[0][1]:g} s ({frames} frames)")
    print(f"   PyAV in-process (cut + H.264/AAC + FLAC + fingerprints): wall {pw:.3f}  cpu {pc:.3f} s/clip")
    print(f"   ffmpeg CLI, -ss before -i:                              wall {sw:.3f}  cpu {sc:.3f} s/clip")
    print(f"   ffmpeg CLI, -ss after -i (the crawlers' form):          wall {ow:.3f}  cpu {oc:.3f} s/clip")
    print(f"   PyAV / ffmpeg -ss before -i: wall {pw / sw:.2f}x, cpu {pc / sc:.2f}x   (goal: wall <= 0.90x)")
    print(f"   PyAV / ffmpeg -ss after -i:  wall {pw / ow:.2f}x, cpu {pc / oc:.2f}x")


def bench_windows(ffmpeg: str, opts: EncodeOptions, src: Path, n: int, offset: float, root: Path, rounds: int) -> None:
    # As ActivityNet cuts a segment: [offset, 60) in n equal consecutive windows. Their
    # starts fall between keyframes, so a cut alone decodes from the keyframe before.
    seconds = (60.0 - offset) / n
    windows = [Window(round(offset + k * seconds, 6), round(offset + (k + 1) * seconds, 6), f"w{k:02d}") for k in range(n)]
    per_window, one_pass, ff = Timer(), Timer(), Timer(children=True)
    same = True
    for r in range(rounds):
        order = [0, 1, 2][r % 3 :] + [0, 1, 2][: r % 3]
        for way in order:
            if way == 0:
                alone = per_window.run(lambda: [cut_and_encode(src, w.start, w.end, opts, label=w.label) for w in windows])
            elif way == 1:
                together = one_pass.run(lambda: cut_windows(src, windows, opts))
            else:
                ff.run(lambda: [subprocess.run(ffmpeg_cmd(ffmpeg, opts, src, w.start or 0.0, w.end or 0.0,
                                                          root / f"w{k}.mp4", input_seek=True),
                                               check=True, capture_output=True) for k, w in enumerate(windows)])
        same = same and all(
            a.video == b.video and a.audio_flac == b.audio_flac and a.frame_hashes == b.frame_hashes  # type: ignore[union-attr]
            for a, b in zip(alone, together, strict=True)  # type: ignore[arg-type]
        )
    clips = n * rounds
    (aw, ac), (bw, bc), (fw, fc) = per_window.per(clips), one_pass.per(clips), ff.per(clips)
    print(f"\n2. one source, {n} consecutive windows of {seconds:g} s from {offset:g} s ({rounds} rounds)")
    print(f"   PyAV, one window at a time: wall {aw:.3f}  cpu {ac:.3f} s/clip")
    print(f"   PyAV, all windows in one pass: wall {bw:.3f}  cpu {bc:.3f} s/clip"
          f"   (one pass / one at a time: wall {bw / aw:.2f}x, cpu {bc / ac:.2f}x)")
    print(f"   ffmpeg CLI -ss before -i, per window: wall {fw:.3f}  cpu {fc:.3f} s/clip"
          f"   (one pass / ffmpeg: wall {bw / fw:.2f}x, cpu {bc / fc:.2f}x)")
    print(f"   one-pass clips byte-identical to one-at-a-time clips (video, FLAC, fingerprints): {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=2, help="number of 60 s sources")
    ap.add_argument("--segments", type=int, default=20, help="single segments to cut")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each segment")
    ap.add_argument("--windows", type=int, default=6, help="consecutive windows of one source (part 2)")
    ap.add_argument("--offset", type=float, default=1.5, help="start of the first window (part 2)")
    ap.add_argument("--rounds", type=int, default=3, help="repetitions of part 2")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--skip-single", action="store_true", help="only part 2")
    args = ap.parse_args()
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    opts = EncodeOptions()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        sources = [make_source(ffmpeg, root / f"src{i}.mp4", i, args.width, args.height) for i in range(args.sources)]
        print(f"made {len(sources)} x 60 s {args.width}x{args.height} 30 fps H.264+AAC sources in {time.perf_counter() - t:.1f} s")
        print(f"libx264 preset {opts.preset} crf {opts.crf} keyint {opts.keyframe_seconds:g} s, 1 encoder thread, both sides")
        print("(wall = elapsed seconds per clip; cpu = user+sys seconds per clip, all threads; ffmpeg's are its process's)")
        if not args.skip_single:
            segments = []
            for i in range(args.segments):
                start = round(rng.uniform(0, 60 - args.seconds), 3)
                segments.append((sources[i % len(sources)], start, start + args.seconds))
            bench_single(ffmpeg, opts, segments, root)
        bench_windows(ffmpeg, opts, sources[0], args.windows, args.offset, root, args.rounds)


if __name__ == "__main__":
    main()
