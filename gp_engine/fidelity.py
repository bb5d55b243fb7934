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
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from gp_engine.budgets import Budget
    from gp_engine.cache import CacheEntry
    from gp_engine.candidates import Candidate, Counts, Result
    from gp_engine.scoring import Scorer


def successive_halving(scorer: "Scorer", todo: Sequence["Candidate"], budget: "Budget", generation: int,
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
        if mine:  # recorded by this run before a restart: spent, so counted
            counts.evaluated, counts.restored = counts.evaluated + 1, counts.restored + 1
            counts.failed += 0 if results[i].ok else 1
            counts.tally(budget.name, results[i].wall_s)

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
