"""What a stored clip costs at the source's size and at smaller short sides.

For 10 s clips cut from 1280x720 and 640x360 H.264 sources, this prints, per stored short
side (the source's, 360, 320, 256): the size of the stored MP4 (H.264 + AAC), the encode cost
(seconds per clip of the whole in-process cut: decode, scale, fingerprints, x264, AAC,
FLAC) and the cost of reading it back (decoding every frame of the stored clip, what a
training loader pays per epoch). Sources are made with ffmpeg's ``testsrc2`` (synthetic,
flat colours: compresses better than camera footage); pass ``--real FILE`` to add sources
made from a real video (looped to 12 s, at 1280x720 and 640x360, 30 fps), e.g. the
OpenPose street scene ``shared/data/real/media/video.avi``.

Run:  python benchmarks/bench_resolution.py [--reps 3] [--real FILE]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import tempfile
import time
from pathlib import Path

import av
import imageio_ffmpeg

from dance_aggregate.media.clip import EncodeOptions, cut_and_encode

SIDES: tuple[int | None, ...] = (None, 360, 320, 256)


def synthetic(ffmpeg: str, path: Path, width: int, height: int) -> Path:
    """12 s of ``testsrc2`` + a tone, H.264 (crf 18, keyframe every 2 s) + AAC, 30 fps."""
    subprocess.run(
        [ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "12",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", "60", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-ac", "2", str(path)],
        check=True,
    )
    return path


def from_real(ffmpeg: str, real: Path, path: Path, width: int, height: int) -> Path:
    """A real video looped to 12 s, scaled to ``width`` x ``height``, 30 fps, as above."""
    subprocess.run(
        [ffmpeg, "-y", "-loglevel", "error", "-stream_loop", "3", "-i", str(real), "-t", "12",
         "-vf", f"scale={width}:{height}", "-r", "30", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
         "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", str(path)],
        check=True,
    )
    return path


def read_cost(data: bytes) -> float:
    """CPU seconds to decode every frame of a stored clip."""
    t = time.process_time()
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        s.codec_context.thread_count = 1
        for _ in c.decode(s):
            pass
    return time.process_time() - t


def measure(src: Path, side: int | None, reps: int) -> tuple[str, int, float, float, float]:
    opts = EncodeOptions(max_short_side=side)
    size, cpu, wall, read = "", 0, 0.0, 0.0
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        clip = cut_and_encode(src, 1.0, 11.0, opts)
        wall += time.perf_counter() - t
        cpu += time.process_time() - c
        read += read_cost(clip.video)
        size = f"{clip.width}x{clip.height}"
    return size, len(clip.video), cpu / reps, wall / reps, read / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3, help="clips per cell")
    ap.add_argument("--real", type=Path, action="append", default=[], help="a real video to make sources from")
    args = ap.parse_args()
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    opts = EncodeOptions()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sources = [
            ("synthetic 1280x720", synthetic(ffmpeg, root / "s720.mp4", 1280, 720)),
            ("synthetic 640x360", synthetic(ffmpeg, root / "s360.mp4", 640, 360)),
        ]
        for i, real in enumerate(args.real):
            sources.append((f"{real.name} 1280x720", from_real(ffmpeg, real, root / f"r{i}-720.mp4", 1280, 720)))
            sources.append((f"{real.name} 640x360", from_real(ffmpeg, real, root / f"r{i}-360.mp4", 640, 360)))
        print(f"10 s clips (30 fps), libx264 {opts.preset} crf {opts.crf}, AAC {opts.audio_bitrate // 1000} kb/s, "
              f"1 thread; {args.reps} clips per row; machine: {_machine()}")
        print("| source | stored short side | stored size | MP4 KB/clip | vs source size | encode cpu s/clip "
              "| encode wall s/clip | read (decode all frames) cpu s/clip |")
        print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for name, src in sources:
            base = None
            for side in SIDES:
                with av.open(str(src)) as c:
                    short = min(c.streams.video[0].width, c.streams.video[0].height)
                if side is not None and side >= short:
                    continue
                size, nbytes, cpu, wall, read = measure(src, side, args.reps)
                base = base or nbytes
                label = "source" if side is None else str(side)
                print(f"| {name} | {label} | {size} | {nbytes / 1000:.0f} | {nbytes / base:.2f}x | {cpu:.2f} "
                      f"| {wall:.2f} | {read:.3f} |")


def _machine() -> str:
    import os

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs, load average {load:.1f} at start"


if __name__ == "__main__":
    main()
