"""One generation's scoring: dedup against the run cache and the registry, evaluate the rest
through the map, record every evaluation and lineage edge in the registry.

A generation interrupted half-way re-uses what it recorded: on the rerun those metrics are found
in the registry under this run id and count as this run's evaluations, not as new ones.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from evaluators.base import worst
from gp_engine.cache import CacheEntry, FitnessCache
from gp_engine.maps.base import EvalMap
from primitives.metric import Metric, text_hash

log = logging.getLogger(__name__)
NOTE_EVERY_S = 5.0  # at most one per-evaluation progress line per interval


@dataclass
class Candidate:
    """One offspring to score: its metric (None if it could not be canonicalised) and origin."""

    text: str
    metric: Metric | None
    key: str
    parents: tuple[Metric, ...] = ()
    operator: str = "init"
    error: str | None = None


@dataclass
class Counts:
    """Per-generation tallies (``restored`` = found recorded by this run before a restart)."""

    evaluated: int = 0
    skipped_cache: int = 0
    skipped_registry: int = 0
    failed: int = 0
    invalid: int = 0
    restored: int = 0
    eval_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def candidate(text: str, tree: Any, dedup: str, parents: Sequence[Metric] = (), operator: str = "init") -> Candidate:
    """Canonicalise a tree into a Candidate; failures become invalid candidates, never errors."""
    try:
        metric = Metric(tree)
        key = metric.rank_hash if dedup == "rank" else metric.hash
        return Candidate(text, metric, key, tuple(parents), operator)
    except Exception as exc:
        return Candidate(text, None, "invalid:" + text_hash(text), tuple(parents), operator,
                         f"canonicalisation failed: {type(exc).__name__}: {exc}")


class Scorer:
    """Scores candidates for one run: cache, registry lookups, the map, and registry records."""

    def __init__(self, *, registry: Any, run_id: str, settings: dict, settings_key: str, dedup: str,
                 direction: str, eval_map: EvalMap, cache: FitnessCache, versions: dict, device: str | None) -> None:
        self.registry, self.run_id, self.settings, self.key = registry, run_id, settings, settings_key
        self.dedup, self.direction, self.map, self.cache = dedup, direction, eval_map, cache
        self.versions, self.device = versions, device

    def _entry(self, c: Candidate, value: float, ok: bool, reason: str | None, wall: float | None,
               source: str, generation: int) -> CacheEntry:
        m = c.metric
        return CacheEntry(c.key, m.hash if m else c.key, m.canonical if m else c.text,
                          m.complexity if m else 0, value if ok else worst(self.direction), ok, reason,
                          wall, source, generation)

    def _lookup(self, c: Candidate, generation: int, counts: Counts) -> bool:
        """Take the fitness from the registry if this metric class was scored under these settings."""
        row = self.registry.find_evaluation(c.key, self.key, by_rank_hash=self.dedup == "rank")
        if row is None:
            return False
        mine = row.run_id == self.run_id
        value = row.score if row.ok and row.score is not None else worst(self.direction)
        source = ("constant" if c.metric is not None and not c.metric.operands else "evaluated") if mine else "registry"
        entry = self._entry(c, value, row.ok, row.reason, row.wall_s, source, generation)
        self.cache.add(entry)
        if mine:
            counts.evaluated += 1
            counts.restored += 1
            counts.failed += 0 if row.ok else 1
        else:
            counts.skipped_registry += 1
        return True

    def _record(self, c: Candidate, value: float, ok: bool, reason: str | None, wall: float,
                source: str, generation: int, counts: Counts) -> None:
        assert c.metric is not None
        self.registry.record_evaluation(c.metric, self.settings, value if ok else None, ok, reason, wall,
                                        self.device, run_id=self.run_id, versions=self.versions)
        self.cache.add(self._entry(c, value, ok, reason, wall, source, generation))
        counts.evaluated += 1
        counts.failed += 0 if ok else 1

    def score(self, candidates: Sequence[Candidate], generation: int) -> Counts:
        """Fill the cache for every candidate's key; record lineage of the made ones."""
        counts = Counts()
        todo: list[Candidate] = []
        seen: set[str] = set()
        for c in candidates:
            if c.key in self.cache or c.key in seen:
                counts.skipped_cache += 1
                continue
            seen.add(c.key)
            if c.metric is None:
                self.cache.add(self._entry(c, 0.0, False, c.error, 0.0, "invalid", generation))
                counts.invalid += 1
            elif not self._lookup(c, generation, counts):
                if not c.metric.operands:
                    self._record(c, 0.0, False, "constant: the metric uses no operand", 0.0,
                                 "constant", generation, counts)
                else:
                    todo.append(c)
        start = time.perf_counter()

        last_note, done = [start], [0]

        def on_result(i: int, fit: Any) -> None:
            self._record(todo[i], fit.value, fit.ok, fit.reason, fit.wall_s, "evaluated", generation, counts)
            now, done[0] = time.perf_counter(), done[0] + 1
            if now - last_note[0] < NOTE_EVERY_S:  # fast tasks: one progress line per interval
                return
            last_note[0] = now
            value = f"{fit.value:.6g}" if fit.ok else f"failed ({fit.reason})"
            log.info("gen %d eval %d/%d %s %s (%.3g s)", generation, done[0], len(todo), value,
                     todo[i].metric.canonical, fit.wall_s or 0.0)

        if todo:
            self.map.evaluate([c.metric for c in todo], on_result=on_result)  # type: ignore[misc]
        counts.eval_s = time.perf_counter() - start
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
