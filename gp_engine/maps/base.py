"""The evaluation-backend interface and what every backend shares.

A backend turns metrics into ``Fitness`` values in input order. Workers receive only canonical
metric text (parsed by our grammar) and build their own task from a ``TaskSpec``; every backend
scores ``Metric.parse(canonical)`` so results do not depend on where they ran.
"""
from __future__ import annotations

import logging
import math
import time
import traceback
from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence

from evaluators.base import Fitness, Task
from primitives.metric import Metric

log = logging.getLogger(__name__)

ResultCallback = Callable[[int, Fitness], None]


def failed(direction: str, reason: str, wall_s: float = 0.0) -> Fitness:
    """A failed Fitness with the worst value for the direction (``evaluators.base.worst``)."""
    return Fitness.failed(direction, reason, wall_s)


def score_text(task: Task, text: str) -> tuple[float, bool, str | None, float]:
    """Score canonical metric text on a prepared task; never raises (errors become failures)."""
    start = time.perf_counter()
    try:
        fit = task.score(Metric.parse(text))  # our grammar: workers never unpickle trees
        value, ok, reason = float(fit.value), bool(fit.ok), fit.reason
        if ok and not math.isfinite(value):
            ok, reason = False, f"non-finite fitness {value}"
        wall = float(fit.wall_s) if fit.wall_s is not None else time.perf_counter() - start
    except Exception as exc:  # a bad candidate must never stop the search
        log.debug("candidate %s raised:\n%s", text, traceback.format_exc())
        value, ok, reason = float("nan"), False, f"error: {type(exc).__name__}: {exc}"
        wall = time.perf_counter() - start
    return value, ok, reason, wall


def to_fitness(direction: str, result: tuple[float, bool, str | None, float]) -> Fitness:
    """A Fitness from ``score_text``'s plain tuple (failed ones get the worst value)."""
    value, ok, reason, wall = result
    if not ok:
        return failed(direction, reason or "failed", wall)
    return Fitness(value, True, reason, wall, {})


class EvalMap(ABC):
    """An evaluation backend: ``evaluate(metrics)`` -> one Fitness per metric, in order."""

    direction: str = "max"

    @abstractmethod
    def evaluate(self, metrics: Sequence[Metric], on_result: ResultCallback | None = None) -> list[Fitness]:
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
