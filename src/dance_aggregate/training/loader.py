"""Reading the dataset in a training loop: streaming, sharding, frame decoding, batching.

Nothing here imports torch at module level: :func:`stream`, :class:`DecodeFrames` and
:func:`collate` work with numpy alone, and hand out torch tensors only when asked to
(``DecodeFrames(as_tensor=True)``) or when the batch already holds tensors. The usual
loop (see ``docs/training.md`` and ``examples/train_stream.py``)::

    from torch.utils.data import DataLoader
    from dance_aggregate.training import DecodeFrames, collate, stream

    ds = stream("/path/to/dance_aggregate", "kinetics600", rank=rank, world_size=world_size, seed=0)
    ds = ds.map(DecodeFrames(num_frames=16, size=(112, 112)), remove_columns=["video", "audio"])
    loader = DataLoader(ds, batch_size=8, num_workers=4, collate_fn=collate)
    for epoch in range(epochs):
        ds.set_epoch(epoch)                       # a new shard order and shuffle each epoch
        for batch in loader:                      # batch["frames"]: (8, 16, 112, 112, 3) uint8
            ...

How the work is split (``datasets`` does it; this module only sets it up right):

* ``shuffle(seed=..., buffer_size=...)`` permutes the *shards* with the seed and shuffles
  examples in a buffer. Every node must use the same seed, or nodes permute shards
  differently and read some shards twice and others never: :func:`stream` always passes one.
* ``split_dataset_by_node(ds, rank, world_size)`` gives each node ``num_shards / world_size``
  whole shards when ``world_size`` divides ``num_shards``; otherwise every node reads every
  shard and keeps one example in ``world_size`` (correct, but ``world_size`` times the I/O).
* Each DataLoader worker then takes every ``num_workers``-th shard of its node's shards;
  workers beyond the number of shards stay idle.

So each clip is seen exactly once per epoch, and reads are disjoint when
``world_size * num_workers`` divides ``ds.num_shards``. :func:`check_parallelism` says so.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from datasets import IterableDataset, load_dataset
from datasets.distributed import split_dataset_by_node

from dance_aggregate.errors import DanceAggregateError
from dance_aggregate.media.decode import read_audio, sample_frames
from dance_aggregate.records import ALL_CONFIG
from dance_aggregate.training.location import dataset_location

logger = logging.getLogger(__name__)


def stream(
    path: str | Path,
    config: str,
    split: str = "train",
    *,
    rank: int = 0,
    world_size: int = 1,
    seed: int = 0,
    buffer_size: int = 64,
    max_buffer_input_shards: int = 4,
    num_workers: int | None = None,
    **load_kwargs: Any,
) -> IterableDataset:
    """Open a config for training: streaming, media undecoded, shuffled, split by node.

    Args:
        path: The dataset folder (its path; a relative path is read from the current
            directory) or a Hub repo id ``NAMESPACE/NAME``. A bare name that is no folder
            here is refused (:func:`~dance_aggregate.training.location.dataset_location`):
            ``datasets`` would look it up on the Hub instead.
        config: Config name (``kinetics600``, ``all``, ...).
        split: Split name.
        rank: This node's rank (``torch.distributed.get_rank()``).
        world_size: Number of nodes / processes (``torch.distributed.get_world_size()``).
        seed: Shuffle seed; must be the same on every node.
        buffer_size: Example shuffle buffer (rows held in memory, each a few MB of video);
            ``0`` keeps the stored order and does not permute shards.
        max_buffer_input_shards: Shards read at once (interleaved) to fill the buffer, per
            worker. Each open shard holds one Parquet row group of video in memory, so this
            is kept lower than ``datasets``' default of 10.
        num_workers: DataLoader workers per node, only used to warn about idle workers
            or overlapping reads (:func:`check_parallelism`).
        **load_kwargs: Passed to ``datasets.load_dataset``.

    Returns:
        An ``IterableDataset`` whose ``video``/``audio`` cells are ``{"bytes", "path"}``
        dicts, ready for :class:`DecodeFrames`. Call ``set_epoch(epoch)`` each epoch.

    Raises:
        DatasetLocationError: ``path`` is neither an existing folder nor a Hub repo id.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"need 0 <= rank < world_size, got rank={rank!r}, world_size={world_size!r}")
    ds = load_dataset(dataset_location(path), config, split=split, streaming=True, **load_kwargs)
    ds = ds.decode(False)  # torch-free: the package's PyAV decoder reads the bytes
    if buffer_size:
        ds = ds.shuffle(seed=seed, buffer_size=buffer_size, max_buffer_input_shards=max_buffer_input_shards)
    if rank == 0:
        check_parallelism(ds.num_shards, world_size, num_workers or 1, config)
    if world_size > 1:
        ds = split_dataset_by_node(ds, rank=rank, world_size=world_size)
    return ds


def check_parallelism(num_shards: int, world_size: int = 1, num_workers: int = 1, config: str | None = None) -> list[str]:
    """Problems of a ``num_shards`` / ``world_size`` / ``num_workers`` combination.

    Logs each problem as a warning, with the command that reshards the config so that
    every worker of every node reads its own shards, and returns them (empty when every
    worker of every node reads its own whole shards and none is idle).

    Args:
        num_shards: Shards of the split (``ds.num_shards``).
        world_size: Nodes / processes.
        num_workers: DataLoader workers per node.
        config: The config read (named in the reshard command).
    """
    problems = []
    if num_shards % world_size:
        problems.append(
            f"{num_shards} shards do not divide among world_size={world_size} nodes: every node reads "
            f"every shard and skips {world_size - 1} rows in {world_size} ({world_size}x the I/O)"
        )
    per_node = num_shards // world_size if num_shards % world_size == 0 else num_shards
    if per_node < num_workers:
        problems.append(
            f"{per_node} shards per node for num_workers={num_workers}: "
            f"{num_workers - per_node} DataLoader worker(s) will stay idle"
        )
    elif per_node % num_workers:
        problems.append(
            f"{per_node} shards per node do not divide among num_workers={num_workers}: "
            "some workers read one shard more than others"
        )
    if problems:
        hint = reshard_hint(num_shards, world_size * num_workers, config)
        problems = [f"{p}. {hint}" for p in problems]
    for p in problems:
        logger.warning(p)
    return problems


def reshard_hint(num_shards: int, readers: int, config: str | None = None) -> str:
    """How to rebuild ``config`` with a shard count that is a multiple of ``readers``
    (nodes x DataLoader workers): ``dance-aggregate build ... --shards N``."""
    want = max(readers, -(-num_shards // readers) * readers)
    if config is None or config == ALL_CONFIG:
        command = f"dance-aggregate build ... --shards {want}   (the same configs and --data-dir as before; `all` follows)"
    else:
        from dance_aggregate.builders import registry

        try:
            source = registry.get_config(config).source
        except DanceAggregateError:
            source = "SOURCE"
        command = f"dance-aggregate build {config} --data-dir {source}=PATH --shards {want}"
    return (
        f"Fix: reshard to a multiple of {readers} (nodes x DataLoader workers): {command} "
        f"(or, for the sample: dance-aggregate build --sample --shards {want}); finished clips are reused, "
        "only the shards are rewritten"
    )


def has_video(row: Mapping[str, Any]) -> bool:
    """Whether a row has pixels: a filter for configs that mix in feature-only rows
    (YouTube-8M in ``all``), e.g. ``ds.filter(has_video)`` before :class:`DecodeFrames`."""
    return row.get("video") is not None


@dataclass
class DecodeFrames:
    """Row -> row with decoded frames: a transform for ``IterableDataset.map`` (or ``Dataset.map``
    / ``set_transform`` on single rows). Picklable, so it runs inside DataLoader workers.

    Attributes:
        num_frames: Frames per clip.
        mode: ``random`` (one random frame per equal segment, for training) or ``uniform``
            (evaluation).
        size: ``(height, width)`` to resize to; ``None`` keeps the stored size, which
            varies between sources, so batching then needs equal sizes.
        column: Video column (a ``decode=False`` cell).
        output: Name of the frames field added to the row.
        as_tensor: Return a torch ``uint8`` tensor ``(T, C, H, W)`` instead of a numpy
            ``(T, H, W, C)`` array (imports torch on first use).
        audio_rate: Also add ``audio_samples`` (mono float32 at this rate, from the
            ``audio`` column; empty for clips without sound). ``None``: no audio.
    """

    num_frames: int = 16
    mode: str = "random"
    size: tuple[int, int] | None = None
    column: str = "video"
    output: str = "frames"
    as_tensor: bool = False
    audio_rate: int | None = None

    def __call__(self, row: Mapping[str, Any]) -> dict[str, Any]:
        frames: Any = sample_frames(row, self.num_frames, mode=self.mode, size=self.size, column=self.column)
        if self.as_tensor:
            import torch

            frames = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
        out: dict[str, Any] = {self.output: frames}
        if self.audio_rate is not None:
            cell = row.get("audio")
            if cell is None:
                out["audio_samples"] = np.zeros(0, np.float32)
            else:
                out["audio_samples"] = read_audio(cell, self.audio_rate, mono=True)[0]
        return out


def collate(batch: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Batch rows: arrays stack (numpy, or torch when the rows hold tensors), numbers become
    arrays / tensors, everything else (ids, strings, ``None``, ragged audio) stays a list.

    Usable as ``DataLoader(collate_fn=collate)`` and without torch.
    """
    if not batch:
        return {}
    torch = sys.modules.get("torch")
    out: dict[str, Any] = {}
    for key in batch[0]:
        values = [row[key] for row in batch]
        first = values[0]
        if torch is not None and isinstance(first, torch.Tensor) and _same_shape(values):
            out[key] = torch.stack(values)
        elif isinstance(first, np.ndarray) and _same_shape(values):
            out[key] = np.stack(values)
        elif isinstance(first, (bool, int, float, np.number)) and all(isinstance(v, type(first)) for v in values):
            arr = np.asarray(values)
            out[key] = torch.from_numpy(arr) if torch is not None and _has_tensors(batch) else arr
        else:
            out[key] = values
    return out


def _same_shape(values: list[Any]) -> bool:
    return all(tuple(v.shape) == tuple(values[0].shape) for v in values)


def _has_tensors(batch: Sequence[Mapping[str, Any]]) -> bool:
    torch = sys.modules["torch"]
    return any(isinstance(v, torch.Tensor) for v in batch[0].values())
