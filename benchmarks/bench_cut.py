"""Cut the same segments in-process with PyAV and with the ffmpeg command line.

The public Kinetics/ActivityNet crawlers cut each clip by starting one ``ffmpeg`` process
per clip. We cut and re-encode in-process with PyAV (``media/clip.py``), which also
extracts the FLAC audio and the per-second fingerprints. This script makes 60 s sources
(H.264 + AAC, made by ffmpeg's ``testsrc2`` and ``sine`` sources: fast to make, with
motion and detail), cuts the same segments both ways and prints seconds per clip and the
ratio. Both sides use one thread for decoding and encoding (``-threads 1`` on the input and
the output), the same libx264 preset and CRF, and AAC audio.

Run:  python benchmarks/bench_cut.py [--sources 2] [--segments 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg

from dance_aggregate.media.clip import EncodeOptions, cut_and_encode


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=2, help="number of 60 s sources")
    ap.add_argument("--segments", type=int, default=20, help="segments to cut (>= 20)")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each segment")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    args = ap.parse_args()
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    opts = EncodeOptions()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        sources = [make_source(ffmpeg, root / f"src{i}.mp4", i, args.width, args.height) for i in range(args.sources)]
        print(f"made {len(sources)} x 60 s {args.width}x{args.height} 30 fps H.264+AAC sources in {time.perf_counter() - t:.1f} s")
        segments = []
        for i in range(args.segments):
            start = round(rng.uniform(0, 60 - args.seconds), 3)
            segments.append((sources[i % len(sources)], start, start + args.seconds))

        n = len(segments)
        t, c = time.perf_counter(), time.process_time()
        frames = 0
        for src, s, e in segments:
            frames += cut_and_encode(src, s, e, opts).num_frames
        pyav, pyav_cpu = (time.perf_counter() - t) / n, (time.process_time() - c) / n

        def run_ffmpeg(cmd_for) -> tuple[float, float]:
            t0, c0 = time.perf_counter(), _children_cpu()
            for i, (src, s, e) in enumerate(segments):
                out = root / f"ff{i}.mp4"
                subprocess.run(cmd_for(src, s, e, out), check=True, capture_output=True)
            return (time.perf_counter() - t0) / n, (_children_cpu() - c0) / n

        enc = ["-c:v", "libx264", "-preset", opts.preset, "-crf", str(opts.crf), "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-b:a", str(opts.audio_bitrate), "-movflags", "+faststart", "-threads", "1"]
        # The crawlers' form: output seek (-ss after -i), one process per clip.
        crawler = run_ffmpeg(lambda src, s, e, out: [ffmpeg, "-y", "-loglevel", "error", "-threads", "1", "-i", str(src), "-ss", str(s),
                                                     "-t", str(e - s), *enc, str(out)])
        # The faster form: input seek (-ss before -i), still one process per clip.
        seek = run_ffmpeg(lambda src, s, e, out: [ffmpeg, "-y", "-loglevel", "error", "-threads", "1", "-ss", str(s), "-i", str(src),
                                                  "-t", str(e - s), *enc, str(out)])
    print(f"{len(segments)} segments of {args.seconds:g} s ({frames} frames), libx264 preset {opts.preset}, 1 thread")
    print("(wall = elapsed seconds per clip; cpu = user+sys seconds per clip, fairer on a busy machine)")
    print(f"PyAV in-process (cut + H.264/AAC + FLAC + fingerprints): wall {pyav:.3f}  cpu {pyav_cpu:.3f} s/clip")
    for name, (wall, cpu) in (("-ss after -i (the crawlers' form)", crawler), ("-ss before -i", seek)):
        print(f"ffmpeg CLI, one process per clip, {name}: wall {wall:.3f}  cpu {cpu:.3f} s/clip;"
              f"  ratio ffmpeg/PyAV wall {wall / pyav:.2f}, cpu {cpu / pyav_cpu:.2f}")


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


if __name__ == "__main__":
    main()
