"""Plain frozen records returned by the registry (never session-bound ORM objects)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from registry import models


def _utc(value: datetime) -> datetime:
    """Attach UTC to naive datetimes (SQLite drops the zone)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _json(text: str | None) -> dict[str, Any]:
    """Decode a JSON text column; empty or null gives an empty dict."""
    return json.loads(text) if text else {}


@dataclass(frozen=True)
class MetricRow:
    """A stored metric or recipe, with the recipe's parts (a bare formula: its own hash, uniform, none)."""

    id: int
    hash: str
    canonical: str
    text: str
    rank_hash: str
    operands: tuple[str, ...]
    complexity: int
    name: str | None
    created_at: datetime
    score_hash: str = ""
    allocation: str = "uniform"
    unit: str | None = None
    post: str = "none"

    @classmethod
    def of(cls, row: models.Metric) -> MetricRow:
        """Copy an ORM row."""
        ops = tuple(op for op in row.operands.split(",") if op)
        return cls(row.id, row.hash, row.canonical, row.text, row.rank_hash, ops,
                   row.complexity, row.name, _utc(row.created_at), row.score_hash or row.hash, row.allocation,
                   row.unit, row.post)

    @property
    def is_recipe(self) -> bool:
        """A recipe with a layer allocation or post-mask step (not a bare formula)."""
        return self.allocation != "uniform" or self.post != "none"


@dataclass(frozen=True)
class EvaluationRow:
    """A stored evaluation, with the hash of its metric."""

    id: int
    metric_id: int
    metric_hash: str
    run_id: str | None
    task: str | None
    model: str | None
    dataset: str | None
    sparsity: float | None
    granularity: str | None
    budget: str | None
    settings_key: str
    settings: dict[str, Any]
    score: float | None
    ok: bool
    reason: str | None
    wall_s: float | None
    device: str | None
    versions: dict[str, Any]
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)  # the task's: sparsity reached, timings, ...

    @classmethod
    def of(cls, row: models.Evaluation, metric_hash: str) -> EvaluationRow:
        """Copy an ORM row."""
        return cls(row.id, row.metric_id, metric_hash, row.run_id, row.task, row.model,
                   row.dataset, row.sparsity, row.granularity, row.budget, row.settings_key,
                   _json(row.settings), row.score, bool(row.ok), row.reason, row.wall_s,
                   row.device, _json(row.versions), _utc(row.created_at), _json(row.details))


@dataclass(frozen=True)
class RunRow:
    """A stored run."""

    id: str
    name: str | None
    task: str | None
    config: dict[str, Any]
    seed: int | None
    status: str
    host: str | None
    versions: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: models.Run) -> RunRow:
        """Copy an ORM row."""
        return cls(row.id, row.name, row.task, _json(row.config), row.seed, row.status,
                   row.host, _json(row.versions), _utc(row.started_at),
                   None if row.finished_at is None else _utc(row.finished_at))


@dataclass(frozen=True)
class LineageRow:
    """A parent -> child edge, with both hashes (parent is None for seeds)."""

    id: int
    child_hash: str
    parent_hash: str | None
    operator: str
    run_id: str | None
    generation: int | None


@dataclass(frozen=True)
class LeaderboardEntry:
    """One metric's best score under one settings key."""

    rank: int
    metric: MetricRow
    score: float
    evaluations: int

    @property
    def hash(self) -> str:
        """The metric's hash."""
        return self.metric.hash

    @property
    def name(self) -> str | None:
        """The metric's name, if any."""
        return self.metric.name

    @property
    def canonical(self) -> str:
        """The metric's canonical text."""
        return self.metric.canonical


@dataclass(frozen=True)
class SettingsGroup:
    """One settings key seen in the registry, with how many evaluations use it."""

    settings_key: str
    task: str | None
    settings: dict[str, Any]
    evaluations: int


@dataclass(frozen=True)
class RunHistory:
    """A run with its evaluations and lineage, in insertion order."""

    run: RunRow
    evaluations: tuple[EvaluationRow, ...] = field(default_factory=tuple)
    lineage: tuple[LineageRow, ...] = field(default_factory=tuple)
