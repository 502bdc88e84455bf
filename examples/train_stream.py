"""Training-loop skeleton: stream a config, decode 16 frames per clip, batch, step.

Runs on one machine or under ``torchrun`` (it reads ``RANK`` / ``WORLD_SIZE``). With torch
installed it uses a ``DataLoader`` with several workers and a toy 3D-conv model; without
torch it still streams, decodes and batches (numpy), so the data path can be tried
anywhere::

    dance-aggregate build --sample                     # or a real build into ./dance_aggregate
    python examples/train_stream.py --data dance_aggregate --config kinetics600 --steps 20
    torchrun --nproc-per-node 2 examples/train_stream.py --data dance_aggregate

If the folder has no ``--config`` (e.g. a sample built before the Kinetics builder
existed), the script says so and uses a config that is there.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from dance_aggregate.output.folder import BuiltFolder
from dance_aggregate.training import DecodeFrames, collate, has_video, stream

log = logging.getLogger("train_stream")


def pick_config(data: str, wanted: str) -> str:
    """``wanted`` if the local folder has it, else the best available config (with a clear note)."""
    folder = Path(data)
    if not folder.is_dir():
        return wanted  # a Hub repo id: let load_dataset resolve it
    available = BuiltFolder.open(folder).configs
    if wanted in available:
        return wanted
    if not available:
        sys.exit(
            f"error: {folder} has no configs (no data/<config>/*.parquet). Build one first, e.g.\n"
            f"  dance-aggregate build --sample --output {folder}"
        )
    with_pixels = [c for c in available if c != "youtube8m"]  # youtube8m rows have no video
    fallback = "all" if "all" in available else (with_pixels or available)[0]
    log.warning(
        "config %r is not in %s (it has: %s); using %r instead. To build it: "
        "dance-aggregate build %s --data-dir %s=PATH --output %s",
        wanted, folder, ", ".join(available), fallback, wanted, wanted, folder,
    )
    return fallback


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    p = argparse.ArgumentParser(description="Stream a dance_aggregate config into a training loop.")
    p.add_argument("--data", default="dance_aggregate", help="dataset folder (or Hub repo id)")
    p.add_argument("--config", default="kinetics600")
    p.add_argument("--frames", type=int, default=16, help="frames per clip")
    p.add_argument("--size", type=int, default=112, help="frames resized to SIZE x SIZE")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers per process")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--steps", type=int, default=0, help="stop after this many steps per epoch (0: whole epoch)")
    p.add_argument("--seed", type=int, default=0, help="shuffle seed: the same on every process")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    config = pick_config(args.data, args.config)
    has_torch = torch_available()
    ds = stream(
        args.data, config, "train",
        rank=rank, world_size=world_size, seed=args.seed, buffer_size=64,
        num_workers=args.workers if has_torch else 1,
        columns=["id", "label", "video"],  # skip reading audio bytes and features
    )
    label_count = ds.features["label"].num_classes  # ClassLabel: the same in every config
    ds = ds.filter(has_video)  # YouTube-8M rows (in `all`) carry features, not pixels
    ds = ds.map(
        DecodeFrames(num_frames=args.frames, mode="random", size=(args.size, args.size), as_tensor=has_torch),
        remove_columns=["video"],
    )
    if has_torch:
        train_torch(ds, args, label_count)
    else:
        log.warning("torch is not installed: streaming and batching with numpy only (pip install 'dance-aggregate[torch]')")
        train_numpy(ds, args)


def train_torch(ds, args, num_classes: int) -> None:  # noqa: ANN001 - torch types are optional
    import torch
    from torch import nn
    from torch.utils.data import DataLoader

    model = nn.Sequential(
        nn.Conv3d(3, 16, kernel_size=3, stride=(1, 2, 2), padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(16, num_classes),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(ds, batch_size=args.batch_size, num_workers=args.workers, collate_fn=collate, persistent_workers=False)
    for epoch in range(args.epochs):
        ds.set_epoch(epoch)  # new shard order and shuffle every epoch
        t0, clips = time.perf_counter(), 0
        for step, batch in enumerate(loader, 1):
            # (B, T, C, H, W) uint8 -> (B, C, T, H, W) float in [0, 1]
            x = batch["frames"].permute(0, 2, 1, 3, 4).float().div_(255)
            loss = nn.functional.cross_entropy(model(x), batch["label"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            clips += len(batch["id"])
            log.info("epoch %d step %d loss %.3f frames %s (%.1f clips/s)", epoch, step, loss.item(),
                     tuple(batch["frames"].shape), clips / (time.perf_counter() - t0))
            if args.steps and step >= args.steps:
                break


def train_numpy(ds, args) -> None:  # noqa: ANN001
    for epoch in range(args.epochs):
        ds.set_epoch(epoch)
        t0, clips, batch_rows, step = time.perf_counter(), 0, [], 0
        for row in ds:
            batch_rows.append(row)
            if len(batch_rows) < args.batch_size:
                continue
            batch, batch_rows, step = collate(batch_rows), [], step + 1
            clips += len(batch["id"])
            log.info("epoch %d step %d frames %s labels %s (%.1f clips/s)", epoch, step, batch["frames"].shape,
                     batch["label"].tolist(), clips / (time.perf_counter() - t0))
            if args.steps and step >= args.steps:
                break


if __name__ == "__main__":
    main()
