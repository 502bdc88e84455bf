"""Reading a built dataset in a training loop (streaming, sharding, frame decoding, batching).

Torch-free; see :mod:`dance_aggregate.training.loader` and ``docs/training.md``.
"""

from dance_aggregate.training.loader import DecodeFrames, check_parallelism, collate, has_video, stream
from dance_aggregate.training.location import DatasetLocationError, dataset_location

__all__ = ["DatasetLocationError", "DecodeFrames", "check_parallelism", "collate", "dataset_location", "has_video", "stream"]
