"""Read queries, each run inside the caller's session."""
from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from registry import models
from registry.errors import AmbiguousError, NotFoundError
from registry.records import EvaluationRow, LeaderboardEntry, LineageRow, MetricRow, SettingsGroup

M, E, L = models.Metric, models.Evaluation, models.Lineage
HEX_PREFIX = re.compile(r"[0-9a-f]{6,16}")
ORDERS = {
    "created": (M.created_at.desc(), M.id.desc()),
    "complexity": (M.complexity.asc(), M.hash.asc()),
    "hash": (M.hash.asc(),),
    "name": (M.name.asc(), M.hash.asc()),
}
FILTER_COLUMNS = ("task", "model", "dataset", "sparsity", "granularity", "budget")


def metric_by_ref(session: Session, ref: str) -> models.Metric:
    """A metric by name, hash, hash prefix (>= 6 hex digits) or formula text."""
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
    from primitives.metric import Metric  # lazy: parsing is only needed for formula text

    try:
        metric = Metric.parse(ref)
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


def _evaluations() -> Select[Any]:
    """Evaluations joined with their metric's hash."""
    return select(E, M.hash).join(M, M.id == E.metric_id)


def find_evaluation(session: Session, metric_hash: str, key: str, by_rank_hash: bool) -> EvaluationRow | None:
    """The latest evaluation of a metric (or of its ranking class) under a settings key."""
    column = M.rank_hash if by_rank_hash else M.hash
    stmt = _evaluations().where(E.settings_key == key, column == metric_hash).order_by(E.id.desc())
    found = session.execute(stmt.limit(1)).first()
    return None if found is None else EvaluationRow.of(found[0], found[1])


def scored(session: Session, key: str, column: Any) -> set[str]:
    """Distinct values of a metric column among metrics evaluated under a settings key."""
    stmt = select(column).join(E, E.metric_id == M.id).where(E.settings_key == key).distinct()
    return set(session.scalars(stmt).all())


def settings_groups(session: Session, filters: dict[str, Any]) -> list[SettingsGroup]:
    """The settings keys whose evaluations match the column filters, most used first."""
    stmt = select(E.settings_key, E.task, func.min(E.settings), func.count(E.id))
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(getattr(E, name) == value)
    stmt = stmt.group_by(E.settings_key, E.task).order_by(func.count(E.id).desc(), E.settings_key)
    return [SettingsGroup(k, t, json.loads(s or "{}"), n) for k, t, s, n in session.execute(stmt)]


def leaderboard(session: Session, key: str, task: str | None, direction: str,
                limit: int | None) -> list[LeaderboardEntry]:
    """Each metric's best successful score under one settings key, best first."""
    if direction not in ("min", "max"):
        raise ValueError(f"direction must be 'min' or 'max', not {direction!r}")
    best = (func.min(E.score) if direction == "min" else func.max(E.score)).label("best")
    sub = select(E.metric_id, best, func.count(E.id).label("n")).where(
        E.settings_key == key, E.ok.is_(True), E.score.is_not(None))
    if task is not None:
        sub = sub.where(E.task == task)
    sub = sub.group_by(E.metric_id).subquery()
    order = sub.c.best.asc() if direction == "min" else sub.c.best.desc()
    stmt = select(M, sub.c.best, sub.c.n).join(sub, sub.c.metric_id == M.id)
    rows = session.execute(stmt.order_by(order, M.hash).limit(limit)).all()
    return [LeaderboardEntry(i + 1, MetricRow.of(m), s, n) for i, (m, s, n) in enumerate(rows)]


def run_evaluations(session: Session, run_id: str) -> list[EvaluationRow]:
    """A run's evaluations in insertion order."""
    rows = session.execute(_evaluations().where(E.run_id == run_id).order_by(E.id)).all()
    return [EvaluationRow.of(e, h) for e, h in rows]


def run_lineage(session: Session, run_id: str) -> list[LineageRow]:
    """A run's lineage edges in insertion order, with child and parent hashes."""
    child, parent = aliased(M), aliased(M)
    stmt = (select(L, child.hash, parent.hash)
            .join(child, child.id == L.child_metric_id)
            .outerjoin(parent, parent.id == L.parent_metric_id)
            .where(L.run_id == run_id).order_by(L.id))
    return [LineageRow(l.id, c, p, l.operator, l.run_id, l.generation)
            for l, c, p in session.execute(stmt)]
