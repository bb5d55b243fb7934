"""Validation of registry JSON files before anything is written: every field's type, the name
rules and size limits, hashes and settings keys recomputed, duplicates and dangling references
refused. A bad entry raises ``ImportFileError`` naming its section, index and reason."""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, Callable

from primitives import safe_json
from registry.errors import RegistryError
from registry.keys import settings_key
from registry.limits import MAX_FORMULA, MAX_JSON_FIELD, MAX_LABEL, MAX_REASON, MAX_RUN_ID, check_name
from registry.models import RUN_STATUSES

METRIC_FORMAT, RECIPE_FORMAT, REGISTRY_FORMAT = "metricforge.metric/1", "metricforge.recipe/1", "metricforge.registry/1"
FORMATS_HELP = (f"registry import reads JSON exports: {METRIC_FORMAT} or {RECIPE_FORMAT} (registry export NAME "
                f"--format json) or {REGISTRY_FORMAT} (registry export --all); to store a formula use: registry "
                "add \"FORMULA\"")


class ImportFileError(RegistryError, ValueError):
    """An import file that is not a valid registry export; nothing was written."""


def load(text: str | bytes) -> dict[str, Any]:
    """The top-level object of an export file, with a known format tag."""
    try:
        data = safe_json.loads(text)
    except safe_json.JSONInputError as exc:
        if "not valid JSON" in str(exc) and not str(text[:1] or "").lstrip().startswith(("{", "[")):
            raise ImportFileError(f"not a JSON file; {FORMATS_HELP}") from None
        raise ImportFileError(f"{exc}; {FORMATS_HELP}") from None
    tag = data.get("format") if isinstance(data, dict) else None
    if tag not in (METRIC_FORMAT, RECIPE_FORMAT, REGISTRY_FORMAT):
        raise ImportFileError(f"unknown format tag {str(tag)[:60]!r}; {FORMATS_HELP}")
    return data


def _field(entry: dict[str, Any], key: str, kinds: tuple[type, ...], *, null: bool = False,
           limit: int | None = None) -> Any:
    value = entry.get(key) if key in entry else ...
    if value is ...:
        raise ValueError(f"missing field {key!r}")
    if value is None and null:
        return None
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        raise ValueError(f"field {key!r} must be {' or '.join(k.__name__ for k in kinds)}"
                         f"{' or null' if null else ''}, not {type(value).__name__}")
    if limit is not None and isinstance(value, str) and len(value) > limit:
        raise ValueError(f"field {key!r} is {len(value)} characters; the limit is {limit}")
    return value


def _time(entry: dict[str, Any], key: str, null: bool = False) -> datetime | None:
    text = _field(entry, key, (str,), null=null, limit=64)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"field {key!r} is not an ISO date-time: {text[:40]!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _json_text(entry: dict[str, Any], key: str) -> str:
    text = _field(entry, key, (str,), limit=MAX_JSON_FIELD)
    if not isinstance(safe_json.loads(text), dict):
        raise ValueError(f"field {key!r} must hold a JSON object")
    return text


def _float(entry: dict[str, Any], key: str) -> float | None:
    value = _field(entry, key, (int, float, str), null=True)
    if isinstance(value, str):
        if value not in ("inf", "-inf"):
            raise ValueError(f"field {key!r} must be a number, null, 'inf' or '-inf'")
        return float(value)
    return None if value is None else float(value)


def check_metric(entry: dict[str, Any], need_operand: bool) -> dict[str, Any]:
    """A metric or recipe entry with its hash, canonical form, parts and derived fields recomputed from
    its text (stored parts, when the entry has them, must agree)."""
    from primitives.grammar import parse
    from primitives.metric import Metric, require_operand
    from primitives.recipe import Recipe, is_recipe_text

    text = _field(entry, "text", (str,), limit=MAX_FORMULA)
    if is_recipe_text(text):
        metric = Recipe.parse(text)
    else:
        tree = parse(text)
        metric = Recipe.of(Metric(require_operand(tree) if need_operand else tree))
    parts = metric.parts()
    found = {"hash": metric.hash, "canonical": metric.canonical, "score_hash": parts["score_hash"],
             "allocation": parts["alloc"], "unit": parts["unit"], "post": parts["post"]}
    for key, value in found.items():
        if key in entry and entry[key] != value:
            raise ValueError(f"{key} {str(entry[key])[:40]!r} does not match the formula's {value!r}")
    name = _field(entry, "name", (str,), null=True)
    return {**found, "text": metric.text, "rank_hash": metric.rank_hash,
            "operands": ",".join(sorted(metric.operands)), "complexity": metric.complexity,
            "name": None if name is None else check_name(name)}


def _run(entry: dict[str, Any]) -> dict[str, Any]:
    status = _field(entry, "status", (str,), limit=16)
    if status not in RUN_STATUSES:
        raise ValueError(f"status must be one of {', '.join(RUN_STATUSES)}")
    return {"id": _field(entry, "id", (str,), limit=MAX_RUN_ID), "name": _field(entry, "name", (str,), null=True, limit=MAX_LABEL),
            "task": _field(entry, "task", (str,), null=True, limit=64), "config": _json_text(entry, "config"),
            "seed": _field(entry, "seed", (int,), null=True), "status": status,
            "host": _field(entry, "host", (str,), null=True, limit=MAX_LABEL), "versions": _json_text(entry, "versions"),
            "started_at": _time(entry, "started_at"), "finished_at": _time(entry, "finished_at", null=True)}


def _evaluation(entry: dict[str, Any], metrics: set[str], runs: set[str]) -> dict[str, Any]:
    row = {"metric": _field(entry, "metric", (str,), limit=16), "run_id": _field(entry, "run_id", (str,), null=True),
           "settings": _json_text(entry, "settings"), "settings_key": _field(entry, "settings_key", (str,), limit=16),
           "score": _float(entry, "score"), "ok": _field(entry, "ok", (bool,)),
           "reason": _field(entry, "reason", (str,), null=True, limit=MAX_REASON),
           "wall_s": _float(entry, "wall_s"), "device": _field(entry, "device", (str,), null=True, limit=64),
           "versions": _json_text(entry, "versions"), "created_at": _time(entry, "created_at"),
           "sparsity": _float(entry, "sparsity"),
           "details": _json_text(entry, "details") if "details" in entry else "{}"}  # absent in older exports
    for key, limit in (("task", 64), ("model", MAX_LABEL), ("dataset", MAX_LABEL), ("granularity", 32), ("budget", MAX_LABEL)):
        row[key] = _field(entry, key, (str,), null=True, limit=limit)
    if row["metric"] not in metrics:
        raise ValueError(f"metric {row['metric']!r} is not among the file's metrics")
    if row["run_id"] is not None and row["run_id"] not in runs:
        raise ValueError(f"run {row['run_id'][:64]!r} is not among the file's runs")
    if settings_key(json.loads(row["settings"])) != row["settings_key"]:
        raise ValueError("settings_key does not match its settings")
    if row["score"] is not None and math.isnan(row["score"]):
        raise ValueError("score is NaN")
    return row


def _lineage(entry: dict[str, Any], metrics: set[str], runs: set[str]) -> dict[str, Any]:
    row = {"child": _field(entry, "child", (str,), limit=16), "parent": _field(entry, "parent", (str,), null=True),
           "operator": _field(entry, "operator", (str,), limit=64), "run_id": _field(entry, "run_id", (str,), null=True),
           "generation": _field(entry, "generation", (int,), null=True)}
    if row["child"] not in metrics or (row["parent"] is not None and row["parent"] not in metrics):
        raise ValueError("child or parent is not among the file's metrics")
    if row["run_id"] is not None and row["run_id"] not in runs:
        raise ValueError(f"run {row['run_id'][:64]!r} is not among the file's runs")
    return row


def _section(data: dict[str, Any], name: str, check: Callable[[dict[str, Any]], dict[str, Any]],
             unique: Callable[[dict[str, Any]], Any] | None = None) -> list[dict[str, Any]]:
    items = data.get(name)
    if not isinstance(items, list):
        raise ImportFileError(f"{name}: must be a list")
    rows, seen = [], set()
    for i, entry in enumerate(items):
        try:
            if not isinstance(entry, dict):
                raise ValueError("must be an object")
            row = check(entry)
            key = unique(row) if unique else None
            if key is not None and key in seen:
                raise ValueError(f"duplicate {key!r}")
            seen.add(key)
            if isinstance(entry.get("id"), int) and not isinstance(entry["id"], bool):
                row["id"] = entry["id"]
        except (ValueError, RegistryError) as exc:
            raise ImportFileError(f"{name}[{i}]: {str(exc).splitlines()[0][:300]}") from None
        rows.append(row)
    return rows


def check_registry(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every section of a metricforge.registry/1 file, validated (nothing is written)."""
    metrics = _section(data, "metrics", lambda e: {**check_metric(e, need_operand=False),
                                                   "created_at": _time(e, "created_at")}, lambda r: r["hash"])
    names = [m["name"] for m in metrics if m["name"] is not None]
    if len(names) != len(set(names)):
        raise ImportFileError("metrics: a name is used twice")
    runs = _section(data, "runs", _run, lambda r: r["id"])
    hashes, run_ids = {m["hash"] for m in metrics}, {r["id"] for r in runs}
    evaluations = _section(data, "evaluations", lambda e: _evaluation(e, hashes, run_ids))
    lineage = _section(data, "lineage", lambda e: _lineage(e, hashes, run_ids))
    for name, rows in (("metrics", metrics), ("runs", runs), ("evaluations", evaluations), ("lineage", lineage)):
        ids = [r["id"] for r in rows if "id" in r]
        if len(ids) != len(set(ids)):
            raise ImportFileError(f"{name}: an id is used twice")
    return {"metrics": metrics, "runs": runs, "evaluations": evaluations, "lineage": lineage}
