"""Streaming that parallelises: every (node, DataLoader worker) reads its own shards and
every clip is seen exactly once per epoch, on a multi-shard copy of the sample build.

Workers are emulated without torch the way ``datasets`` splits work inside a DataLoader
worker (``IterableDataset._iter_pytorch``: the node's iterable, then
``shard_data_sources(num_workers, worker_id, contiguous=False)``); a second test runs a real
``torch.utils.data.DataLoader`` when torch is installed (CI does not install it).
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from dance_aggregate.training import DecodeFrames, check_parallelism, collate, stream
from tests.helpers_training import build_sample, multi_shard_folder

SHARDS = 12


@pytest.fixture(autouse=True)
def _no_shutdown_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """datasets sleeps 5 s at the end of every shuffled Parquet iteration to let Arrow's
    reader threads stop (apache/arrow#45214); harmless once per epoch in training, but these
    tests iterate dozens of times."""
    import datasets.config

    monkeypatch.setattr(datasets.config, "SLEEP_TIME_ON_THREADS_SHUTDOWN", 0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("stream")
    sample = build_sample(tmp / "sample", tmp / "cache")
    return multi_shard_folder(sample, tmp / "multi", copies=3, shards=SHARDS)


@pytest.fixture(scope="module")
def shard_of(folder: Path) -> dict[str, str]:
    """Clip id -> the shard file that holds it (read with pyarrow, independently of datasets)."""
    out = {}
    for f in sorted((folder / "data" / "ucf101").glob("train-*.parquet")):
        for clip_id in pq.read_table(f, columns=["id"])["id"].to_pylist():
            out[clip_id] = f.name
    return out


def worker_rows(node_ds: Any, num_workers: int, worker_id: int) -> Iterator[dict[str, Any]]:
    """What DataLoader worker ``worker_id`` of ``num_workers`` iterates on a node (torch-free
    copy of what ``datasets`` does in ``_iter_pytorch``)."""
    ex_iterable = node_ds._prepare_ex_iterable_for_iteration()
    if worker_id >= ex_iterable.num_shards:
        return  # datasets stops the workers that have no shard
    ex_iterable = ex_iterable.shard_data_sources(num_shards=num_workers, index=worker_id, contiguous=False)
    for _, row in ex_iterable:
        yield row


def test_folder_has_several_shards(folder: Path, shard_of: dict[str, str]) -> None:
    assert len(set(shard_of.values())) == SHARDS
    ds = stream(folder, "ucf101", seed=0)
    assert ds.num_shards == SHARDS
    row = next(iter(ds))
    assert set(row["video"]) == {"bytes", "path"} and row["video"]["path"].endswith(".mp4")


@pytest.mark.parametrize(("world_size", "num_workers"), [(1, 1), (1, 3), (2, 2), (3, 2), (2, 6), (4, 3)])
def test_each_clip_once_and_workers_read_disjoint_shards(folder: Path, shard_of: dict[str, str], world_size: int, num_workers: int) -> None:
    assert check_parallelism(SHARDS, world_size, num_workers) == []
    seen: Counter[str] = Counter()
    shards_read: dict[tuple[int, int], set[str]] = {}
    for rank in range(world_size):
        node = stream(folder, "ucf101", rank=rank, world_size=world_size, seed=42, buffer_size=4)
        for worker in range(num_workers):
            ids = [row["id"] for row in worker_rows(node, num_workers, worker)]
            assert ids, f"node {rank} worker {worker} got no rows"
            seen.update(ids)
            shards_read[(rank, worker)] = {shard_of[i] for i in ids}
    assert seen == Counter(shard_of.keys()), "every clip exactly once per epoch"
    readers = Counter(s for shards in shards_read.values() for s in shards)
    assert set(readers.values()) == {1}, f"a shard read by two workers: {readers}"


def test_public_shard_api_also_partitions(folder: Path, shard_of: dict[str, str]) -> None:
    """The same with only public API: ``IterableDataset.shard`` per emulated worker id."""
    seen: Counter[str] = Counter()
    for rank in range(2):
        node = stream(folder, "ucf101", rank=rank, world_size=2, seed=1, buffer_size=4)
        for worker in range(3):
            seen.update(row["id"] for row in node.shard(num_shards=3, index=worker, contiguous=False))
    assert seen == Counter(shard_of.keys())


def test_uneven_world_size_still_sees_each_clip_once(folder: Path, shard_of: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    """5 nodes for 12 shards: datasets falls back to one example in five per node (every node
    reads every shard); still exactly once per epoch, and the helper warns about the I/O."""
    assert any("do not divide" in p for p in check_parallelism(SHARDS, 5, 1))
    seen: Counter[str] = Counter()
    for rank in range(5):
        seen.update(row["id"] for row in stream(folder, "ucf101", rank=rank, world_size=5, seed=3, buffer_size=4))
    assert seen == Counter(shard_of.keys())
    assert "idle" in " ".join(check_parallelism(SHARDS, 1, 16))


def test_epochs_reshuffle_but_keep_the_set(folder: Path, shard_of: dict[str, str]) -> None:
    ds = stream(folder, "ucf101", seed=7, buffer_size=8)
    orders = []
    for epoch in range(3):
        ds.set_epoch(epoch)
        orders.append([row["id"] for row in ds])
    assert all(Counter(o) == Counter(shard_of.keys()) for o in orders)
    assert len({tuple(o) for o in orders}) == 3
    stored = [r["id"] for r in stream(folder, "ucf101", buffer_size=0)]
    assert orders[0] != stored


def test_map_transform_and_collate_without_torch(folder: Path) -> None:
    ds = stream(folder, "ucf101", seed=0, buffer_size=4)
    ds = ds.map(DecodeFrames(num_frames=4, size=(64, 80), audio_rate=16000), remove_columns=["video", "audio"])
    rows = list(ds.take(3))
    assert rows[0]["frames"].shape == (4, 64, 80, 3) and rows[0]["frames"].dtype == np.uint8
    batch = collate(rows)
    assert batch["frames"].shape == (3, 4, 64, 80, 3)
    assert batch["label"].shape == (3,) and isinstance(batch["id"], list)
    audio = batch["audio_samples"]  # stacked when all clips have the same length, else a list
    assert (audio.shape[0] if isinstance(audio, np.ndarray) else len(audio)) == 3


@pytest.mark.torch
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed: run `pip install torch==2.13.0 && python -m pytest -m torch`")
def test_real_dataloader_workers(folder: Path, shard_of: dict[str, str]) -> None:
    import torch
    from torch.utils.data import DataLoader

    seen: Counter[str] = Counter()
    for rank in range(2):
        ds = stream(folder, "ucf101", rank=rank, world_size=2, seed=5, buffer_size=4)
        ds = ds.map(DecodeFrames(num_frames=2, size=(32, 32), as_tensor=True), remove_columns=["video", "audio"])
        loader = DataLoader(ds, batch_size=2, num_workers=2, collate_fn=collate)
        for batch in loader:
            assert isinstance(batch["frames"], torch.Tensor) and batch["frames"].shape[1:] == (2, 3, 32, 32)
            assert isinstance(batch["label"], torch.Tensor)
            seen.update(batch["id"])
    assert seen == Counter(shard_of.keys())


def test_example_runs_and_falls_back_when_kinetics_is_absent(folder: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """examples/train_stream.py on the sample folder: when kinetics600 is absent it says which
    config it uses instead; then it streams, decodes and batches."""
    import logging
    import runpy

    from dance_aggregate.output.folder import BuiltFolder

    example = Path(__file__).resolve().parents[1] / "examples" / "train_stream.py"
    argv = [str(example), "--data", str(folder), "--frames", "4", "--size", "32", "--batch-size", "1", "--workers", "2", "--steps", "2"]
    monkeypatch.setattr("sys.argv", argv)
    with caplog.at_level(logging.INFO):
        runpy.run_path(str(example), run_name="__main__")
    text = caplog.text
    if "kinetics600" not in BuiltFolder.open(folder).configs:
        assert "config 'kinetics600' is not in" in text and "dance-aggregate build kinetics600" in text
    assert "step 2" in text


def test_collate_stacks_what_it_can_and_keeps_the_rest() -> None:
    rows = [
        {"id": "a", "frames": np.zeros((2, 4, 4, 3), np.uint8), "label": 1, "has_audio": True, "audio_samples": np.zeros(3), "youtube_id": None},
        {"id": "b", "frames": np.ones((2, 4, 4, 3), np.uint8), "label": 2, "has_audio": False, "audio_samples": np.zeros(5), "youtube_id": None},
    ]
    batch = collate(rows)
    assert batch["frames"].shape == (2, 2, 4, 4, 3) and batch["frames"][1].min() == 1
    assert batch["label"].tolist() == [1, 2] and batch["has_audio"].tolist() == [True, False]
    assert batch["id"] == ["a", "b"] and batch["youtube_id"] == [None, None]
    assert [len(a) for a in batch["audio_samples"]] == [3, 5]  # ragged: a list
    assert collate([]) == {}


def test_feature_only_rows_are_filtered_or_refused(folder: Path) -> None:
    """YouTube-8M rows (in ``youtube8m`` and ``all``) have no pixels: ``has_video`` drops them,
    and decoding one anyway is a clear MediaError, not a crash inside PyAV."""
    from dance_aggregate.errors import MediaError
    from dance_aggregate.output.folder import BuiltFolder
    from dance_aggregate.training import has_video

    if "youtube8m" not in BuiltFolder.open(folder).configs:
        pytest.skip("the sample has no youtube8m config")
    ds = stream(folder, "youtube8m", buffer_size=0)
    row = next(iter(ds))
    assert not has_video(row) and not list(ds.filter(has_video))
    with pytest.raises(MediaError, match="null"):
        DecodeFrames(num_frames=2)(row)
