"""OWL (Yin et al., ICML 2024): outlier-weighted layerwise sparsity.

A unit's outlier ratio is the share of its scores (Wanda's |W| * ||X|| by default) above M times
the unit's mean score. Units with more outliers keep more weights: sparsities fall linearly with
the ratio, spread over [S - lambda, S + lambda], with a size-weighted mean of exactly S.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DEFAULT_M = 5.0
DEFAULT_LAMBDA = 0.08


def outlier_ratio(scores: Sequence[Any], m: float = DEFAULT_M) -> float:
    """Share of the scores of one unit (one or more tensors) above ``m`` times their mean."""
    import torch

    flat = torch.cat([s.detach().float().reshape(-1) for s in scores])
    return float((flat > m * flat.mean()).sum()) / max(flat.numel(), 1)


def spread_allocation(values: Sequence[float], sizes: Sequence[int], target: float, lam: float) -> list[float]:
    """Per-unit sparsities in [target - lam, target + lam] (and [0, 1)), falling linearly with ``values``,
    whose mean weighted by ``sizes`` is exactly ``target`` (a shift found by bisection after clipping)."""
    if not values or len(values) != len(sizes):
        raise ValueError("one value and one size per unit")
    if not 0.0 <= target < 1.0 or lam < 0.0:
        raise ValueError(f"target sparsity must be in [0, 1) and lambda >= 0, got {target}, {lam}")
    low, high = max(target - lam, 0.0), min(target + lam, 1.0 - 1e-6)
    vmin, vmax = min(values), max(values)
    if vmax == vmin or lam == 0.0:
        return [float(target)] * len(values)
    raw = [lam - 2.0 * lam * (v - vmin) / (vmax - vmin) for v in values]  # in [-lam, lam], high ratio -> low
    total = float(sum(sizes))

    def mean_at(shift: float) -> float:
        return sum(min(max(target + r + shift, low), high) * n for r, n in zip(raw, sizes)) / total

    lo, hi = -2.0 * lam - 1.0, 2.0 * lam + 1.0
    for _ in range(200):  # mean_at is monotone in the shift
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if mean_at(mid) < target else (lo, mid)
    shift = (lo + hi) / 2.0
    return [min(max(target + r + shift, low), high) for r in raw]


def owl_allocation(unit_scores: Sequence[Sequence[Any]], target: float, m: float = DEFAULT_M,
                   lam: float = DEFAULT_LAMBDA) -> list[float]:
    """OWL's sparsity of each unit (a list of its layers' score tensors), size-weighted mean ``target``
    (recipes reach it as the allocation formula ``outl``, ``allocation.allocate``; this direct form
    is its reference in the tests)."""
    ratios = [outlier_ratio(scores, m) for scores in unit_scores]
    sizes = [sum(int(s.numel()) for s in scores) for scores in unit_scores]
    return spread_allocation(ratios, sizes, target, lam)
