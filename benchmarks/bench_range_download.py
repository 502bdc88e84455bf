"""Bytes fetched with a range download against a whole-video download, through yt-dlp.

Serves a generated 60 s video (H.264 + AAC) from a Range-capable HTTP server on
127.0.0.1 and fetches the same 10 s segments with the project's fetcher, once with
``range_download`` (yt-dlp ``download_ranges`` + ffmpeg) and once whole-file. Prints the
bytes the server sent for each. The sources are made by ffmpeg (``testsrc2`` + ``sine``,
interleaved, ``+faststart``, keyframe every 2 s), laid out like a real web MP4. The server's count is what it wrote to the socket (with a
64 KiB send buffer), so it slightly overcounts what ffmpeg actually read.

Run:  python benchmarks/bench_range_download.py [--segments 5] [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import imageio_ffmpeg

from benchmarks.bench_cut import make_source
from dance_aggregate.fetch.fetcher import ClipFetcher, ClipRequest
from dance_aggregate.fetch.options import FetchOptions
from tests.helpers_fetch import FakeTube


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=5, help="one segment per video")
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tube = FakeTube().start()
        try:
            size = 0
            ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
            for i in range(args.segments):
                src = make_source(ffmpeg, root / f"v{i}.mp4", i, 640, 360)
                size = src.stat().st_size
                tube.add_file(f"benchvid{i:03d}", src)
            print(f"{args.segments} videos of 60 s, 640x360 30 fps H.264+AAC, {size / 1e6:.2f} MB each")
            results = {}
            for mode in ("range", "full"):
                tube.reset_counts()
                opts = FetchOptions(url_template=tube.url_template, range_download=(mode == "range"), backoff_base=0.01)
                fetcher = ClipFetcher(root / f"work-{mode}" / "fetch" / "bench", opts)
                t = time.perf_counter()
                kept = 0
                for i in range(args.segments):
                    start = 5.0 + i * 9.0
                    got = fetcher.get(ClipRequest(f"benchvid{i:03d}", start, start + args.seconds))
                    kept += got.path.stat().st_size
                elapsed = time.perf_counter() - t
                results[mode] = sum(tube.bytes_sent.values())
                print(f"{mode:>5}: {results[mode] / 1e6:8.2f} MB fetched, {kept / 1e6:6.2f} MB kept, "
                      f"{elapsed / args.segments:.2f} s/clip, {sum(tube.requests.values())} HTTP requests")
            print(f"range/full bytes = {results['range'] / results['full']:.2f} "
                  f"({args.seconds:g} s of 60 s = {args.seconds / 60:.2f})")
        finally:
            tube.stop()


if __name__ == "__main__":
    main()
