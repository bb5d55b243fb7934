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


SLOT_BYTES = 16  # one sketch slot: int64 id, float32 score, int32 hot row (HotSketch.memory_bytes)
SKETCH_SCALAR_BYTES = 8  # the sketch's float64 score inserted since the last decay


def hot_part(budget: int, dim: int, slots: int, slots_per_row: float, features: int) -> tuple[int, int, int]:
    """(hot rows H, sketch buckets, floats used) for the most hot rows whose table (H x dim) and
    sketch (about ``slots_per_row`` slots per hot row, in buckets of ``slots``) fit ``budget`` floats."""
    if slots_per_row < 1:
        raise ValueError(f"sketch_slots_per_row must be >= 1 (every hot id holds a slot), got {slots_per_row}")
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
        raise ValueError(f"slots must be an integer >= 1, got {slots!r}")

    def sizes(h: int) -> tuple[int, int, int]:
        buckets = max(1, -(-int(h * slots_per_row) // slots))
        return h, buckets, h * dim + floats_of_bytes(buckets * slots * SLOT_BYTES + h + SKETCH_SCALAR_BYTES)

    lo, hi = 0, min(features, budget // dim)
    while lo < hi:  # sizes(h)[2] grows with h: binary search for the largest that fits
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if sizes(mid)[2] <= budget else (lo, mid - 1)
    return sizes(lo)
