"""What a generation scores: candidates (canonical metrics with their origin), their results and tallies."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

from primitives.metric import Metric, text_hash


class Result(NamedTuple):
    """One score of a candidate at some budget."""

    value: float
    ok: bool
    reason: str | None
    wall_s: float | None


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


def candidate(text: str, tree: Any, dedup: str, parents: Sequence[Metric] = (), operator: str = "init") -> Candidate:
    """Canonicalise a tree into a Candidate; failures become invalid candidates, never errors."""
    try:
        metric = Metric(tree)
        key = metric.rank_hash if dedup == "rank" else metric.hash
        return Candidate(text, metric, key, tuple(parents), operator)
    except Exception as exc:
        return Candidate(text, None, "invalid:" + text_hash(text), tuple(parents), operator,
                         f"canonicalisation failed: {type(exc).__name__}: {exc}")
