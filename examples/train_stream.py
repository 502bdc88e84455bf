"""Training-loop skeleton: stream a config, decode 16 frames per clip, batch, step.

Runs on one machine or under ``torchrun`` (it reads ``RANK`` / ``WORLD_SIZE``). With torch
installed it uses a ``DataLoader`` with several workers and a toy 3D-conv model; without
torch it streams, decodes and batches with numpy and trains a toy softmax classifier on
pooled frames, so the whole loop can be tried anywhere. Both keep the last, partial batch
(a DataLoader's default), so even the sample's two training clips make a step::

    dance-aggregate build --sample                     # or a real build into ./dance_aggregate
    python examples/train_stream.py --data ./dance_aggregate --config kinetics600 --steps 20
    torchrun --nproc-per-node 2 examples/train_stream.py --data ./dance_aggregate

``--data`` is the folder's path or a Hub repo id (``NAMESPACE/NAME``); a bare name that is
no folder here is refused (``datasets`` would look it up on the Hub, retry for half a
minute, then fail or load a stale cached copy). An unknown ``--config`` is an error that
lists the configs; if the folder lacks a known one (e.g. a sample built before the Kinetics
builder existed), the script says so and uses a config that is there.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
from datasets.exceptions import DatasetNotFoundError

from dance_aggregate.builders import registry
from dance_aggregate.errors import DanceAggregateError
from dance_aggregate.output.folder import BuiltFolder
from dance_aggregate.records import ALL_CONFIG
from dance_aggregate.training import DatasetLocationError, DecodeFrames, collate, dataset_location, has_video, stream

log = logging.getLogger("train_stream")


def known_config(wanted: str) -> str | None:
    """``None`` when ``wanted`` is a config of the dataset, else the error to show."""
    known = [*registry.config_names(), ALL_CONFIG]
    if wanted in known:
        return None
    close = difflib.get_close_matches(wanted, known, n=1)
    return (f"unknown config {wanted!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            + f"; the configs are: {', '.join(known)}")


def pick_config(data: str, wanted: str) -> str:
    """``wanted`` if the local folder has it, else the best available config (with a clear note).

    ``data`` is what :func:`dataset_location` returned: a folder's absolute path or a Hub repo id.
    """
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
    with_pixels = [c for c in available if c == ALL_CONFIG or registry.source(registry.get_config(c).source).has_pixels]
    fallback = ALL_CONFIG if ALL_CONFIG in available else (with_pixels or available)[0]
    if wanted == ALL_CONFIG:  # every build makes `all` from the configs with video in the folder
        how = f"dance-aggregate build CONFIG --data-dir SOURCE=PATH --output {folder}"
    else:  # --data-dir takes the source's name, not the config's
        how = f"dance-aggregate build {wanted} --data-dir {registry.get_config(wanted).source}=PATH --output {folder}"
    log.warning("config %r is not in %s (it has: %s); using %r instead. To build it: %s",
                wanted, folder, ", ".join(available), fallback, how)
    return fallback


def at_least(low: int):  # noqa: ANN201 - an argparse type
    """An argparse type: an integer >= ``low`` (a clear usage error otherwise, not a traceback)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value

    return parse


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    p = argparse.ArgumentParser(description="Stream a dance_aggregate config into a training loop.")
    p.add_argument("--data", default="./dance_aggregate",
                   help="the dataset folder's path, or a Hub repo id NAMESPACE/NAME (default: %(default)s)")
    p.add_argument("--config", default="kinetics600", help="config to train on (default: %(default)s)")
    p.add_argument("--frames", type=at_least(1), default=16, help="frames per clip")
    p.add_argument("--size", type=at_least(8), default=112, help="frames resized to SIZE x SIZE")
    p.add_argument("--batch-size", type=at_least(1), default=4)
    p.add_argument("--workers", type=at_least(0), default=2, help="DataLoader workers per process")
    p.add_argument("--epochs", type=at_least(1), default=1)
    p.add_argument("--steps", type=at_least(0), default=0, help="stop after this many steps per epoch (0: whole epoch)")
    p.add_argument("--seed", type=int, default=0, help="shuffle seed: the same on every process")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    problem = known_config(args.config)
    if problem:
        p.error(f"--config: {problem}")
    try:
        args.data = dataset_location(args.data)
    except DatasetLocationError as exc:
        p.error(f"--data: {exc}")
    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    try:
        config = pick_config(args.data, args.config)
    except DanceAggregateError as exc:  # e.g. a folder that is not a built dataset
        sys.exit(f"error: {exc}")
    has_torch = torch_available()
    try:
        ds = stream(
            args.data, config, "train",
            rank=rank, world_size=world_size, seed=args.seed, buffer_size=64,
            num_workers=args.workers if has_torch else 1,
            columns=["id", "label", "video"],  # skip reading audio bytes and features
        )
    except (DanceAggregateError, DatasetNotFoundError, OSError, ValueError) as exc:  # OSError: ConnectionError too
        sys.exit(f"error: cannot stream {config!r} of {args.data}: {exc}")
    label_count = ds.features["label"].num_classes  # ClassLabel: the same in every config
    ds = ds.filter(has_video)  # YouTube-8M rows (in `all`) carry features, not pixels
    ds = ds.map(
        DecodeFrames(num_frames=args.frames, mode="random", size=(args.size, args.size), as_tensor=has_torch),
        remove_columns=["video"],
    )
    if has_torch:
        train_torch(ds, args, label_count)
    else:
        log.warning("torch is not installed: training a numpy softmax classifier instead of the 3D-conv model "
                    "(for that one, CPU build: pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu)")
        train_numpy(ds, args, label_count)


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


def train_numpy(ds, args, num_classes: int) -> None:  # noqa: ANN001
    """A softmax classifier on 8x8 average-pooled, time-averaged frames, trained with SGD."""
    rng = np.random.default_rng(args.seed)
    weights = rng.normal(0, 0.01, (8 * 8 * 3, num_classes)).astype(np.float32)
    for epoch in range(args.epochs):
        ds.set_epoch(epoch)
        t0, clips, step = time.perf_counter(), 0, 0
        for batch in numpy_batches(ds, args.batch_size):
            step += 1
            x = pooled(batch["frames"])
            probs = softmax(x @ weights)
            loss = -np.log(probs[np.arange(len(x)), batch["label"]] + 1e-9).mean()
            probs[np.arange(len(x)), batch["label"]] -= 1  # d(loss)/d(logits) * batch size
            weights -= 0.1 * x.T @ probs / len(x)
            clips += len(batch["id"])
            log.info("epoch %d step %d loss %.3f frames %s (%.1f clips/s)", epoch, step, loss,
                     batch["frames"].shape, clips / (time.perf_counter() - t0))
            if args.steps and step >= args.steps:
                break


def numpy_batches(ds, batch_size: int):  # noqa: ANN001, ANN201
    """Batches of ``batch_size`` rows, the last one partial (as a DataLoader without drop_last)."""
    rows = []
    for row in ds:
        rows.append(row)
        if len(rows) == batch_size:
            yield collate(rows)
            rows = []
    if rows:
        yield collate(rows)


def pooled(frames: np.ndarray) -> np.ndarray:
    """(B, T, H, W, 3) uint8 -> (B, 192) float: mean over time, then 8x8 average pooling."""
    b, _, h, w, c = frames.shape
    mean = frames.mean(axis=1) / 255.0
    mean = mean[:, : h - h % 8, : w - w % 8]
    return mean.reshape(b, 8, (h - h % 8) // 8, 8, (w - w % 8) // 8, c).mean(axis=(2, 4)).reshape(b, -1).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


if __name__ == "__main__":
    main()
