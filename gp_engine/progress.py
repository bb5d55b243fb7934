"""How far a run has got: generation reached, counters, per-generation history, per-budget totals."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gp_engine.candidates import Counts

COUNTERS = ("evaluated", "skipped_cache", "skipped_registry", "failed", "invalid")


@dataclass
class Progress:
    """A run's progress, written with every checkpoint and read back on resume."""

    generation: int = -1
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    history: list[dict[str, Any]] = field(default_factory=list)
    budget_counts: dict[str, dict[str, float]] = field(default_factory=dict)  # evaluations, seconds per budget

    def record(self, generation: int, counts: Counts, stats: dict[str, Any]) -> None:
        """A finished generation: its counts and statistics."""
        self.generation = generation
        for name in COUNTERS:
            self.counters[name] += getattr(counts, name)
        counts.add_budgets_to(self.budget_counts)
        self.history.append(stats)

    def to_json(self) -> dict[str, Any]:
        """The checkpoint fields."""
        return {"generation": self.generation, "counters": self.counters, "history": self.history,
                "budget_counts": self.budget_counts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        """Progress from a checkpoint (older checkpoints may lack counters or budgets)."""
        budgets = {str(k): {"evaluated": int(v["evaluated"]), "eval_s": float(v["eval_s"])}
                   for k, v in dict(data.get("budget_counts", {})).items()}
        return cls(int(data["generation"]), {k: int(data.get("counters", {}).get(k, 0)) for k in COUNTERS},
                   list(data.get("history", [])), budgets)
