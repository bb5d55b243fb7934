"""Seeded universal hashing of non-negative int64 feature ids into a number of rows."""
from __future__ import annotations

import numpy as np
import torch

_P = 2**31 - 1  # Mersenne prime modulus


class SeededHash:
    """Carter-Wegman mod 2^31-1 over the two 32-bit halves of an id, a xor-shift and a second multiply,
    then mod ``rows`` (HotSketch's scheme). The same seed gives the same hash in every process."""

    def __init__(self, rows: int, seed: int = 0) -> None:
        if rows < 1:
            raise ValueError(f"a hash needs rows >= 1, got {rows}")
        self.rows, self.seed = int(rows), int(seed)
        self._a, self._b, self._c, self._d = (int(v) for v in np.random.default_rng(self.seed).integers(1, _P, size=4))

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        """Row in [0, rows) of each id (any shape, int64, ids >= 0). int64 products stay below 2^63."""
        h = ((ids & 0xFFFFFFFF) * self._a % _P + (ids >> 32) * self._b % _P + self._c) % _P
        return ((h ^ (h >> 16)) * self._d % _P) % self.rows

    def __repr__(self) -> str:
        return f"SeededHash(rows={self.rows}, seed={self.seed})"
