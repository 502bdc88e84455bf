"""Near-duplicate search over 64-bit hashes: multi-index hashing (MIH) over bands.

The 64 bits of a hash are cut into ``max_distance + 1`` bands (13, 13, 13, 13, 12 bits for
the production distance 4). By the pigeonhole principle, two hashes at Hamming distance
``<= max_distance`` agree exactly on at least one band, so looking only at pairs that share
a band value finds *every* pair within the distance: the index is exact, not approximate.

For each band the hashes are sorted by band value; equal values then sit next to each
other, and the pairs inside each run are enumerated by comparing the sorted array with
itself shifted by 1, 2, ... positions (fully vectorised numpy, no Python loop per hash).
Each candidate pair is verified with a popcount of the XOR. A pair found through several
bands is reported once (only the first band it agrees on reports it).

The cost grows with the number of pairs that share a band, about ``n**2 / 2**13`` per band
for uniformly spread hashes, against ``n**2 / 2`` popcounts for brute force: sub-quadratic in
practice for the sizes this project sees (see ``benchmarks/bench_dedup.py``).
"""

from __future__ import annotations

import numpy as np

#: Production threshold: two per-second hashes within this Hamming distance match.
MAX_DISTANCE = 4
#: Bucket runs longer than this are cut (a guard against degenerate hashes, e.g. if
#: blank frames were not filtered). Pairs inside one oversized run beyond this offset are
#: not enumerated; with real fingerprints runs stay far below it.
MAX_RUN = 4096

_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount64(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each element of a ``uint64`` array (as ``uint8``)."""
    x = np.asarray(x, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).astype(np.uint8)
    flat = np.ascontiguousarray(x).reshape(-1)
    return _POP8[flat.view(np.uint8).reshape(-1, 8)].sum(axis=1, dtype=np.uint8).reshape(x.shape)


def hamming(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    """Hamming distances between ``uint64`` hashes (broadcasting)."""
    return popcount64(np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64)))


def band_layout(max_distance: int = MAX_DISTANCE, bits: int = 64) -> list[tuple[int, int]]:
    """``(shift, width)`` of each of the ``max_distance + 1`` bands covering ``bits`` bits."""
    n = max_distance + 1
    widths = [bits // n + (1 if i < bits % n else 0) for i in range(n)]
    out = []
    shift = bits
    for w in widths:
        shift -= w
        out.append((shift, w))
    return out


def near_pairs(hashes: np.ndarray, max_distance: int = MAX_DISTANCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of hashes at Hamming distance ``<= max_distance`` (self-join).

    Args:
        hashes: ``uint64`` array of n hashes.
        max_distance: Largest Hamming distance reported.

    Returns:
        ``(i, j, d)`` arrays with ``i < j`` indices into ``hashes`` and ``d`` their distance;
        each pair appears once.
    """
    h = np.ascontiguousarray(hashes, dtype=np.uint64)
    n = len(h)
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    if n < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty.copy(), np.zeros(0, np.uint8)
    layout = band_layout(max_distance)
    keys = [((h >> np.uint64(s)) & np.uint64((1 << w) - 1)) for s, w in layout]
    for b, key in enumerate(keys):
        order = np.argsort(key, kind="stable")
        ks = key[order]
        hs = h[order]
        # Pairs (p, p + off) of sorted positions inside one run of equal band values. While
        # most positions still have a partner ``off`` places on, whole shifted arrays are
        # compared (contiguous, fast); then only the positions still inside a run are
        # followed (in sorted order a position that leaves its run never comes back).
        # ``ks_pad`` ends with a value no key has, so ``p + off`` never needs a bound check.
        ks_pad = np.append(ks, np.uint64(1 << 63))
        active: np.ndarray | None = None
        for off in range(1, min(n, MAX_RUN)):
            if active is None:
                same = ks[off:] == ks[:-off]
                n_same = int(np.count_nonzero(same))
                if n_same == 0:
                    break
                if n_same >= n // 8:
                    dist = popcount64(hs[off:] ^ hs[:-off])
                    a = np.flatnonzero(same & (dist <= max_distance))
                    c = a + off
                    d = dist[a]
                else:
                    active = np.flatnonzero(same)
            else:
                active = active[ks_pad[active + off] == ks[active]]
                if not len(active):
                    break
            if active is not None:
                a = active
                c = a + off
                d = popcount64(hs[a] ^ hs[c])
                ok = d <= max_distance
                a, c, d = a[ok], c[ok], d[ok]
            if not len(a):
                continue
            ia, ic = order[a], order[c]
            # Report a pair only from the first band it agrees on.
            first = np.ones(len(a), bool)
            for prev in keys[:b]:
                first &= prev[ia] != prev[ic]
            ia, ic, d = ia[first], ic[first], d[first]
            lo = np.minimum(ia, ic)
            hi = np.maximum(ia, ic)
            out_i.append(lo)
            out_j.append(hi)
            out_d.append(d)
    if not out_i:
        empty = np.zeros(0, np.int64)
        return empty, empty.copy(), np.zeros(0, np.uint8)
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d)


def brute_force_pairs(
    hashes: np.ndarray, queries: np.ndarray, max_distance: int = MAX_DISTANCE, chunk: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference search: every ``(q, j)`` with ``d(hashes[q], hashes[j]) <= max_distance``,
    ``q`` in ``queries`` and ``j != q``, by comparing each query with every hash (a few
    queries at a time into preallocated buffers: the fastest numpy form measured)."""
    h = np.ascontiguousarray(hashes, dtype=np.uint64)
    queries = np.asarray(queries, dtype=np.int64)
    qs, js, ds = [], [], []
    buf = np.empty((chunk, len(h)), np.uint64)
    cnt = np.empty((chunk, len(h)), np.uint8)
    for start in range(0, len(queries), chunk):
        q = queries[start : start + chunk]
        k = len(q)
        np.bitwise_xor(h[q][:, None], h[None, :], out=buf[:k])
        if hasattr(np, "bitwise_count"):
            np.bitwise_count(buf[:k], out=cnt[:k])
        else:
            cnt[:k] = popcount64(buf[:k])
        r, c = np.nonzero(cnt[:k] <= max_distance)
        keep = q[r] != c
        qs.append(q[r][keep])
        js.append(c[keep])
        ds.append(cnt[r, c][keep])
    if not qs:
        empty = np.zeros(0, np.int64)
        return empty, empty.copy(), np.zeros(0, np.uint8)
    return np.concatenate(qs), np.concatenate(js), np.concatenate(ds)
