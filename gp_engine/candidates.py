"""What a generation scores: candidates (canonical metrics with their origin), their results and tallies.

A candidate's ``key`` (what the run cache and the registry look up) is its own ``hash``: a score is
only ever reused for the metric it was computed from. Ranking classes (``rank_hash``) steer the
search instead: in ``rank`` dedup a child in an already scored class is mutated again
(``gp_engine.offspring``). A class's representative is its ranking form, the simplest member
(``hash == rank_hash``); in float32 another member can overflow, underflow, saturate or merge ties
(``sqr`` seven times on W is ``pow(W, 128)``: W^128 underflows to 0 for most weights), so it may
prune differently, and it is scored as itself, never standing for the class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

from gp_engine.genome import Genome
from primitives.metric import text_hash
from primitives.recipe import Entry


class Result(NamedTuple):
    """One score of a candidate at some budget."""

    value: float
    ok: bool
    reason: str | None
    wall_s: float | None


@dataclass
class Candidate:
    """One offspring to score: its metric or recipe (None if it could not be canonicalised) and origin."""

    text: str
    metric: Entry | None
    key: str
    parents: tuple[Entry, ...] = ()
    operator: str = "init"
    error: str | None = None
    class_key: str = ""  # the ranking class (rank dedup) or the hash: what offspring steer away from

    @property
    def representative(self) -> bool:
        """The simplest member of its ranking class (its ranking form): the one whose score the class may show."""
        return self.metric is not None and self.metric.hash == self.metric.rank_hash


@dataclass
class Counts:
    """Per-generation tallies (``restored`` = found recorded by this run before a restart).

    ``evaluated`` counts evaluations at every budget; ``by_budget`` splits evaluations and their
    seconds by budget label ("full" or a reduced budget such as "eval_tokens=512").
    """

    evaluated: int = 0
    skipped_cache: int = 0
    skipped_registry: int = 0
    failed: int = 0
    invalid: int = 0
    restored: int = 0
    eval_s: float = 0.0
    by_budget: dict[str, dict[str, float]] = field(default_factory=dict)

    def tally(self, label: str, wall_s: float | None) -> None:
        """One evaluation at a budget."""
        entry = self.by_budget.setdefault(label, {"evaluated": 0, "eval_s": 0.0})
        entry["evaluated"] += 1
        entry["eval_s"] += float(wall_s or 0.0)

    def add_budgets_to(self, totals: dict[str, dict[str, float]]) -> None:
        """Add this generation's evaluations and seconds per budget to a run's totals."""
        for label, tally in self.by_budget.items():
            total = totals.setdefault(label, {"evaluated": 0, "eval_s": 0.0})
            total["evaluated"] += int(tally["evaluated"])
            total["eval_s"] = round(total["eval_s"] + tally["eval_s"], 3)


def candidate(text: str, trees: Any, dedup: str, parents: Sequence[Entry] = (), operator: str = "init",
              genome: Genome = Genome(), post: str | None = None) -> Candidate:
    """Canonicalise an individual's trees (a Node, or one per part of the genome) and post step into a
    Candidate, its genome's metric or recipe; failures become invalid candidates, never errors."""
    try:
        metric = genome.entry(trees, post)
        class_key = metric.rank_hash if dedup == "rank" else metric.hash
        return Candidate(text, metric, metric.hash, tuple(parents), operator, class_key=class_key)
    except Exception as exc:
        return Candidate(text, None, "invalid:" + text_hash(text), tuple(parents), operator,
                         f"canonicalisation failed: {type(exc).__name__}: {exc}")
