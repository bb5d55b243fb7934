"""Plateau-window convergence test on a curve measured over several seeds.

At grid point i the gains to each of the next ``window`` points (fewer at the end of the grid) are
paired by seed; a gain counts as real only when its one-sided lower confidence bound (Student t over
the seeds) reaches ``tolerance``. The convergence point is the first grid point with no real gain ahead.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Plateau:
    """The first converged grid value (None: none before the last point) and, per point, the largest gain LCB."""

    point: float | None
    index: int | None
    gain_lcb: tuple[float, ...]


def gain_lcb(gains: np.ndarray, confidence: float) -> float:
    """Lower confidence bound of the mean of paired gains; the mean itself for one seed, NaN if any is NaN."""
    gains = np.asarray(gains, dtype=float)
    if np.isnan(gains).any():
        return float("nan")
    if len(gains) < 2:
        return float(gains.mean())
    t = stats.t.ppf(confidence, len(gains) - 1)
    return float(gains.mean() - t * gains.std(ddof=1) / np.sqrt(len(gains)))


def check_settings(tolerance: float, window: int, confidence: float) -> None:
    """ValueError unless window >= 1, tolerance >= 0 and confidence in [0.5, 1)."""
    if not (isinstance(window, int) and window >= 1):
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    if not 0.5 <= confidence < 1:
        raise ValueError(f"confidence must be in [0.5, 1), got {confidence!r}")


def plateau(grid: Sequence[float], values: np.ndarray, tolerance: float, window: int = 2,
            confidence: float = 0.95) -> Plateau:
    """The plateau test on values (len(grid) x seeds, seed-paired columns) measured at an increasing grid.

    A point whose window holds a NaN gain bound never counts as converged; the last point has no
    window, so it never does either.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] != len(grid):
        raise ValueError(f"values must be (points x seeds) with {len(grid)} points, got shape {values.shape}")
    check_settings(tolerance, window, confidence)
    if any(b <= a for a, b in zip(grid, grid[1:])):
        raise ValueError(f"the grid must be strictly increasing, got {list(grid)}")
    bounds = []
    for i in range(len(grid) - 1):
        ahead = values[i + 1:i + 1 + window]
        bounds.append(max((gain_lcb(row - values[i], confidence) for row in ahead),
                          key=lambda b: np.inf if np.isnan(b) else b))
    bounds.append(float("nan"))
    for i, bound in enumerate(bounds[:-1]):
        if bound < tolerance:  # NaN compares False
            return Plateau(float(grid[i]), i, tuple(bounds))
    return Plateau(None, None, tuple(bounds))
