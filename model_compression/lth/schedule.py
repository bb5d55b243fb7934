"""Pruning levels: each level prunes a fixed fraction of the remaining weights, landing exactly on targets."""
from __future__ import annotations

from collections.abc import Iterable

from evaluators.masks import check_sparsity


def level_schedule(targets: Iterable[float], fraction: float = 0.2) -> list[float]:
    """Sparsity after each level up to max(targets); every target is a level, no step prunes more than fraction.

    Level i has sparsity 1 - (1 - fraction)^i (open_lth) unless a target falls before it, in which
    case the level stops at that target and the next one prunes ``fraction`` of what remains there.
    """
    goals = sorted({check_sparsity(t) for t in targets})
    if not goals:
        raise ValueError("give at least one target sparsity")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    levels: list[float] = []
    current = 0.0
    for goal in goals:
        if goal <= current:
            continue
        while True:
            step = 1.0 - (1.0 - current) * (1.0 - fraction)
            if step >= goal - 1e-9:
                current = goal
                levels.append(goal)
                break
            current = step
            levels.append(step)
    return levels
