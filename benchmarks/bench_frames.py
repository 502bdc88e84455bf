"""Let's Dance frames-to-video throughput (frames/s): from a folder and from the zip.

Generates a Let's Dance tree of 1280x720 JPEG frames (the release's size, quality 90) in a
temporary folder and the same tree as a zip (``rgb/<class>/...``, deflated as the release is),
then times :class:`LetsDanceBuilder` planning and encoding every clip (JPEG decode, scale,
H.264 encode, fingerprints), one process. Also times JPEG decoding alone at full size and
with libjpeg's DCT scaling (``draft``), which the builder uses when the output is smaller.

    python benchmarks/bench_frames.py [--clips 3] [--frames 60] [--max-short-side 360]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import zipfile
from pathlib import Path

from PIL import Image

from dance_aggregate.builders.letsdance import LetsDanceBuilder
from dance_aggregate.media.frames import decode_jpeg
from dance_aggregate.media.synth import pattern_frame
from dance_aggregate.pipeline.config import RunSettings
from dance_aggregate.pipeline.execute import produce_record

CLASSES = ("ballet", "tango", "samba", "waltz")


def make_tree(root: Path, clips: int, frames: int) -> list[Path]:
    files = []
    for c in range(clips):
        cls = CLASSES[c % len(CLASSES)]
        (root / cls).mkdir(parents=True, exist_ok=True)
        # Render a small pattern and upscale: fast to make, still real 720p JPEGs.
        for i in range(1, frames + 1):
            img = Image.fromarray(pattern_frame(100 + c, i, 320, 180)).resize((1280, 720), Image.BILINEAR)
            path = root / cls / f"bench{c:03d}_x-_{10 + c:03d}_{i:04d}.jpg"
            img.save(path, quality=90)
            files.append(path)
    return files


def make_zip(root: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(root.rglob("*.jpg")):
            zf.write(f, "rgb/" + f.relative_to(root).as_posix())


def encode_all(data_dir: Path, max_short_side: int) -> tuple[int, float, float]:
    t0 = time.perf_counter()
    builder = LetsDanceBuilder(data_dir, LetsDanceBuilder.parse_options({"max_short_side": str(max_short_side)}))
    plan = builder.plan()
    t_plan = time.perf_counter() - t0
    ctx = RunSettings(output=data_dir.parent / "out", progress=False).context(builder)
    n = 0
    t1 = time.perf_counter()
    for record in plan.records:
        n += produce_record(record, ctx).rows[0]["num_frames"]
    return n, t_plan, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=3)
    ap.add_argument("--frames", type=int, default=60, help="frames per clip")
    ap.add_argument("--max-short-side", type=int, default=360, help="0 keeps 1280x720")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "letsdance"
        files = make_tree(folder, args.clips, args.frames)
        archive = Path(tmp) / "letsdance.zip"
        make_zip(folder, archive)
        mb = sum(f.stat().st_size for f in files) / 1e6
        print(
            f"{len(files)} frames 1280x720 JPEG ({mb:.1f} MB), {args.clips} clips; zip {archive.stat().st_size / 1e6:.1f} MB"
        )
        sample = [f.read_bytes() for f in files[:60]]
        for label, side in (
            ("full 1280x720", None),
            (f"draft for short side {args.max_short_side}", args.max_short_side),
        ):
            t0 = time.perf_counter()
            shapes = {decode_jpeg(b, side).shape for b in sample}
            dt = time.perf_counter() - t0
            print(f"  JPEG decode only, {label:<28} {len(sample) / dt:>8,.0f} frames/s  -> {sorted(shapes)}")
        for label, path in (("folder", folder), ("zip", archive)):
            n, t_plan, t_enc = encode_all(path, args.max_short_side)
            print(
                f"  {label:<6} frames -> H.264 (short side {args.max_short_side or 720}): "
                f"{n / t_enc:>6,.0f} frames/s  ({n} frames in {t_enc:.2f} s; plan {t_plan * 1000:.0f} ms)"
            )


if __name__ == "__main__":
    main()
