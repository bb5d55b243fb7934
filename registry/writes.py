"""Write operations, each run inside the caller's transaction."""
from __future__ import annotations

import math
import socket
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import models, queries
from registry.errors import NotFoundError, RegistryError
from registry.keys import budget_text, canonical_json, finite_json, settings_key
from registry.limits import (
    MAX_FORMULA,
    MAX_JSON_FIELD,
    MAX_LABEL,
    MAX_RUN_ID,
    check_length,
    check_name,
    cut,
)
from registry.models import RUN_STATUSES, utcnow

MetricRef = Any  # a Metric, Recipe or MetricRow (added if new) or a str reference (must exist)
DIALECT_INSERTS: dict[str, Callable[..., Any]] = {
    "sqlite": sqlite.insert, "postgresql": postgresql.insert}


def insert_ignore(session: Session, model: type[models.Base], values: dict[str, Any], key: str) -> None:
    """INSERT .. ON CONFLICT (key) DO NOTHING, portable to other dialects via a savepoint."""
    insert = DIALECT_INSERTS.get(session.get_bind().dialect.name)
    if insert is not None:
        session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=[key]))
        return
    if session.scalar(select(model).where(getattr(model, key) == values[key])) is None:
        try:
            with session.begin_nested():
                session.add(model(**values))
        except IntegrityError:
            pass  # another writer inserted it first


def upsert_metric(session: Session, metric: Any, name: str | None = None, rename: bool = False) -> models.Metric:
    """The row of a metric (anything with hash, canonical, ...), inserted if new; a metric already
    named otherwise keeps its name unless ``rename``."""
    if name is not None:
        check_name(name)
        taken = session.scalars(select(models.Metric).where(models.Metric.name == name)).first()
        if taken is not None and taken.hash != metric.hash:
            raise RegistryError(f"the name {name!r} is already used by metric {taken.hash}")
    check_length("formula text", metric.text, MAX_FORMULA)
    check_length("canonical form", metric.canonical, MAX_FORMULA)
    values = {
        "hash": metric.hash, "canonical": metric.canonical, "text": metric.text,
        "rank_hash": metric.rank_hash, "operands": ",".join(sorted(metric.operands)),
        "complexity": int(metric.complexity), "name": name, "created_at": utcnow(), **recipe_columns(metric),
    }
    insert_ignore(session, models.Metric, values, "hash")
    row = session.scalars(select(models.Metric).where(models.Metric.hash == metric.hash)).one()
    if name is not None and row.name != name:
        if row.name is not None and not rename:
            raise RegistryError(f"metric {row.hash} is already named {row.name!r}, not {name!r} "
                                "(--rename gives it the new name)")
        row.name = name
        session.flush()
    return row


def recipe_columns(entry: Any) -> dict[str, Any]:
    """The recipe columns of an entry: a Recipe's parts; a Metric's or a stored row's as it has them
    (a bare formula: its own hash as the score's, uniform allocation, no post step)."""
    from primitives.recipe import Recipe

    if isinstance(entry, Recipe):
        parts = entry.parts()
        values = {"score_hash": parts["score_hash"], "allocation": parts["alloc"], "unit": parts["unit"],
                  "post": parts["post"]}
    else:
        values = {"score_hash": getattr(entry, "score_hash", None) or entry.hash,
                  "allocation": getattr(entry, "allocation", None) or "uniform",
                  "unit": getattr(entry, "unit", None), "post": getattr(entry, "post", None) or "none"}
    check_length("allocation formula", values["allocation"], MAX_FORMULA)
    return values


def metric_id(session: Session, metric: MetricRef) -> int:
    """The id of a metric given as an object (added if new) or a reference."""
    if isinstance(metric, str):
        return queries.metric_by_ref(session, metric).id
    return upsert_metric(session, metric).id


def _granularity(settings: Mapping[str, Any]) -> str | None:
    """The granularity column: the task's "granularity" setting, else its comparison "group"."""
    value = settings.get("granularity", settings.get("group"))
    return None if value is None else str(value)


def insert_evaluation(session: Session, metric_id: int, settings: Mapping[str, Any],
                      score: float | None, ok: bool, reason: str | None, wall_s: float | None,
                      device: str | None, run_id: str | None,
                      versions: Mapping[str, Any] | None,
                      details: Mapping[str, Any] | None = None) -> models.Evaluation:
    """Add one evaluation; the named settings fill their own columns."""
    if score is not None and math.isnan(score):
        score = None
    settings_text = check_length("settings JSON", canonical_json(dict(settings)), MAX_JSON_FIELD)
    for column, limit in (("task", 64), ("model", MAX_LABEL), ("dataset", MAX_LABEL)):
        check_length(f"settings {column}", None if settings.get(column) is None else str(settings[column]), limit)
    check_length("granularity", _granularity(settings), 32)
    check_length("budget", budget_text(settings.get("budget")), MAX_LABEL)
    versions_text = check_length("versions JSON", canonical_json(dict(versions or {})), MAX_JSON_FIELD)
    sparsity = settings.get("sparsity")
    row = models.Evaluation(
        metric_id=metric_id, run_id=run_id, task=settings.get("task"),
        model=settings.get("model"), dataset=settings.get("dataset"),
        sparsity=None if sparsity is None else float(sparsity),
        granularity=_granularity(settings),
        budget=budget_text(settings.get("budget")), settings_key=settings_key(settings),
        settings=settings_text, score=score, ok=bool(ok), reason=cut(reason),
        wall_s=wall_s, device=cut(device, 64), versions=versions_text,
        created_at=utcnow(),
        details=check_length("details JSON", canonical_json(finite_json(dict(details or {}))), MAX_JSON_FIELD),
    )
    session.add(row)
    session.flush()
    return row


def start_run(session: Session, run_id: str | None, name: str | None, task: str | None,
              config: Mapping[str, Any] | None, seed: int | None, host: str | None,
              versions: Mapping[str, Any] | None) -> models.Run:
    """Create a run, or mark an existing one (a resume) running again."""
    run_id = run_id or uuid.uuid4().hex
    check_length("run id", run_id, MAX_RUN_ID)
    check_length("run name", name, MAX_LABEL)
    check_length("run config JSON", canonical_json(dict(config or {})), MAX_JSON_FIELD)
    values = {
        "id": run_id, "name": name, "task": task, "config": canonical_json(dict(config or {})),
        "seed": seed, "status": "running", "host": cut(host or socket.gethostname(), MAX_LABEL),
        "versions": canonical_json(dict(versions or {})), "started_at": utcnow(),
    }
    insert_ignore(session, models.Run, values, "id")
    row = session.get(models.Run, run_id)
    assert row is not None
    row.status, row.finished_at = "running", None
    session.flush()
    return row


def finish_run(session: Session, run_id: str, status: str) -> models.Run:
    """Mark a run finished or failed."""
    if status not in RUN_STATUSES[1:]:
        raise ValueError(f"status must be one of {RUN_STATUSES[1:]}, not {status!r}")
    row = session.get(models.Run, run_id)
    if row is None:
        raise NotFoundError(f"no run {run_id!r}")
    row.status, row.finished_at = status, utcnow()
    session.flush()
    return row


def _is(column: Any, value: Any) -> ColumnElement[bool]:
    """column = value, or column IS NULL when value is None."""
    return column.is_(None) if value is None else column == value


def add_lineage(session: Session, child_id: int, parent_ids: Iterable[int | None], operator: str,
                run_id: str | None, generation: int | None) -> list[models.Lineage]:
    """Add one edge per parent (one with no parent for seeds); identical edges are not doubled."""
    rows = []
    for parent_id in list(parent_ids) or [None]:
        L = models.Lineage
        found = session.scalars(select(L).where(
            L.child_metric_id == child_id, _is(L.parent_metric_id, parent_id),
            L.operator == operator, _is(L.run_id, run_id), _is(L.generation, generation))).first()
        if found is None:
            found = L(child_metric_id=child_id, parent_metric_id=parent_id, operator=operator,
                      run_id=run_id, generation=generation)
            session.add(found)
        rows.append(found)
    session.flush()
    return rows
