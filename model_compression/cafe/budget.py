"""Memory budgets of compressed embeddings: a ratio of the full table's floats, bytes as float equivalents."""
from __future__ import annotations

import math

FLOAT_BYTES = 4  # one float32 parameter


def check_ratio(ratio: float) -> float:
    """The compression ratio as a float; ValueError unless 0 < ratio <= 1."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not (0 < ratio <= 1):
        raise ValueError(f"compression ratio must be a number in (0, 1], got {ratio!r}")
    return float(ratio)


def check_fraction(name: str, value: float) -> float:
    """A share of a budget: ValueError unless 0 < value < 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < 1):
        raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    return float(value)


def float_budget(rows: int, dim: int, ratio: float) -> int:
    """Floats a compressed table may use: floor(rows * dim * ratio) of the full (rows x dim) table.

    ValueError when that cannot hold one row of ``dim`` floats."""
    if rows < 1 or dim < 1:
        raise ValueError(f"the full table needs rows >= 1 and dim >= 1, got {rows} x {dim}")
    budget = math.floor(rows * dim * check_ratio(ratio))
    if budget < dim:
        raise ValueError(f"budget too small: ratio {ratio} of a {rows} x {dim} table is {budget} floats, "
                         f"less than one row of {dim}")
    return budget


def floats_of_bytes(nbytes: int) -> int:
    """Bytes of non-float state (ids, counters, masks) as float32 equivalents, rounded up."""
    return -(-int(nbytes) // FLOAT_BYTES)
