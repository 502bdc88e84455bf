"""Media and folders for the decoding / streaming tests (generated per session, never committed)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from dance_aggregate.media.synth import pattern_frame


def write_gop_clip(path: Path, *, frames: int = 120, gop: int = 10, fps: int = 25, width: int = 160, height: int = 120, seed: int = 7) -> Path:
    """An H.264 MP4 with a keyframe every ``gop`` frames and B-frames (x264 ``veryfast``),
    so seeking has keyframes to jump to and frames arrive out of decode order."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.options = {"preset": "veryfast", "g": str(gop), "keyint_min": str(gop), "bf": "2"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern_frame(seed, i, width, height), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
    return path


def full_decode(source: str | Path) -> np.ndarray:
    """Every frame of the first video stream, in presentation order (the reference)."""
    with av.open(str(source)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def build_sample(out: Path, cache: Path) -> Path:
    """``dance-aggregate build --sample`` into ``out`` (the real CLI, in-process)."""
    from click.testing import CliRunner

    from dance_aggregate.cli import cli

    result = CliRunner().invoke(cli, ["build", "--sample", "-O", str(out), "--cache-dir", str(cache), "-q"])
    assert result.exit_code == 0, result.output
    return out


def multi_shard_folder(sample: Path, dst: Path, *, copies: int = 3, shards: int = 12, config: str = "ucf101") -> Path:
    """A copy of a sample build whose ``config`` has several shards per split.

    The sample writes one small shard per split; streaming parallelism needs several. The
    train split is grown to ``copies`` times its rows (copies get distinct ids, ``#k``
    suffix) and written with ``writer.write_config`` and a shard size that yields
    ``shards`` shards; the card is re-rendered so ``load_dataset(folder, config)`` works.
    """
    import shutil

    import pyarrow as pa
    import pyarrow.compute as pc

    from dance_aggregate.output.folder import read_config
    from dance_aggregate.output.shards import write_config
    from dance_aggregate.pipeline.build import finalize_folder

    shutil.copytree(sample, dst, ignore=shutil.ignore_patterns(".work"))
    tables = read_config(dst, config)
    train = tables["train"]
    grown = [train] + [
        train.set_column(train.schema.get_field_index("id"), "id", pc.binary_join_element_wise(train["id"], f"#{k}", ""))
        for k in range(1, copies)
    ]
    tables["train"] = pa.concat_tables(grown)
    per_shard = tables["train"].nbytes // shards + 1
    write_config(dst, config, tables, max_shard_bytes=per_shard)
    finalize_folder(dst)
    return dst
