"""The in-process backend: one prepared task, candidates scored one after another."""
from __future__ import annotations

from typing import Any, Sequence

from evaluators.base import Fitness, Task
from gp_engine.maps.base import EvalMap, ResultCallback, score_metric
from primitives.recipe import Entry


class InProcessMap(EvalMap):
    """Scores in the calling process (no timeout: a hung candidate hangs the search)."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.direction = task.direction
        self._prepared = False

    def evaluate(self, metrics: Sequence[Entry], on_result: ResultCallback | None = None) -> list[Fitness]:
        """Prepare the task once, then score each metric's canonical text."""
        if not self._prepared:
            self.task.prepare()
            self._prepared = True
        results = []
        for i, metric in enumerate(metrics):
            fit = score_metric(self.task, metric)  # the search's own Metric: canonicalised once
            results.append(fit)
            if on_result is not None:
                on_result(i, fit)
        return results

    def describe(self) -> dict[str, Any]:
        """Kind only."""
        return {"kind": "inprocess"}
