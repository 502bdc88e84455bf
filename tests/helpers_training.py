"""Media and folders for the decoding / streaming tests (generated per session, never committed)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from dance_aggregate.synth import pattern_frame


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
