"""TFRecord read throughput (records/s): dance_aggregate's reader against baselines, same run.

Readers compared, each turning every record into numpy features:

- ``dance_aggregate``: :mod:`dance_aggregate.builders.youtube8m.tfrecord` (mmap framing, both CRCs checked with
  google-crc32c, protobuf upb parse, uint8 -> float32 dequantisation for frame level);
- ``dance_aggregate (no crc)``: the same without CRC checks (the cost of checking);
- ``tfrecord`` (PyPI ``tfrecord``, if installed: ``pip install -e .[bench]``): the common
  TF-free reader; it does NOT check CRCs and yields raw features (bytes not dequantised, so
  it does less work than the rows need).

Inputs: the real video-level shard of the tests, repeated into one larger shard, and a
generated frame-level shard (``SequenceExample``, 1024 + 128 uint8 per second).

    python benchmarks/bench_tfrecord.py [--video-copies 20] [--frame-records 200] [--seconds 120]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dance_aggregate.builders.youtube8m.tfrecord import (
    dequantize,
    make_sequence_example,
    parse_record,
    read_records,
    write_records,
)

REAL_SHARD = Path(__file__).resolve().parent.parent / "tests" / "data" / "youtube8m" / "validate0026.tfrecord"


def ours(path: Path, check_crc: bool = True) -> int:
    n = 0
    for raw in read_records(path, check_crc=check_crc):
        rec = parse_record(raw.data)
        if rec.is_sequence:
            rgb = dequantize(np.frombuffer(b"".join(rec.sequences["rgb"]), np.uint8).reshape(-1, 1024))
            audio = dequantize(np.frombuffer(b"".join(rec.sequences["audio"]), np.uint8).reshape(-1, 128))
            assert rgb.shape[0] == audio.shape[0]
        else:
            assert rec.context["mean_rgb"].shape == (1024,)
        n += 1
    return n


def baseline_tfrecord(path: Path, frame_level: bool) -> int:
    from tfrecord.reader import tfrecord_loader

    n = 0
    if frame_level:
        it = tfrecord_loader(
            str(path), None, {"id": "byte", "labels": "int"}, sequence_description={"rgb": "byte", "audio": "byte"}
        )
        for _context, seq in it:
            assert len(seq["rgb"]) == len(seq["audio"])
            n += 1
    else:
        for rec in tfrecord_loader(str(path), None, None):
            assert rec["mean_rgb"].shape == (1024,)
            n += 1
    return n


def timed(fn: Callable[[], int], repeat: int) -> tuple[int, float]:
    best = float("inf")
    n = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t0)
    return n, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video-copies", type=int, default=20, help="copies of the 292-record real shard")
    ap.add_argument("--frame-records", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=120, help="seconds (frames) per frame-level record")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        import tfrecord  # noqa: F401

        have_baseline = True
    except ImportError:
        have_baseline = False
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "validate_video.tfrecord"
        video.write_bytes(REAL_SHARD.read_bytes() * args.video_copies)
        rng = np.random.default_rng(0)
        frame = Path(tmp) / "train_frame.tfrecord"
        write_records(
            frame,
            (
                make_sequence_example(
                    {"id": f"{i:04x}".encode(), "labels": [8]},
                    {
                        "rgb": list(rng.integers(0, 256, (args.seconds, 1024), dtype=np.uint8)),
                        "audio": list(rng.integers(0, 256, (args.seconds, 128), dtype=np.uint8)),
                    },
                )
                for i in range(args.frame_records)
            ),
        )
        for name, path, frame_level in (("video level", video, False), ("frame level", frame, True)):
            size = path.stat().st_size / 1e6
            print(f"{name}: {path.name}, {size:.1f} MB")
            runs = [
                ("dance_aggregate", lambda p=path: ours(p)),
                ("dance_aggregate (no crc)", lambda p=path: ours(p, check_crc=False)),
            ]
            if have_baseline:
                runs.append(("tfrecord (PyPI, no crc)", lambda p=path, f=frame_level: baseline_tfrecord(p, f)))
            for label, fn in runs:
                n, secs = timed(fn, args.repeat)
                print(f"  {label:<26} {n:>6} records  {n / secs:>10,.0f} records/s  {size / secs:>8.1f} MB/s")
        if not have_baseline:
            print("(baseline `tfrecord` not installed: pip install -e .[bench])")


if __name__ == "__main__":
    main()
