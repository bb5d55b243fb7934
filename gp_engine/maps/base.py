"""The evaluation-backend interface and what every backend shares.

A backend turns metrics or recipes into ``Fitness`` values (with the task's details) in input order.
Workers receive only canonical text (parsed by our grammar, not canonicalised again:
``primitives.recipe.entry_from_canonical``) and build their own task from a ``TaskSpec``; every
backend scores the same canonical trees, so results do not depend on where they ran.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence

from evaluators.base import Fitness, Task, score_entry
from primitives.recipe import Entry, entry_from_canonical

log = logging.getLogger(__name__)

ResultCallback = Callable[[int, Fitness], None]


def failed(direction: str, reason: str, wall_s: float = 0.0) -> Fitness:
    """A failed Fitness with the worst value for the direction (``evaluators.base.worst``)."""
    return Fitness.failed(direction, reason, wall_s)


def score_metric(task: Task, metric: Entry) -> Fitness:
    """Score a canonicalised metric or recipe on a prepared task under ``Fitness.guarded``'s failure
    rule (a task's own rule comes first); never raises."""
    return Fitness.guarded(task.direction, lambda start: score_entry(task, metric), metric.canonical)


def score_text(task: Task, text: str) -> Fitness:
    """Score canonical metric or recipe text (from this search) in a worker; never raises."""
    return Fitness.guarded(task.direction, lambda start: score_entry(task, entry_from_canonical(text)), text)


def to_fitness(direction: str, fit: Fitness) -> Fitness:
    """A worker's Fitness for the map's direction: a failed one gets the worst value, details kept."""
    if fit.ok:
        return fit
    return Fitness.failed(direction, fit.reason or "failed", fit.wall_s, **fit.details)


class EvalMap(ABC):
    """An evaluation backend: ``evaluate(metrics)`` -> one Fitness per metric or recipe, in order."""

    direction: str = "max"

    @abstractmethod
    def evaluate(self, metrics: Sequence[Entry], on_result: ResultCallback | None = None) -> list[Fitness]:
        """Score metrics; ``on_result(i, fitness)`` is called as each one finishes."""

    def close(self) -> None:
        """Release workers (idempotent)."""

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (recorded in the run config)."""
        return {"kind": type(self).__name__}

    def __enter__(self) -> "EvalMap":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
