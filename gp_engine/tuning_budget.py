"""One search run held to a budget of scored metrics, extended in chunks of generations.

The budget counts the distinct metrics a run has scored: evaluated by the task, or found in the
registry because an earlier run (another trial or seed) scored them under the same settings. A
registry hit gives the run the value recorded for the same metric and task settings, so (for a
deterministic task) a run's trajectory and stopping point are the same whether it starts from an
empty registry or a full one: sharing the registry saves time, never buys a trial information. Repeats inside a run (elites,
unvaried copies) are free and not counted. With reduced fidelities (``SearchConfig.fidelity``)
every evaluation counts, at whatever budget it ran.

The run stops after the first generation that reaches the budget (it may pass it by less than
one population). It advances in chunks, each one ``Search.run`` on the same run folder (a resumed
run equals an uninterrupted one); a chunk never runs past the budget, since a generation scores
at most one population of new metrics (per fidelity). Between chunks the caller may stop a
hopeless run.
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from gp_engine.config import SearchConfig

if TYPE_CHECKING:
    from evaluators.base import Task
    from gp_engine.maps.base import EvalMap
    from registry.store import Registry

log = logging.getLogger(__name__)
COUNTED = ("evaluated", "skipped_registry")
MAX_GENERATIONS_FACTOR = 10  # a run that scores almost nothing new stops after this many full budgets


@dataclass
class BudgetedRun:
    """The outcome of one budgeted run."""

    seed: int
    best: float | None
    scored: int
    evaluated: int
    from_registry: int
    generation: int
    run_id: str
    run_dir: Path
    wall_s: float
    stopped: bool = False  # stopped early by the caller, before the budget

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored with the trial)."""
        return {"seed": self.seed, "best": self.best, "scored": self.scored, "evaluated": self.evaluated,
                "from_registry": self.from_registry, "generation": self.generation, "run_id": self.run_id,
                "run_dir": str(self.run_dir), "wall_s": round(self.wall_s, 2),
                **({"stopped": True} if self.stopped else {})}


def scored_count(counters: dict[str, int]) -> int:
    """Distinct metrics a run has scored: evaluated plus found in the registry."""
    return sum(int(counters[k]) for k in COUNTED)


def run_name(config: SearchConfig, budget: int) -> str:
    """A folder name fixed by the search identity and budget: the same trial reuses its run."""
    import hashlib
    import json

    ident = json.dumps(config.search_identity(), sort_keys=True, default=str)
    task = re.sub(r"[^A-Za-z0-9_.-]+", "_", config.task)
    return f"{task}-b{budget}-seed{config.seed}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"


def _better(direction: str) -> Callable[[float, float], bool]:
    return (lambda a, b: a > b) if direction == "max" else (lambda a, b: a < b)


def run_budgeted(config: SearchConfig, run_dir: Path, *, budget: int, registry: Registry, task: Task,
                 eval_map: EvalMap | None = None, on_progress: Callable[[int, float | None], None] | None = None,
                 keep_going: Callable[[], bool] | None = None) -> BudgetedRun:
    """Run until ``budget`` metrics are scored.

    ``on_progress(scored, best)`` follows every generation (and, again, every chunk) with the
    metrics scored so far and the best fitness among them; ``keep_going()`` after each chunk may
    return False to stop early (``BudgetedRun.stopped``). Running the same config and budget in
    the same folder again continues, or just reads back, the same run.
    """
    from gp_engine.checkpoint import decode_float
    from gp_engine.loop import Search
    from gp_engine.rundir import RunDir

    start, better = time.perf_counter(), _better(task.direction)
    per_generation = config.population * (1 + len(getattr(config, "fidelity", ())))  # most it can score
    limit = MAX_GENERATIONS_FACTOR * math.ceil(budget / config.population)
    state: dict[str, Any] = {"scored": 0, "best": None}

    def keep_best(encoded: Any) -> None:
        value = decode_float(encoded)
        if value is not None and not math.isnan(value) and (state["best"] is None or better(value, state["best"])):
            state["best"] = value

    def track(stats: dict[str, Any]) -> None:
        state["scored"] += int(stats["evaluated"]) + int(stats["skipped_registry"])
        keep_best(stats["best"])
        if on_progress is not None:
            on_progress(state["scored"], state["best"])

    checkpoint = RunDir(run_dir).read_checkpoint() if RunDir(run_dir).exists() else None
    if checkpoint is not None:  # a run continued: its counts and best so far
        state["scored"] = scored_count({k: checkpoint["counters"].get(k, 0) for k in COUNTED})
        for stats in checkpoint.get("history", []):
            keep_best(stats.get("best"))

    generation, stopped = int(checkpoint["generation"]) if checkpoint else -1, False
    while True:
        gap = budget - state["scored"]
        target = max(generation, 0) if gap <= 0 else generation + max(1, gap // per_generation)
        with Search(config.replace(generations=target), run_dir, registry=registry, task=task,
                    eval_map=eval_map, name=run_dir.name) as search:
            result = search.run(on_generation=track)
        generation = result.generation
        state["scored"] = scored = scored_count(result.counters)
        state["best"] = best = result.hall_of_fame[0].value if result.hall_of_fame else None
        if on_progress is not None:
            on_progress(scored, best)
        if scored >= budget or generation >= limit:
            if scored < budget:
                log.warning("%s stopped at generation %d with %d of %d metrics scored (few new candidates)",
                            run_dir.name, generation, scored, budget)
            break
        if keep_going is not None and not keep_going():
            stopped = True
            break
    c = result.counters
    return BudgetedRun(config.seed, best, scored, int(c["evaluated"]), int(c["skipped_registry"]),
                       result.generation, result.run_id, run_dir, time.perf_counter() - start, stopped)
