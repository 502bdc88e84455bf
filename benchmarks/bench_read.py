"""Read benchmark: our Parquet folder streamed with ``datasets`` vs a folder of loose MP4 files.

The same clips (generated once into a cache folder: synthetic 320x240 25 fps video with
stereo audio, 2-4 s, encoded by the build's own ``media.clip.cut_and_encode``) are stored
two ways:

* ``parquet``: a dataset folder written by ``writer.write_config`` (several shards, as
  ``dance-aggregate build`` writes it, card included), read with
  ``load_dataset(folder, "kinetics600", streaming=True, columns=["id", "label", "video"])``
  with ``.decode(False)``, split between
  workers with ``split_dataset_by_node`` and decoded with ``media.decode.sample_frames``;
* ``mp4``: one ``.mp4`` file per clip, read from disk by path. Two decoders:
  ``mp4`` uses the same ``sample_frames`` (so the ratio isolates the storage), and
  ``mp4-decode-all`` is how most Kinetics training code reads today (PyAV decodes every
  frame, the sampled indices are kept: torchvision ``read_video`` / pytorchvideo's PyAV
  ``decode_all``).

Each reader runs in 1 and 2 worker processes (spawned, torch-free), each worker reading a
disjoint set of shards / files, sampling ``--frames`` uniform frames per clip resized to
``--size``. Printed: clips per second (total clips / slowest worker's reading time, setup
such as ``load_dataset`` excluded and shown apart; workers start reading together at a
barrier), the ratio to ``mp4``, and the peak
resident memory of the workers (``VmHWM``, or ``ru_maxrss`` off Linux). ``cpu ms/clip`` (the
workers' CPU time, all threads, per clip; best run) is the figure least disturbed by other
load on a shared machine. Each configuration is run ``--repeat``
times, readers alternating, and the best run of each is kept (the machine is shared).

``--seek`` instead measures when seeking pays (``media.decode``'s ``JUMP_COST_FRAMES``):
10 s clips with a keyframe every second, N frames sampled with each method.

Run from the repository root::

    python benchmarks/bench_read.py                 # ~250 clips, generated once (~1-2 min)
    python benchmarks/bench_read.py --seek
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

CONFIG = "kinetics600"
# Torch-free readers: datasets imports torch whenever it is installed (~180 MB per worker),
# which would blur the memory figures. Inherited by the spawned workers.
os.environ.setdefault("USE_TORCH", "0")


# -- generating the clips --------------------------------------------------------------------
def _make_clip(args: tuple[int, float, str]) -> dict[str, Any]:
    from dance_aggregate.media.clip import cut_and_encode
    from dance_aggregate.media.synth import write_video
    from dance_aggregate.pipeline.execute import clip_row
    from dance_aggregate.records import ClipRecord

    i, seconds, tmp = args
    src = write_video(Path(tmp) / f"src_{i:04d}.mp4", seed=10_000 + i, seconds=seconds + 0.5, width=320, height=240)
    try:
        clip = cut_and_encode(src, 0.25, 0.25 + seconds)
    finally:
        src.unlink()
    record = ClipRecord(
        id=f"{CONFIG}/bench{i:04d}_000000_{int(seconds):06d}",
        source=CONFIG,
        source_id=f"bench{i:04d}_000000_{int(seconds):06d}",
        split="train",
        label="salsa",
        source_label="salsa dancing",
        family="latin",
        group=f"bench{i:04d}",
        youtube_id=f"bench{i:04d}",
        start_time=0.0,
        end_time=seconds,
    )
    return clip_row(record, clip)


def prepare(cache: Path, clips: int, shards: int) -> tuple[Path, Path]:
    """Generate the clips once; return (dataset folder, mp4 folder)."""
    from dance_aggregate.output.shards import write_config
    from dance_aggregate.pipeline.build import finalize_folder
    from dance_aggregate.schema import rows_to_table

    root = cache / f"bench-read-{clips}-{shards}"
    folder, mp4_dir, done = root / "dance_aggregate", root / "mp4", root / ".done"
    if done.is_file():
        return folder, mp4_dir
    mp4_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    jobs = [(i, rng.uniform(2.0, 4.0), str(root)) for i in range(clips)]
    t0 = time.perf_counter()
    print(f"generating {clips} clips into {root} ...", flush=True)
    with mp.get_context("spawn").Pool(os.cpu_count() or 1) as pool:
        rows = pool.map(_make_clip, jobs, chunksize=4)
    for row in rows:
        (mp4_dir / row["video"]["path"]).write_bytes(row["video"]["bytes"])
    table = rows_to_table(rows)
    write_config(folder, CONFIG, {"train": table}, max_shard_bytes=table.nbytes // shards + 1)
    finalize_folder(folder)
    done.write_text("ok\n")
    print(f"generated in {time.perf_counter() - t0:.0f} s", flush=True)
    return folder, mp4_dir


# -- the readers (run in spawned worker processes) --------------------------------------------
def _read_parquet(folder: str, rank: int, world: int, frames: int, size: tuple[int, int] | None, ready: Any) -> dict[str, float]:
    import datasets
    from datasets import load_dataset
    from datasets.distributed import split_dataset_by_node

    from dance_aggregate.media.decode import sample_frames

    datasets.disable_progress_bars()
    t0 = time.perf_counter()
    # a video model reads no audio bytes: only the columns it needs are read from Parquet
    ds = load_dataset(folder, CONFIG, split="train", streaming=True, columns=["id", "label", "video"]).decode(False)
    if world > 1:
        ds = split_dataset_by_node(ds, rank=rank, world_size=world)
    setup = time.perf_counter() - t0
    ready.wait()
    t1, c1 = time.perf_counter(), time.process_time()
    n, end = 0, t1
    for row in ds:
        sample_frames(row["video"], frames, size=size)
        n += 1
        end = time.perf_counter()  # not after the loop: datasets may pause when a stream closes
    return {"clips": n, "setup": setup, "start": t1, "end": end, "cpu": time.process_time() - c1}


def _read_mp4(folder: str, rank: int, world: int, frames: int, size: tuple[int, int] | None, ready: Any) -> dict[str, float]:
    from dance_aggregate.media.decode import sample_frames

    t0 = time.perf_counter()
    files = sorted(Path(folder).glob("*.mp4"))[rank::world]
    setup = time.perf_counter() - t0
    ready.wait()
    t1, c1 = time.perf_counter(), time.process_time()
    for path in files:
        sample_frames(path, frames, size=size)
    return {"clips": len(files), "setup": setup, "start": t1, "end": time.perf_counter(), "cpu": time.process_time() - c1}


def _read_mp4_decode_all(folder: str, rank: int, world: int, frames: int, size: tuple[int, int] | None, ready: Any) -> dict[str, float]:
    import av

    from dance_aggregate.media.decode import frame_indices

    t0 = time.perf_counter()
    files = sorted(Path(folder).glob("*.mp4"))[rank::world]
    setup = time.perf_counter() - t0
    ready.wait()
    t1, c1 = time.perf_counter(), time.process_time()
    for path in files:
        with av.open(str(path)) as container:
            decoded = list(container.decode(video=0))
        for i in frame_indices(len(decoded), frames):
            kw = {"width": size[1], "height": size[0]} if size else {}
            decoded[i].to_ndarray(format="rgb24", **kw)
    return {"clips": len(files), "setup": setup, "start": t1, "end": time.perf_counter(), "cpu": time.process_time() - c1}


READERS = {"parquet": _read_parquet, "mp4": _read_mp4, "mp4-decode-all": _read_mp4_decode_all}


def _worker(reader: str, folder: str, rank: int, world: int, frames: int, size: tuple[int, int] | None, ready: Any, results: Any) -> None:
    out = READERS[reader](folder, rank, world, frames, size, ready)
    out["maxrss_mb"] = _peak_rss_mb()
    results.put(out)


def _peak_rss_mb() -> float:
    """Peak resident memory of this process since it started.

    ``VmHWM`` rather than ``ru_maxrss``: a spawned worker is forked from the parent before
    it execs Python, and ``ru_maxrss`` survives the exec, so it would report the parent's
    size (here, the parent that generated the clips).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(reader: str, folder: Path, workers: int, frames: int, size: tuple[int, int] | None) -> dict[str, float]:
    """One run: ``workers`` spawned processes set up, wait at a barrier, then all read."""
    ctx = mp.get_context("spawn")
    ready, results = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(reader, str(folder), r, workers, frames, size, ready, results))
        for r in range(workers)
    ]
    for p in procs:
        p.start()
    out = [results.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"{reader} worker failed with exit code {p.exitcode}")
    clips = sum(r["clips"] for r in out)
    elapsed = max(r["end"] for r in out) - min(r["start"] for r in out)
    return {
        "clips": clips,
        "clips_per_s": clips / elapsed,
        "cpu_ms": 1000 * sum(r["cpu"] for r in out) / clips,
        "setup_s": max(r["setup"] for r in out),
        "maxrss_mb": max(r["maxrss_mb"] for r in out),
    }


def bench(args: argparse.Namespace) -> None:
    folder, mp4_dir = prepare(args.cache, args.clips, args.shards)
    size = (args.size, args.size) if args.size else None
    shard_count = len(list((folder / "data" / CONFIG).glob("*.parquet")))
    mp4_bytes = sum(p.stat().st_size for p in mp4_dir.glob("*.mp4"))
    parquet_bytes = sum(p.stat().st_size for p in (folder / "data" / CONFIG).glob("*.parquet"))
    print(
        f"{args.clips} clips, {shard_count} Parquet shards ({parquet_bytes / 1e6:.1f} MB) vs "
        f"{len(list(mp4_dir.glob('*.mp4')))} MP4 files ({mp4_bytes / 1e6:.1f} MB); "
        f"{args.frames} frames per clip, size {size}, best of {args.repeat}"
    )
    print(f"{'reader':<16}{'workers':>8}{'clips/s':>10}{'vs mp4':>9}{'cpu ms/clip':>13}{'setup s':>9}{'peak RSS MB':>13}")
    readers = ("mp4", "parquet", "mp4-decode-all")
    for workers in args.workers:
        # readers alternate within each repeat, so load from elsewhere hits them alike
        runs: dict[str, list[dict[str, float]]] = {r: [] for r in readers}
        for _ in range(args.repeat):
            for reader in readers:
                runs[reader].append(run(reader, folder if reader == "parquet" else mp4_dir, workers, args.frames, size))
        base = max(r["clips_per_s"] for r in runs["mp4"])
        for reader in readers:
            best = max(runs[reader], key=lambda r: r["clips_per_s"])
            if best["clips"] != args.clips:
                raise RuntimeError(f"{reader} read {best['clips']} clips, expected {args.clips}")
            print(
                f"{reader:<16}{workers:>8}{best['clips_per_s']:>10.1f}{best['clips_per_s'] / base:>9.2f}"
                f"{min(r['cpu_ms'] for r in runs[reader]):>13.1f}{best['setup_s']:>9.2f}{best['maxrss_mb']:>13.0f}",
                flush=True,
            )


# -- when seeking pays -------------------------------------------------------------------------
def _gop_clip(path: Path, width: int, height: int, seconds: int = 10, fps: int = 25, gop: int = 25) -> bytes:
    import av

    from dance_aggregate.media.synth import pattern_frame

    if not path.is_file():
        with av.open(str(path), "w") as out:
            v = out.add_stream("libx264", rate=fps)
            v.width, v.height, v.pix_fmt = width, height, "yuv420p"
            v.options = {"preset": "veryfast", "g": str(gop), "keyint_min": str(gop)}
            for i in range(seconds * fps):
                f = av.VideoFrame.from_ndarray(pattern_frame(1, i, width, height), format="rgb24")
                f.pts, f.time_base = i, Fraction(1, fps)
                for p in v.encode(f):
                    out.mux(p)
            for p in v.encode(None):
                out.mux(p)
    return path.read_bytes()


def bench_seek(args: argparse.Namespace) -> None:
    from dance_aggregate.media.decode import sample_frames

    args.cache.mkdir(parents=True, exist_ok=True)
    print("10 s clips, 25 fps, keyframe every 25 frames; CPU ms per clip (median of 7)")
    print(f"{'size':<10}{'frames':>7}{'sequential':>12}{'seek':>8}{'auto':>8}")
    for w, h in ((320, 240), (640, 360)):
        data = _gop_clip(args.cache / f"gop25_{w}x{h}.mp4", w, h)
        for n in (4, 8, 16, 32, 64):
            ms = {}
            for method in ("sequential", "seek", "auto"):
                times = []
                for _ in range(7):
                    t = time.process_time()
                    sample_frames(data, n, method=method)
                    times.append((time.process_time() - t) * 1000)
                ms[method] = statistics.median(times)
            print(f"{f'{w}x{h}':<10}{n:>7}{ms['sequential']:>12.1f}{ms['seek']:>8.1f}{ms['auto']:>8.1f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", type=int, default=240)
    p.add_argument("--shards", type=int, default=8, help="Parquet shards (a multiple of the worker counts)")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--size", type=int, default=112, help="resize to SIZE x SIZE (0: keep 320x240)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--cache", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dance_aggregate")
    p.add_argument("--seek", action="store_true", help="measure when seeking pays instead")
    args = p.parse_args(argv)
    np.seterr(all="ignore")
    bench_seek(args) if args.seek else bench(args)


if __name__ == "__main__":
    sys.exit(main())
