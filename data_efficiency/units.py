"""Per-unit outputs of a pruning metric on a task, and how units add up to the task's score.

A convergence study needs the score of every metric on every subset of the evaluation data;
scoring each metric once per unit (a token window, a test sample) gives all subsets for free.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from data_efficiency.convergence import Aggregate, mean_score, perplexity_score

if TYPE_CHECKING:
    from evaluators.base import Task


@dataclass(frozen=True)
class Units:
    """How a task's evaluation splits into units: their name, count, per-metric outputs, aggregate."""

    unit: str
    count: int
    direction: str
    outputs: Callable[[Any], np.ndarray]
    aggregate: Aggregate
    tokens_per_unit: int | None = None


def units_of(task: Task) -> Units:
    """The units of llm-prune (token windows, perplexity) or mlp-prune (test samples, accuracy)."""
    if task.name == "llm-prune":
        from evaluators.llm.perplexity import window_losses

        windows = task.evaluation_windows()

        def losses(metric: Any) -> np.ndarray:
            with task.pruned(metric) as model:
                return window_losses(model, windows, task.config.eval_batch)

        length = int(windows.shape[1])
        return Units(f"{length}-token window", int(windows.shape[0]), "min", losses, perplexity_score, length)
    if task.name == "mlp-prune":
        return Units("test sample", task.evaluation_size(), "max",
                     lambda metric: task.correct(metric).numpy(), mean_score)
    raise ValueError(f"evaluation-data convergence is measured on llm-prune or mlp-prune, not {task.name!r}")


def output_matrix(units: Units, metrics: list[Any], on_metric: Callable[[int, Any], None] | None = None) -> np.ndarray:
    """(metrics x units) outputs, one pruning and one evaluation pass per metric."""
    rows = []
    for i, metric in enumerate(metrics):
        rows.append(np.asarray(units.outputs(metric), dtype=np.float64))
        if on_metric is not None:
            on_metric(i, metric)
    return np.stack(rows)
