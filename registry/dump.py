"""The whole registry as one JSON document (``metricforge.registry/1``) and back.

``export_all`` writes every metric, run, evaluation and lineage edge with its id; JSON columns stay
the exact text stored. ``import_all`` validates the whole file first (``registry.dump_check``),
then writes it in one transaction: into an empty registry with the same ids (an identical copy),
into a non-empty one merged by metric hash and run id, skipping evaluations and edges it already
holds. Any conflict (a name used by another metric, a run id holding another run) rejects the file
and nothing is written.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from registry import models, writes
from registry.errors import RegistryError
from registry.dump_check import REGISTRY_FORMAT, ImportFileError, check_registry
from registry.records import _utc

M, R, E, L = models.Metric, models.Run, models.Evaluation, models.Lineage
TABLES = (M, R, E, L)


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _plain(row: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.name: _value(getattr(row, c.key)) for c in row.__table__.columns if c.name not in skip}


def export_all(session: Session) -> dict[str, Any]:
    """Every row of the registry, ids included, metric references as hashes."""
    hashes = dict(session.execute(select(M.id, M.hash)).all())
    evaluations = []
    for row in session.scalars(select(E).order_by(E.id)):
        entry = _plain(row, ("metric_id",))
        entry["metric"] = hashes[row.metric_id]
        evaluations.append(entry)
    lineage = [{"id": e.id, "child": hashes[e.child_metric_id],
                "parent": None if e.parent_metric_id is None else hashes[e.parent_metric_id],
                "operator": e.operator, "run_id": e.run_id, "generation": e.generation}
               for e in session.scalars(select(L).order_by(L.id))]
    return {"format": REGISTRY_FORMAT,
            "metrics": [_plain(m) for m in session.scalars(select(M).order_by(M.id))],
            "runs": [_plain(r) for r in session.scalars(select(R).order_by(R.id))],
            "evaluations": evaluations, "lineage": lineage}


def _empty(session: Session) -> bool:
    return all(session.scalar(select(func.count()).select_from(t)) == 0 for t in TABLES)


def _reset_sequences(session: Session) -> None:
    """PostgreSQL: move each id sequence past the ids written explicitly."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("metrics", "evaluations", "lineage"):
        session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))


def _copy(session: Session, plan: dict[str, list[dict[str, Any]]]) -> None:
    """An empty registry: every row with its own id."""
    ids = {m["hash"]: m["id"] for m in plan["metrics"]}
    session.add_all(M(**m) for m in plan["metrics"])
    session.add_all(R(**r) for r in plan["runs"])
    session.flush()
    session.add_all(E(metric_id=ids[e.pop("metric")], **e) for e in plan["evaluations"])
    session.add_all(L(child_metric_id=ids[e["child"]], parent_metric_id=ids.get(e["parent"]) if e["parent"] else None,
                      operator=e["operator"], run_id=e["run_id"], generation=e["generation"], id=e.get("id"))
                    for e in plan["lineage"])
    session.flush()
    _reset_sequences(session)


def _merge(session: Session, plan: dict[str, list[dict[str, Any]]], rename: bool) -> None:
    """A non-empty registry: metrics by hash, runs by id, new evaluations and edges appended."""
    ids: dict[str, int] = {}
    for i, m in enumerate(plan["metrics"]):
        try:
            ids[m["hash"]] = writes.upsert_metric(session, _Row(m), m["name"], rename).id
        except (ValueError, RegistryError) as exc:
            raise ImportFileError(f"metrics[{i}]: {exc}") from None
    for i, r in enumerate(plan["runs"]):
        known = session.get(R, r["id"])
        if known is None:
            session.add(R(**{k: v for k, v in r.items()}))
        elif (known.task, known.config, known.seed) != (r["task"], r["config"], r["seed"]):
            raise ImportFileError(f"runs[{i}]: run id {r['id']!r} already holds another run")
    session.flush()
    for e in plan["evaluations"]:
        e = {k: v for k, v in e.items() if k != "id"}
        metric_id = ids[e.pop("metric")]
        same = session.scalars(select(E.id).where(
            E.metric_id == metric_id, E.settings_key == e["settings_key"], writes._is(E.run_id, e["run_id"]),
            E.created_at == e["created_at"])).first()
        if same is None:
            session.add(E(metric_id=metric_id, **e))
    for e in plan["lineage"]:
        writes.add_lineage(session, ids[e["child"]], [ids[e["parent"]]] if e["parent"] else [], e["operator"],
                           e["run_id"], e["generation"])
    session.flush()


def metric_of(entry: dict[str, Any], tree: Any = None, alloc_tree: Any = None) -> "_Row":
    """A validated metric or recipe entry as the object ``writes.upsert_metric`` stores; JSON trees,
    when given, must be the same formulas as the entry's text (a recipe's: its score and allocation)."""
    from primitives.language import ALLOCATION_OPERANDS
    from primitives.metric import Metric, tree_from_json

    if tree is not None and Metric(tree_from_json(tree)).hash != entry["score_hash"]:
        raise ValueError("the JSON tree and the text are different formulas")
    if alloc_tree is not None and Metric(tree_from_json(alloc_tree, operands=ALLOCATION_OPERANDS)).canonical \
            != entry["allocation"]:
        raise ValueError("the JSON allocation tree and the text are different formulas")
    return _Row(entry)


class _Row:
    """A validated metric entry seen as the metric object ``writes.upsert_metric`` expects."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.hash, self.canonical, self.text = entry["hash"], entry["canonical"], entry["text"]
        self.rank_hash, self.complexity = entry["rank_hash"], entry["complexity"]
        self.operands = tuple(o for o in entry["operands"].split(",") if o)
        self.score_hash, self.allocation, self.unit, self.post = (entry["score_hash"], entry["allocation"],
                                                                  entry["unit"], entry["post"])


def import_all(session: Session, data: dict[str, Any], rename: bool = False) -> dict[str, int]:
    """Validate a registry file, then write it (copy into an empty registry, else merge); row counts."""
    plan = check_registry(data)
    counts = {name: len(rows) for name, rows in plan.items()}
    if _empty(session):
        _copy(session, plan)
    else:
        _merge(session, plan, rename)
    return counts
