"""What a run report shows, read from the run folder and the registry.

The run folder gives the settings (``config.json``), progress (``results/progress.json``), the
plots, the equations table, the hall of fame and the held-out validation (``results/validation.json``); the registry gives each winner's re-checks
(its evaluations under other settings) and the leaderboard of the run's settings key.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

WINNERS = 5
LEADERBOARD = 20


@dataclass
class RunReport:
    """Everything one report page shows."""

    run_dir: Path
    config: dict[str, Any]
    progress: dict[str, Any]
    equations: pd.DataFrame
    hall_of_fame: list[dict[str, Any]]
    plots: dict[str, Path]
    history_counts: dict[str, int] = field(default_factory=dict)
    rechecks: dict[str, pd.DataFrame] = field(default_factory=dict)
    leaderboard: pd.DataFrame | None = None
    registry_note: str | None = None
    validation: pd.DataFrame | None = None  # held-out validation (results/validation.json), when run

    @property
    def direction(self) -> str:
        """The direction the run recorded, else the one its task declares."""
        if "direction" in self.progress:
            return str(self.progress["direction"])
        from metricforge.leaderboard import task_direction

        return task_direction(str((self.config.get("task") or {}).get("name", "")))

    @property
    def settings_key(self) -> str:
        return str(self.config.get("settings_key", ""))


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def read_run(run_dir: Path) -> RunReport:
    """The report's run-folder part; a folder that is no run is a ValueError naming it."""
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{run_dir} is not a run folder (no config.json)")
    config = _read_json(config_path, {})
    if not isinstance(config, dict) or "settings_key" not in config:
        raise ValueError(f"{config_path} is not a metricforge run config")
    results = run_dir / "results"
    equations = pd.read_csv(results / "equations.csv") if (results / "equations.csv").exists() else pd.DataFrame()
    counts: dict[str, int] = {}
    if (results / "history.csv").exists():
        history = pd.read_csv(results / "history.csv", usecols=["status"])
        counts = {str(k): int(v) for k, v in history["status"].value_counts().items()}
    plots = {name: results / name for name in ("fitness.png", "pareto.png") if (results / name).exists()}
    table = _read_json(results / "validation.json", {}).get("table")
    validation = pd.DataFrame(table["rows"], columns=table["columns"]) if table else None
    return RunReport(run_dir, config, _read_json(results / "progress.json", {}), equations,
                     list(_read_json(results / "hall_of_fame.json", [])), plots, counts, validation=validation)


def add_registry(report: RunReport, registry: Any) -> RunReport:
    """Fill in re-checks of the winners and the leaderboard of the run's settings key."""
    key = report.settings_key
    for winner in report.hall_of_fame[:WINNERS]:
        rows = [e for e in registry.evaluations(winner["hash"]) if e.settings_key != key]
        if rows:
            report.rechecks[winner["canonical"]] = pd.DataFrame([{
                "task": e.task, "model": e.model, "dataset": e.dataset, "sparsity": e.sparsity,
                "granularity": e.granularity, "budget": e.budget, "settings key": e.settings_key,
                "score": e.score if e.ok else None, "status": "ok" if e.ok else f"failed: {e.reason}"}
                for e in rows])
    board = registry.best(key=key, direction=report.direction, limit=LEADERBOARD)
    report.leaderboard = pd.DataFrame([{
        "rank": b.rank, "metric": b.name or b.canonical, "formula": b.canonical, "score": b.score,
        "evaluations": b.evaluations, "complexity": b.metric.complexity} for b in board],
        columns=["rank", "metric", "formula", "score", "evaluations", "complexity"])
    return report
