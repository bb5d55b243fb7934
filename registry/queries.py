"""Read queries, each run inside the caller's session."""
from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from registry import models
from registry.errors import AmbiguousError, NotFoundError
from registry.records import (
    EvaluationRow,
    LeaderboardEntry,
    LineageRow,
    MetricRow,
    RunHistory,
    RunRow,
    SettingsGroup,
)

M, E, L = models.Metric, models.Evaluation, models.Lineage
HEX_PREFIX = re.compile(r"[0-9a-f]{6,16}")
ORDERS: dict[str, tuple[Any, ...]] = {
    "created": (M.created_at.desc(), M.id.desc()),
    "complexity": (M.complexity.asc(), M.hash.asc()),
    "hash": (M.hash.asc(),),
    "name": (M.name.asc(), M.hash.asc()),
}
FILTER_COLUMNS = ("task", "model", "dataset", "sparsity", "granularity", "budget")


def metric_by_ref(session: Session, ref: str) -> models.Metric:
    """A metric or recipe by name, hash, hash prefix (>= 6 hex digits), formula or recipe text."""
    ref = ref.strip()
    row = session.scalars(select(M).where(M.name == ref)).first()
    if row is not None:
        return row
    if HEX_PREFIX.fullmatch(ref.lower()):
        rows = session.scalars(select(M).where(M.hash.startswith(ref.lower())).limit(2)).all()
        if len(rows) > 1:
            raise AmbiguousError(f"hash prefix {ref!r} matches several metrics; give more digits")
        if rows:
            return rows[0]
    from primitives.recipe import Recipe  # lazy: parsing is only needed for formula text

    try:
        metric = Recipe.parse(ref)
    except ValueError as exc:
        raise NotFoundError(f"no metric named or hashed {ref!r}, and not a formula: {exc}") from None
    row = session.scalars(select(M).where(M.hash == metric.hash)).first()
    if row is None:
        raise NotFoundError(f"metric {metric.canonical} ({metric.hash}) is not in the registry")
    return row


def list_metrics(session: Session, limit: int | None, order: str) -> list[MetricRow]:
    """Metrics in one of ORDERS, at most limit of them."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {sorted(ORDERS)}, not {order!r}")
    rows = session.scalars(select(M).order_by(*ORDERS[order]).limit(limit)).all()
    return [MetricRow.of(r) for r in rows]


def _evaluations() -> Select:  # type: ignore[type-arg]
    """Evaluations joined with their metric's hash."""
    return select(E, M.hash).join(M, M.id == E.metric_id)


def find_evaluation(session: Session, metric_hash: str, key: str, by_rank_hash: bool) -> EvaluationRow | None:
    """The latest evaluation of a metric under a settings key; ``by_rank_hash``: of its ranking class's
    representative (the member whose hash is the class's rank_hash), never of another member, whose
    float32 scores may prune differently."""
    where = [M.rank_hash == metric_hash, M.hash == M.rank_hash] if by_rank_hash else [M.hash == metric_hash]
    stmt = _evaluations().where(E.settings_key == key, *where).order_by(E.id.desc())
    found = session.execute(stmt.limit(1)).first()
    return None if found is None else EvaluationRow.of(found[0], found[1])


def scored(session: Session, key: str, column: Any) -> set[str]:
    """Distinct values of a metric column among metrics evaluated under a settings key."""
    stmt = select(column).join(E, E.metric_id == M.id).where(E.settings_key == key).distinct()
    return set(session.scalars(stmt).all())


def settings_groups(session: Session, filters: dict[str, Any]) -> list[SettingsGroup]:
    """The settings keys whose evaluations match the column filters, most used first."""
    unknown = set(filters) - set(FILTER_COLUMNS)
    if unknown:
        raise ValueError(f"unknown filters {sorted(unknown)}; use {FILTER_COLUMNS}")
    stmt = select(E.settings_key, E.task, func.min(E.settings), func.count(E.id))
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(E, name) == value)
    stmt = stmt.group_by(E.settings_key, E.task).order_by(func.count(E.id).desc(), E.settings_key)
    return [SettingsGroup(k, t, json.loads(s or "{}"), n) for k, t, s, n in session.execute(stmt)]


def resolve_key(session: Session, task: str | None, filters: dict[str, Any]) -> str | None:
    """The one settings key the filters match (None if none); several is an error."""
    keys = sorted({g.settings_key for g in settings_groups(session, {"task": task, **filters})})
    if len(keys) > 1:
        raise AmbiguousError(f"{len(keys)} settings match ({', '.join(keys[:4])}...); narrow "
                             "the filters or pass key= (budgets are never mixed)")
    return keys[0] if keys else None


def leaderboard(session: Session, key: str, task: str | None, direction: str | None,
                limit: int | None) -> list[LeaderboardEntry]:
    """Each metric's best successful score under one settings key, best first."""
    if direction not in ("min", "max"):
        raise ValueError(f"a leaderboard needs the task's direction, 'min' or 'max' (Task.direction: max for "
                         f"accuracy and AUC, min for perplexity), not {direction!r}")
    best = (func.min(E.score) if direction == "min" else func.max(E.score)).label("best")
    grouped = select(E.metric_id, best, func.count(E.id).label("n")).where(
        E.settings_key == key, E.ok.is_(True), E.score.is_not(None))
    if task is not None:
        grouped = grouped.where(E.task == task)
    sub = grouped.group_by(E.metric_id).subquery()
    order = sub.c.best.asc() if direction == "min" else sub.c.best.desc()
    stmt = select(M, sub.c.best, sub.c.n).join(sub, sub.c.metric_id == M.id)
    rows = session.execute(stmt.order_by(order, M.hash).limit(limit)).all()
    return [LeaderboardEntry(i + 1, MetricRow.of(m), s, n) for i, (m, s, n) in enumerate(rows)]


def evaluations(session: Session, *where: Any) -> list[EvaluationRow]:
    """Evaluations matching the conditions, in insertion order."""
    rows = session.execute(_evaluations().where(*where).order_by(E.id)).all()
    return [EvaluationRow.of(e, h) for e, h in rows]


def evaluations_of(session: Session, metric: str | None, key: str | None,
                   run_id: str | None) -> list[EvaluationRow]:
    """Evaluations filtered by metric reference, settings key and run (None: any)."""
    where = [] if metric is None else [E.metric_id == metric_by_ref(session, metric).id]
    where += [] if key is None else [E.settings_key == key]
    where += [] if run_id is None else [E.run_id == run_id]
    return evaluations(session, *where)


def lineage(session: Session, *where: Any) -> list[LineageRow]:
    """Lineage edges matching the conditions, in insertion order, with both hashes."""
    child, parent = aliased(M), aliased(M)
    stmt = (select(L, child.hash, parent.hash)
            .join(child, child.id == L.child_metric_id)
            .outerjoin(parent, parent.id == L.parent_metric_id)
            .where(*where).order_by(L.id))
    return [LineageRow(e.id, c, p, e.operator, e.run_id, e.generation)
            for e, c, p in session.execute(stmt)]


def run_history(session: Session, run_id: str) -> RunHistory:
    """A run with its evaluations and lineage."""
    run = session.get(models.Run, run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r}")
    return RunHistory(RunRow.of(run), tuple(evaluations(session, E.run_id == run_id)),
                      tuple(lineage(session, L.run_id == run_id)))
