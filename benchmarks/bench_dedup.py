"""Near-duplicate search over 1,000,000 fingerprints: multi-index hashing vs brute force.

Run from the repository root (one core; numpy-vectorised, no threads)::

    python benchmarks/bench_dedup.py                 # 1,000,000 hashes, distance <= 4
    python benchmarks/bench_dedup.py --n 200000 --sample 1000
    python benchmarks/bench_dedup.py --pipeline      # also the whole tier-2 step of a build

The fingerprints imitate stored ``frame_hashes``: clips of 40 hashes (10 s at 4 per second)
whose consecutive hashes differ by a couple of bits (a slowly changing scene), from random
starting points; a share of the clips are copies of other clips with 0-3 bits flipped per
hash (re-encodes). Both searches answer the same question at the production threshold
(:data:`dance_aggregate.dedup.index.MAX_DISTANCE`): every pair of hashes within the
distance. Brute force compares each hash with every other (``n * (n - 1) / 2`` popcounts);
it is timed on a random sample of query hashes against all ``n`` and scaled to all pairs.
The recall of the index is measured against brute force on that sample (the index is exact
by construction, so anything below 1.0 would be a bug).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dance_aggregate.dedup.index import MAX_DISTANCE, brute_force_pairs, near_pairs
from dance_aggregate.dedup.match import tier2_pairs


def make_fingerprints(n: int, clip_len: int = 40, copy_share: float = 0.1, seed: int = 0) -> np.ndarray:
    """``n`` synthetic per-window hashes (uint64), clip by clip."""
    rng = np.random.default_rng(seed)
    n_clips = -(-n // clip_len)
    start = rng.integers(0, 2**64 - 1, size=n_clips, dtype=np.uint64, endpoint=True)
    # Each step flips 2 random bits: consecutive windows of a clip are 0-2 bits apart.
    steps = np.zeros((n_clips, clip_len), np.uint64)
    for _ in range(2):
        steps[:, 1:] ^= np.uint64(1) << rng.integers(0, 64, size=(n_clips, clip_len - 1), dtype=np.uint64)
    clips = np.bitwise_xor.accumulate(np.concatenate([start[:, None], steps[:, 1:]], axis=1), axis=1)
    n_copies = int(n_clips * copy_share)
    src = rng.integers(0, n_clips, size=n_copies)
    dst = rng.choice(n_clips, size=n_copies, replace=False)
    noise = np.zeros((n_copies, clip_len), np.uint64)
    for _ in range(3):
        flip = rng.random((n_copies, clip_len)) < 0.5
        noise ^= np.where(flip, np.uint64(1) << rng.integers(0, 64, size=(n_copies, clip_len), dtype=np.uint64), np.uint64(0))
    clips[dst] = clips[src] ^ noise
    return clips.reshape(-1)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of fingerprints")
    parser.add_argument("--sample", type=int, default=2000, help="brute-force query sample")
    parser.add_argument("--distance", type=int, default=MAX_DISTANCE, help="Hamming distance threshold")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--pipeline", action="store_true", help="also time the whole tier-2 step (index + alignment)")
    args = parser.parse_args()

    t = time.perf_counter()
    h = make_fingerprints(args.n)
    t_gen = time.perf_counter() - t
    print(f"{len(h):,} fingerprints generated in {t_gen:.1f} s; threshold: Hamming distance <= {args.distance}")

    t = time.perf_counter()
    i, j, _ = near_pairs(h, args.distance)
    t_index = time.perf_counter() - t
    print(f"multi-index ({args.distance + 1} bands): {len(i):,} pairs in {t_index:.2f} s")

    rng = np.random.default_rng(1)
    queries = np.sort(rng.choice(len(h), size=min(args.sample, len(h)), replace=False))
    t = time.perf_counter()
    q, c, _ = brute_force_pairs(h, queries, args.distance)
    t_sample = time.perf_counter() - t
    # All pairs by brute force: n (n - 1) / 2 comparisons; the sample did len(queries) * n.
    t_brute = t_sample * (len(h) - 1) / 2 / len(queries)
    print(
        f"brute force: {len(queries):,} queries x {len(h):,} in {t_sample:.2f} s "
        f"-> all {len(h) * (len(h) - 1) // 2:,} pairs ~ {t_brute:.0f} s (scaled)"
    )

    want = {(min(a, b), max(a, b)) for a, b in zip(q.tolist(), c.tolist(), strict=True)}
    qset = set(queries.tolist())
    got = {(a, b) for a, b in zip(i.tolist(), j.tolist(), strict=True) if a in qset or b in qset}
    recall = len(got & want) / len(want) if want else 1.0
    extra = len(got - want)
    print(f"recall of the index vs brute force on the sample: {recall:.4f} ({len(want):,} pairs; {extra} not in brute force)")
    print(f"speed-up: {t_brute / t_index:.0f}x")
    figures = {}
    if args.pipeline:
        # The whole tier-2 step of a build over the same fingerprints as 40-hash clips:
        # index, candidate clip pairs, temporal alignment.
        clips = h[: len(h) // 40 * 40].reshape(-1, 40)
        t = time.perf_counter()
        pairs = tier2_pairs(list(clips))
        t_tier2 = time.perf_counter() - t
        print(f"tier 2 over {len(clips):,} clips of 40 hashes: {len(pairs):,} duplicate clip pairs in {t_tier2:.2f} s")
        figures = {"tier2_clips": len(clips), "tier2_pairs": len(pairs), "tier2_seconds": round(t_tier2, 3)}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "n": len(h),
                    "distance": args.distance,
                    "index_seconds": round(t_index, 3),
                    "index_pairs": len(i),
                    "brute_force_sample": len(queries),
                    "brute_force_sample_seconds": round(t_sample, 3),
                    "brute_force_scaled_seconds": round(t_brute, 1),
                    "recall": recall,
                    **figures,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
