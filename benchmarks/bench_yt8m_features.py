"""Bytes per video-second of YouTube-8M frame-level rows: float32 (before) against uint8 (now).

The ``youtube8m`` config used to store ``frame_rgb``/``frame_audio`` dequantised as float32
(4 bytes a value); it now stores the release's uint8 bytes (1 byte a value) and
:func:`dance_aggregate.training.features.dequantize` gives the floats. Both layouts are built
in the same run from the same features and measured four ways:

- **Parquet**: the shard bytes as the project writes them (zstd, dictionaries, page indexes:
  :func:`dance_aggregate.output.shards.parquet_bytes`); what is stored and downloaded;
- **Arrow**: the in-memory table (``Table.nbytes``), what the ``datasets`` cache holds on disk
  after ``load_dataset`` and what a process maps;
- **JSON**: the row as the Hub viewer's first-rows response serialises it (JSON numbers), and
  how many rows fit its 200,000-byte budget;
- **raw**: the values themselves (1152 a second as uint8, 4608 as float32).

No frame-level shard of the real release is in this repository, so the features are
generated: per video, an AR(1) sequence over seconds (rho 0.9, consecutive seconds look
alike as in real video) around a per-dimension centre taken from the real video-level
``mean_rgb``/``mean_audio`` of ``tests/data/youtube8m/validate0026.tfrecord``, quantised
over [-2, 2] as the release does. Compression figures depend on that assumption; the
Arrow, JSON and raw ratios do not.

    python benchmarks/bench_yt8m_features.py [--videos 50] [--seconds 120]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from dance_aggregate.builders.youtube8m.tfrecord import dequantize, parse_record, quantize, read_records
from dance_aggregate.output.shards import parquet_bytes
from dance_aggregate.schema import arrow_schema, rows_to_table

REAL_SHARD = Path(__file__).resolve().parent.parent / "tests" / "data" / "youtube8m" / "validate0026.tfrecord"
VIEWER_FIRST_ROWS_BYTES = 200_000


def centres() -> tuple[np.ndarray, np.ndarray]:
    """Per-video mean_rgb / mean_audio of the real shard."""
    rgb, audio = [], []
    for raw in read_records(REAL_SHARD):
        ctx = parse_record(raw.data).context
        rgb.append(ctx["mean_rgb"])
        audio.append(ctx["mean_audio"])
    return np.stack(rgb), np.stack(audio)


def features(n: int, seconds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` videos of quantised (seconds, 1024) / (seconds, 128) uint8 features."""
    rng = np.random.default_rng(seed)
    c_rgb, c_audio = centres()
    out = []
    for k in range(n):
        vids = []
        for centre in (c_rgb[k % len(c_rgb)], c_audio[k % len(c_audio)]):
            x = np.empty((seconds, centre.size), np.float32)
            x[0] = centre + rng.normal(0, 0.5, centre.size)
            for t in range(1, seconds):
                x[t] = centre + 0.9 * (x[t - 1] - centre) + rng.normal(0, 0.5 * np.sqrt(1 - 0.81), centre.size)
            vids.append(quantize(x))
        out.append((vids[0], vids[1]))
    return out


def tables(videos: list[tuple[np.ndarray, np.ndarray]]) -> tuple[pa.Table, pa.Table]:
    """The rows as stored now (uint8) and as stored before (dequantised float32)."""
    rows = []
    for k, (rgb, audio) in enumerate(videos):
        rows.append(
            {
                "id": f"youtube8m/v{k:04d}",
                "source": "youtube8m",
                "source_id": f"v{k:04d}",
                "label": "dance",
                "group": f"v{k:04d}",
                "has_audio": False,
                "duration": float(len(rgb)),
                "num_frames": len(rgb),
                "fps": 1.0,
                "frame_rgb": list(rgb),
                "frame_audio": list(audio),
            }
        )
    now = rows_to_table(rows)
    before_schema = arrow_schema()
    for name in ("frame_rgb", "frame_audio"):
        i = before_schema.get_field_index(name)
        before_schema = before_schema.set(i, pa.field(name, pa.list_(pa.list_(pa.float32()))))
    before = pa.table(
        {
            name: (
                pa.array([[list(v) for v in dequantize(np.stack(c))] for c in now.column(name).to_pylist()], type=pa.list_(pa.list_(pa.float32())))
                if name in ("frame_rgb", "frame_audio")
                else now.column(name)
            )
            for name in now.schema.names
        },
        schema=before_schema,
    )
    return now, before


def json_row_bytes(table: pa.Table) -> float:
    """Mean bytes of one row's feature cells as JSON numbers (what the viewer sends)."""
    cols = {n: table.column(n).to_pylist() for n in ("frame_rgb", "frame_audio")}
    total = sum(len(json.dumps(v)) for vals in cols.values() for v in vals)
    return total / table.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=120)
    args = parser.parse_args()
    videos = features(args.videos, args.seconds)
    now, before = tables(videos)
    seconds = args.videos * args.seconds
    print(f"{args.videos} videos x {args.seconds} s = {seconds} video-seconds of frame-level features\n")
    print(f"{'layout':<22} {'Parquet B/s':>12} {'Arrow B/s':>10} {'JSON B/row':>11} {'rows in 200 kB':>15} {'raw B/s':>8}")
    figures = {}
    for name, table, raw in (("before: float32", before, 4 * 1152), ("now: uint8", now, 1152)):
        pq_bytes = len(parquet_bytes(table))
        js = json_row_bytes(table)
        figures[name] = (pq_bytes / seconds, table.nbytes / seconds, js)
        print(
            f"{name:<22} {pq_bytes / seconds:>12.1f} {table.nbytes / seconds:>10.1f} {js:>11.0f} "
            f"{VIEWER_FIRST_ROWS_BYTES / js:>15.2f} {raw:>8}"
        )
    b, n = figures["before: float32"], figures["now: uint8"]
    print(f"\nratio before/now: Parquet {b[0] / n[0]:.2f}x, Arrow {b[1] / n[1]:.2f}x, JSON {b[2] / n[2]:.2f}x")
    # The stored bytes decode back to exactly the floats the old layout held.
    back = [dequantize(np.stack(c)) for c in now.column("frame_rgb").to_pylist()[:3]]
    old = [np.array(c, np.float32) for c in before.column("frame_rgb").to_pylist()[:3]]
    assert all(np.array_equal(x, y) for x, y in zip(back, old, strict=True)), "uint8 layout is not lossless"
    print("lossless: dequantize(uint8 cells) == the float32 cells, bit for bit")


if __name__ == "__main__":
    main()
