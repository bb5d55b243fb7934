"""Multi-fidelity scoring: successive halving over reduced evaluation budgets.

A generation's new candidates are scored on the smallest budget first; the best 1/eta of them go
on to the next budget, and only the last survivors are scored at the task's full budget. Scores
at a reduced budget are recorded under that budget's own task settings (with a ``budget``
label), so a registry never ranks them with full-budget scores. In selection, a candidate that
stopped at a lower budget loses to every candidate that reached a higher one; values are only
compared within one budget (``selection_values``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from gp_engine.tasks import TaskSpec, build_task

if TYPE_CHECKING:
    from gp_engine.cache import CacheEntry
    from gp_engine.maps.base import EvalMap
    from gp_engine.scoring import Candidate, Counts, Result, Scorer


@dataclass
class Budget:
    """One evaluation budget: the settings its scores are recorded under and the map computing them.
    ``label`` is None for the task's full budget."""

    settings: dict[str, Any]
    key: str
    eval_map: "EvalMap"
    label: str | None = None

    @property
    def name(self) -> str:
        """The label used in counters and logs."""
        return self.label or "full"


def budget_label(options: dict[str, Any]) -> str:
    """``k=v,...`` of the task options that make a reduced budget."""
    return ",".join(f"{k}={options[k]}" for k in sorted(options))


def reduced_budgets(task: Any, spec: TaskSpec, fractions: Sequence[float],
                    make_map: Callable[[Any, TaskSpec], "EvalMap"]) -> list[Budget]:
    """One Budget per fraction of the task's evaluation data, smallest first."""
    from registry import settings_key

    budgets: list[Budget] = []
    full_key = settings_key(dict(task.settings()))
    for fraction in fractions:
        options = task.budget_options(fraction)
        sub_spec = TaskSpec(spec.name, {**spec.options, **options}, spec.target)
        settings = dict(build_task(sub_spec).settings())
        settings.setdefault("budget", dict(options))
        key = settings_key(settings)
        if key == full_key or any(b.key == key for b in budgets):
            raise ValueError(f"fidelity {fraction} gives the same evaluation budget as another one "
                             f"({budget_label(options)}): use fewer or more distinct fractions")
        budgets.append(Budget(settings, key, make_map(_sharing_variant(task, options), sub_spec),
                              budget_label(options)))
    return budgets


def _sharing_variant(task: Any, options: dict[str, Any]) -> Any:
    """The reduced task sharing the full task's prepared state when it can, else None (built anew)."""
    variant = getattr(task, "variant", None)
    if variant is None:
        return None
    try:
        return variant(**options)
    except ValueError:
        return None


def successive_halving(scorer: "Scorer", todo: Sequence["Candidate"], budget: Budget, generation: int,
                       counts: "Counts") -> list["Candidate"]:
    """Score ``todo`` at a reduced budget (registry first), cache the ones that stop here, return
    the best ceil(n_ok / eta) in their original order."""
    results: dict[int, "Result"] = {}
    sources: dict[int, str] = {}
    pending: list[int] = []
    for i, c in enumerate(todo):
        found = scorer.find(c, budget)
        if found is None:
            pending.append(i)
            continue
        results[i], mine = found
        sources[i] = "evaluated" if mine else "registry"
        if mine:
            counts.evaluated, counts.restored = counts.evaluated + 1, counts.restored + 1

    def done(j: int, fit: "Result") -> None:
        results[pending[j]], sources[pending[j]] = fit, "evaluated"

    scorer.evaluate([todo[i] for i in pending], budget, generation, counts, done)
    sign = -1.0 if scorer.direction == "max" else 1.0
    ranked = sorted((i for i in results if results[i].ok), key=lambda i: (sign * results[i].value, i))
    promoted = set(ranked[:math.ceil(len(ranked) / scorer.eta)])
    for i, c in enumerate(todo):
        if i not in promoted:
            scorer.cache.add(scorer.entry(c, results[i], sources[i], generation, budget.label))
    return [c for i, c in enumerate(todo) if i in promoted]


def selection_values(entry: "CacheEntry", levels: dict[str | None, int], direction: str) -> tuple[float, float]:
    """(budget level reached, value at that budget): higher levels win, values compare within one."""
    worst = -math.inf if direction == "max" else math.inf
    return float(levels.get(entry.budget, 0)), entry.value if entry.ok else worst
