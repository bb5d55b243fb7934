"""``Registry.open(url)``: the metric registry with pandas answers for notebooks."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from registry import Registry as Store

__all__ = ["Registry"]

EVALUATION_COLUMNS = ("metric", "hash", "run_id", "task", "model", "dataset", "sparsity", "granularity", "budget",
                      "settings_key", "score", "ok", "reason", "wall_s", "device", "created_at")


class Registry:
    """A registry (SQLite path or SQLAlchemy URL) whose queries return DataFrames; ``store`` is
    the underlying ``registry.Registry`` for writes and everything else."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, url: str | os.PathLike[str] | None = None) -> Registry:
        """Open (creating or upgrading) the registry at a URL or path (default ``./metricforge.db``)."""
        from registry import Registry as Store

        return cls(Store.open(url))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def evaluations(self, metric: str | None = None, *, key: str | None = None,
                    run_id: str | None = None) -> pd.DataFrame:
        """Evaluations (oldest first) of a metric (name, hash or formula), a settings key and/or a run."""
        import pandas as pd

        rows = self.store.evaluations(metric, key=key, run_id=run_id)
        formulas: dict[str, str] = {}
        for r in rows:
            if r.metric_hash not in formulas:
                formulas[r.metric_hash] = self.store.get_metric(r.metric_hash).canonical
        return pd.DataFrame([{
            "metric": formulas[r.metric_hash], "hash": r.metric_hash, "run_id": r.run_id, "task": r.task,
            "model": r.model, "dataset": r.dataset, "sparsity": r.sparsity, "granularity": r.granularity,
            "budget": r.budget, "settings_key": r.settings_key, "score": r.score, "ok": r.ok, "reason": r.reason,
            "wall_s": r.wall_s, "device": r.device, "created_at": r.created_at} for r in rows],
            columns=list(EVALUATION_COLUMNS))

    def leaderboard(self, task: str | None = None, *, key: str | None = None,
                    settings: Mapping[str, Any] | None = None, direction: str = "min", limit: int | None = 10,
                    **filters: Any) -> pd.DataFrame:
        """Each metric's best score under one settings key (given, from settings, or the one the
        filters match: model, dataset, sparsity, granularity, budget), best first."""
        import pandas as pd

        board = self.store.best(task, key=key, settings=settings, direction=direction, limit=limit, **filters)
        return pd.DataFrame([{"rank": b.rank, "metric": b.name or b.canonical, "formula": b.canonical,
                              "hash": b.hash, "score": b.score, "evaluations": b.evaluations,
                              "complexity": b.metric.complexity} for b in board],
                            columns=["rank", "metric", "formula", "hash", "score", "evaluations", "complexity"])
