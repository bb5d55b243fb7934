"""One generation's scoring: dedup against the run cache and the registry, evaluate the rest
through the map (reduced budgets first when the search is multi-fidelity, ``gp_engine.fidelity``),
record every evaluation and lineage edge in the registry.

A generation interrupted half-way re-uses what it recorded: on the rerun those metrics are found
in the registry under this run id and count as this run's evaluations, not as new ones.

Before scoring, a search claims its metrics in the registry (``registry.claims``); a metric another
live search has claimed is not scored again but taken from the registry once that search records it.

A score is reused only for the metric it was computed from (same ``hash``), from the run cache and
from the registry alike: members of one ranking class can prune differently in float32
(``gp_engine.candidates``), so no member's score ever stands for another.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from evaluators.base import Fitness, worst
from gp_engine.cache import CacheEntry, FitnessCache
from gp_engine.budgets import Budget
from gp_engine.candidates import Candidate, Counts, Result
from gp_engine.fidelity import successive_halving

if TYPE_CHECKING:
    from registry.protocol import EvaluationStore

log = logging.getLogger(__name__)
NOTE_EVERY_S = 5.0  # at most one per-evaluation progress line per interval
CLAIM_POLL_S = 1.0  # how often a search looks for evaluations another search has claimed


class Scorer:
    """Scores candidates for one run: cache, registry lookups, the map, and registry records."""

    def __init__(self, *, registry: EvaluationStore, run_id: str, budget: Budget, dedup: str, direction: str,
                 cache: FitnessCache, versions: dict, device: str | None,
                 reduced: Sequence[Budget] = (), eta: float = 3.0) -> None:
        self.registry, self.run_id, self.budget = registry, run_id, budget
        self.dedup, self.direction, self.cache = dedup, direction, cache
        self.versions, self.device = versions, device
        self.reduced, self.eta = list(reduced), float(eta)

    def entry(self, c: Candidate, fit: Result, source: str, generation: int,
              budget: str | None = None) -> CacheEntry:
        """The cache entry of a candidate's score (``budget``: the reduced budget it stopped at)."""
        m = c.metric
        return CacheEntry(c.key, m.hash if m else c.key, m.canonical if m else c.text,
                          m.complexity if m else 0, fit.value if fit.ok else worst(self.direction), fit.ok,
                          fit.reason, fit.wall_s, source, generation, budget, m.rank_hash if m else None)

    def find(self, c: Candidate, budget: Budget) -> tuple[Result, bool] | None:
        """(result, recorded by this run) if this very metric was scored under a budget's settings."""
        if c.metric is None:
            return None
        row = self.registry.find_evaluation(c.metric.hash, budget.key)
        if row is None:
            return None
        value = row.score if row.ok and row.score is not None else worst(self.direction)
        return Result(value, bool(row.ok), row.reason, row.wall_s), row.run_id == self.run_id

    def _lookup(self, c: Candidate, generation: int, counts: Counts, defer_mine: bool = False) -> bool:
        """Take the fitness from the registry if this metric was scored at the full budget.
        ``defer_mine``: leave a score this run recorded before a restart for after successive
        halving, which must rank the same candidates as the uninterrupted run did."""
        found = self.find(c, self.budget)
        if found is None:
            return False
        fit, mine = found
        if mine and defer_mine:
            return False
        source = ("constant" if c.metric is not None and not c.metric.operands else "evaluated") if mine else "registry"
        self.cache.add(self.entry(c, fit, source, generation))
        if mine:  # recorded by this run before a restart: spent, so counted
            counts.evaluated += 1
            counts.restored += 1
            counts.failed += 0 if fit.ok else 1
            if source != "constant":  # constants are recorded, never evaluated
                counts.tally(self.budget.name, fit.wall_s)
        else:
            counts.skipped_registry += 1
        return True

    def record(self, c: Candidate, fit: Result, budget: Budget, counts: Counts,
               details: Mapping[str, Any] | None = None) -> None:
        """Store one evaluation at a budget (with the task's details) in the registry and count it."""
        assert c.metric is not None
        self.registry.record_evaluation(c.metric, budget.settings, fit.value if fit.ok else None, fit.ok,
                                        fit.reason, fit.wall_s, self.device, run_id=self.run_id,
                                        versions=self.versions, details=details)
        counts.evaluated += 1
        counts.failed += 0 if fit.ok else 1

    def evaluate(self, todo: Sequence[Candidate], budget: Budget, generation: int, counts: Counts,
                 done: Callable[[int, Result], None]) -> None:
        """Score candidates through a budget's map, record each, then call ``done(i, result)``."""
        start = time.perf_counter()
        last_note, finished = [start], [0]

        def on_result(i: int, fit: Fitness) -> None:
            result = Result(fit.value, fit.ok, fit.reason, fit.wall_s)
            self.record(todo[i], result, budget, counts, fit.details)
            counts.tally(budget.name, fit.wall_s)
            done(i, result)
            now, finished[0] = time.perf_counter(), finished[0] + 1
            if now - last_note[0] < NOTE_EVERY_S:  # fast tasks: one progress line per interval
                return
            last_note[0] = now
            value = f"{fit.value:.6g}" if fit.ok else f"failed ({fit.reason})"
            metric = todo[i].metric
            log.info("gen %d eval %d/%d [%s] %s %s (%.3g s)", generation, finished[0], len(todo), budget.name,
                     value, metric.canonical if metric else todo[i].text, fit.wall_s or 0.0)

        def run_map(indices: list[int]) -> None:
            if indices:
                budget.eval_map.evaluate([todo[i].metric for i in indices],  # type: ignore[misc]
                                         on_result=lambda j, fit: on_result(indices[j], fit))

        def hash_of(i: int) -> str:
            metric = todo[i].metric
            assert metric is not None  # candidates left to score are parsed metrics
            return metric.hash

        def take(i: int) -> bool:
            """Use an evaluation another search recorded meanwhile, if there is one."""
            row = self.registry.find_evaluation(hash_of(i), budget.key)
            if row is None:
                return False
            counts.skipped_registry += 1
            done(i, Result(row.score if row.ok and row.score is not None else worst(self.direction),
                           bool(row.ok), row.reason, row.wall_s))
            return True

        def claim_and_run(indices: Sequence[int]) -> list[int]:
            """Claim, then score what no other search scored or is scoring; the indices left waiting."""
            held = self.registry.claim([hash_of(i) for i in indices], budget.key, self.run_id)
            run = []
            for i in (i for i in indices if hash_of(i) in held):
                if take(i):
                    self.registry.release(hash_of(i), budget.key, self.run_id)
                else:
                    run.append(i)
            run_map(run)
            return [i for i in indices if hash_of(i) not in held]

        waiting = claim_and_run(range(len(todo))) if todo else []
        while waiting:  # another live search is scoring these: take its evaluations when recorded
            time.sleep(CLAIM_POLL_S)
            waiting = claim_and_run([i for i in waiting if not take(i)])  # claims given up or gone stale
        counts.eval_s += time.perf_counter() - start

    def score(self, candidates: Sequence[Candidate], generation: int) -> Counts:
        """Fill the cache for every candidate's key; record lineage of the made ones."""
        counts = Counts()
        todo: list[Candidate] = []
        seen: set[str] = set()
        for c in candidates:
            own = c.metric.hash if c.metric is not None else c.key
            if self.cache.get_for(c.key, own) is not None or c.key in seen:
                counts.skipped_cache += 1
                continue
            seen.add(c.key)
            if c.metric is None:
                self.cache.add(self.entry(c, Result(0.0, False, c.error, 0.0), "invalid", generation))
                counts.invalid += 1
            elif not self._lookup(c, generation, counts, defer_mine=bool(self.reduced and c.metric.operands)):
                if not c.metric.operands:
                    constant = Result(0.0, False, "constant: the metric uses no operand", 0.0)
                    self.record(c, constant, self.budget, counts)
                    self.cache.add(self.entry(c, constant, "constant", generation))
                else:
                    todo.append(c)
        for budget in self.reduced:  # cheaper budgets first: only the best go on
            todo = successive_halving(self, todo, budget, generation, counts)
        if self.reduced:  # survivors this run scored at the full budget before a restart
            todo = [c for c in todo if not self._lookup(c, generation, counts)]
        self.evaluate(todo, self.budget, generation, counts,
                      lambda i, fit: self.cache.add(self.entry(todo[i], fit, "evaluated", generation)))
        self._lineage(candidates, generation)
        return counts

    def _lineage(self, candidates: Sequence[Candidate], generation: int) -> None:
        """One registry edge set per distinct (child, parents, operator) made this generation."""
        done: set[tuple] = set()
        for c in candidates:
            if c.metric is None or c.operator in ("copy", "elite"):
                continue
            ident = (c.metric.hash, tuple(p.hash for p in c.parents), c.operator)
            if ident in done:
                continue
            done.add(ident)
            self.registry.add_lineage(c.metric, list(c.parents), c.operator, run_id=self.run_id,
                                      generation=generation)
