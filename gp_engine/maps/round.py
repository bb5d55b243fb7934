"""One ``evaluate`` call of a map with workers that may die: the state both the pool and Ray maps keep."""
from __future__ import annotations

from collections import deque
from typing import Any

from evaluators.base import Fitness
from gp_engine.maps.base import ResultCallback


class Round:
    """The bookkeeping of one ``evaluate`` call: results in input order, what is left to start, deaths per
    candidate, suspects (their worker died: they run alone) and what is in flight."""

    def __init__(self, texts: list[str], on_result: ResultCallback | None) -> None:
        self.texts, self.on_result = texts, on_result
        self.results: list[Fitness | None] = [None] * len(texts)
        self.todo: deque[int] = deque(range(len(texts)))
        self.deaths = [0] * len(texts)
        self.suspects: set[int] = set()
        self.inflight: dict[Any, tuple[int, int]] = {}  # future -> (index, start token)
        self.starts: dict[int, float] = {}  # start token -> when the worker began it

    def may_start(self, i: int) -> bool:
        """A suspect (its worker died) runs alone, so a second death names it."""
        busy = [j for j, _ in self.inflight.values()]
        return not busy or (i not in self.suspects and not self.suspects.intersection(busy))

    def take_inflight(self) -> list[int]:
        """Forget every future in flight; their indices."""
        indices = [i for i, _ in self.inflight.values()]
        self.inflight.clear()
        return indices

    def finish(self, i: int, fit: Fitness) -> None:
        """Store a result and report it."""
        self.results[i] = fit
        if self.on_result is not None:
            self.on_result(i, fit)
