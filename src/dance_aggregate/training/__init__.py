"""Reading a built dataset in a training loop (streaming, sharding, frame decoding, batching).

Torch-free; see :mod:`dance_aggregate.training.loader` and ``docs/training.md``.
"""

from dance_aggregate.training.loader import DecodeFrames, check_parallelism, collate, has_video, stream

__all__ = ["DecodeFrames", "check_parallelism", "collate", "has_video", "stream"]
