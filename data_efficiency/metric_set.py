"""The set of metrics a convergence study ranks: named ones, plus the best and a spread of a leaderboard."""
from __future__ import annotations

from typing import Any, Sequence

from primitives.builtins import BUILTINS, builtin
from primitives.metric import Metric


def resolve(ref: str, registry: Any = None) -> Metric:
    """A built-in name, a registry name/hash (when a registry is given) or a formula in our grammar."""
    ref = ref.strip()
    if ref in BUILTINS:
        return builtin(ref)
    if registry is not None:
        try:
            row = registry.get_metric(ref)
            return Metric.parse(row.text, name=row.name)
        except Exception:  # not in the registry: read it as a formula
            pass
    return Metric.parse(ref)


def leaderboard_metrics(registry: Any, settings: dict, direction: str, top: int, spread: int) -> list[Metric]:
    """The ``top`` best metrics under a task's settings and ``spread`` more evenly spaced down the rest."""
    board = [e for e in registry.best(settings=settings, direction=direction, limit=None) if e.score is not None]
    chosen = board[:top]
    rest = board[top:]
    if spread and rest:
        step = len(rest) / spread
        chosen += [rest[min(len(rest) - 1, int(i * step + step / 2))] for i in range(spread)]
    return [Metric.parse(e.canonical) for e in chosen]


def metric_set(refs: Sequence[str], registry: Any = None, settings: dict | None = None, direction: str = "min",
               top: int = 0, spread: int = 0) -> list[Metric]:
    """Named metrics then leaderboard ones, without duplicates (by canonical form)."""
    metrics = [resolve(r, registry) for r in refs]
    if (top or spread) and registry is not None and settings is not None:
        metrics += leaderboard_metrics(registry, settings, direction, top, spread)
    unique: dict[str, Metric] = {}
    for m in metrics:
        unique.setdefault(m.canonical, m)
    if len(unique) < 2:
        raise ValueError(f"a ranking needs at least two distinct metrics, got {len(unique)}")
    return list(unique.values())
