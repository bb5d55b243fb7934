"""The set of metrics a convergence study ranks: named ones, plus the best and a spread of a leaderboard."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from primitives.metric import Metric
from primitives.reference import resolve_metric

if TYPE_CHECKING:
    from registry.store import Registry


def leaderboard_metrics(registry: Registry, settings: dict, direction: str, top: int, spread: int) -> list[Metric]:
    """The ``top`` best metrics under a task's settings and ``spread`` more evenly spaced down the rest."""
    board = [e for e in registry.best(settings=settings, direction=direction, limit=None) if e.score is not None]
    chosen = board[:top]
    rest = board[top:]
    if spread and rest:
        step = len(rest) / spread
        chosen += [rest[min(len(rest) - 1, int(i * step + step / 2))] for i in range(spread)]
    return [Metric.parse(e.canonical) for e in chosen]


def metric_set(refs: Sequence[str], registry: Registry | None = None, settings: dict | None = None, direction: str = "min",
               top: int = 0, spread: int = 0) -> list[Metric]:
    """Named metrics then leaderboard ones, without duplicates (by canonical form)."""
    metrics = [resolve_metric(r, registry) for r in refs]
    if (top or spread) and registry is not None and settings is not None:
        metrics += leaderboard_metrics(registry, settings, direction, top, spread)
    unique: dict[str, Metric] = {}
    for m in metrics:
        unique.setdefault(m.canonical, m)
    if len(unique) < 2:
        raise ValueError(f"a ranking needs at least two distinct metrics, got {len(unique)}")
    return list(unique.values())
