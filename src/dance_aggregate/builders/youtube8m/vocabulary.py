"""The label indices of a YouTube-8M ``vocabulary.csv`` (its classes), compact enough to
travel with every shard's plan: a record's label index outside them is an unknown class.
"""

from __future__ import annotations

import bisect


def index_runs(indices: set[int]) -> list[list[int]]:
    """Sorted integers as ``[first, last]`` runs of consecutive ones (``{0, 1, 2, 5}`` ->
    ``[[0, 2], [5, 5]]``): the vocabulary's indices, small enough to travel with every shard."""
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


class IndexSet:
    """Whether a label index is in the vocabulary, from :func:`index_runs` (``None``: a plan
    made without them; every index counts as known)."""

    def __init__(self, runs: list[list[int]] | None) -> None:
        self.runs = None if runs is None else [(int(a), int(b)) for a, b in runs]
        self.starts = [] if self.runs is None else [a for a, _ in self.runs]

    def __call__(self, index: int) -> bool:
        """Whether ``index`` is a label index of the vocabulary."""
        if self.runs is None:
            return True
        k = bisect.bisect_right(self.starts, index) - 1
        return k >= 0 and self.runs[k][0] <= index <= self.runs[k][1]
