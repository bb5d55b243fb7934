"""The exact reference of the HotSketch: per-id score totals in a dict (tests and benchmarks)."""
from __future__ import annotations

import numpy as np


class ExactCounter:
    """Exact per-id score totals in a dict: the slow reference of tests and benchmarks."""

    def __init__(self) -> None:
        self.totals: dict[int, float] = {}  # id -> total score

    def insert(self, ids, scores) -> None:
        """Add a batch of (id, score) occurrences (float64 sums per id)."""
        u, inv = np.unique(np.asarray(ids, dtype=np.int64), return_inverse=True)
        sums = np.bincount(inv.reshape(-1), weights=np.asarray(scores, dtype=np.float64), minlength=u.size)
        for k, v in zip(u.tolist(), sums.tolist()):
            self.totals[k] = self.totals.get(k, 0.0) + v

    def topk(self, k: int) -> list[int]:
        """The k ids of highest total (ties: lower id)."""
        return [i for i, _ in sorted(self.totals.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]

    def memory_bytes(self) -> int:
        """A lower bound: 8-byte id + 4-byte score per distinct id, no hash-table overhead."""
        return 12 * len(self.totals)
