"""A run's evaluation history as a table: one row per evaluation, with lineage and identities.

``history_frame`` joins the run's registry records (every evaluation at every budget, every
lineage edge) with the run cache (the generation each metric class was first seen, invalid
candidates), so the table is the same after a resume as after an uninterrupted run.
``write_progress`` writes ``results/history.csv``, the equations table and both plots; the
loop calls it after every generation.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    import pandas as pd

    from gp_engine.cache import FitnessCache

log = logging.getLogger(__name__)

PROGRESS_FILES = ("history.csv", "equations.csv", "equations.md", "fitness.png", "pareto.png", "progress.json")
COLUMNS = ("generation", "formula", "hash", "rank_hash", "fitness", "budget", "complexity", "wall_s",
           "status", "reason", "operator", "parents")


def metric_rows(registry: Any, hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Canonical text, rank hash and complexity of stored metrics, by hash (one query)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from registry.models import Metric

    wanted = sorted(set(hashes))
    found: dict[str, dict[str, Any]] = {}
    with Session(registry.engine) as session:
        for start in range(0, len(wanted), 500):
            stmt = select(Metric.hash, Metric.canonical, Metric.rank_hash, Metric.complexity, Metric.name) \
                .where(Metric.hash.in_(wanted[start:start + 500]))
            for h, canonical, rank_hash, complexity, name in session.execute(stmt):
                found[h] = {"canonical": canonical, "rank_hash": rank_hash, "complexity": complexity, "name": name}
    return found


def history_frame(registry: Any, run_id: str, cache: FitnessCache) -> pd.DataFrame:
    """Every evaluation of the run (oldest first), then its invalid candidates, as a DataFrame."""
    import pandas as pd

    record = registry.history(run_id)
    parents: dict[str, tuple[str, list[str], int | None]] = {}
    for edge in record.lineage:  # the first way a metric was made in this run
        op, found, gen = parents.setdefault(edge.child_hash, (edge.operator, [], edge.generation))
        if op == edge.operator and gen == edge.generation and edge.parent_hash and len(found) < 2:
            found.append(edge.parent_hash)
    generation = {e.hash: e.generation for e in cache}
    info = metric_rows(registry, [e.metric_hash for e in record.evaluations] + list(parents))
    rows: list[dict[str, Any]] = []
    for ev in record.evaluations:
        meta = info.get(ev.metric_hash, {})
        op, made_from, gen = parents.get(ev.metric_hash, ("", [], None))
        rows.append({"generation": generation.get(ev.metric_hash, gen), "formula": meta.get("canonical"),
                     "hash": ev.metric_hash, "rank_hash": meta.get("rank_hash"), "fitness": ev.score,
                     "budget": ev.budget or "full", "complexity": meta.get("complexity"), "wall_s": ev.wall_s,
                     "status": "ok" if ev.ok else "failed", "reason": ev.reason, "operator": op,
                     "parents": " ".join(made_from)})
    for e in cache:
        if e.source == "invalid":
            rows.append({"generation": e.generation, "formula": e.canonical, "hash": None, "rank_hash": None,
                         "fitness": None, "budget": None, "complexity": None, "wall_s": None,
                         "status": "invalid", "reason": e.reason, "operator": "", "parents": ""})
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype({"generation": "Int64", "complexity": "Int64"})


def rank_classes(registry: Any, run_id: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Formulas of every metric the run made or scored, grouped by rank hash (simplest first),
    and the rank hash of each of their hashes."""
    record = registry.history(run_id)
    hashes = {e.metric_hash for e in record.evaluations} | {e.child_hash for e in record.lineage}
    classes: dict[str, list[tuple[int, str]]] = {}
    rank_of: dict[str, str] = {}
    for h, meta in metric_rows(registry, hashes).items():
        rank_of[h] = meta["rank_hash"]
        classes.setdefault(meta["rank_hash"], []).append((meta["complexity"], meta["canonical"]))
    return {k: [text for _, text in sorted(set(v))] for k, v in classes.items()}, rank_of


def baseline_scores(registry: Any, settings_key: str, operands: Iterable[str]) -> dict[str, float]:
    """Built-in metrics scored under these settings (those the task's operands allow), by name."""
    from primitives.builtins import BUILTINS, builtin

    allowed, scores = set(operands), {}
    for name in BUILTINS:
        metric = builtin(name)
        if not set(metric.operands) <= allowed:
            continue
        row = registry.find_evaluation(metric.hash, settings_key)
        if row is not None and row.ok and row.score is not None:
            scores[name] = float(row.score)
    return scores


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write a DataFrame as CSV through a temporary file, so readers never see half a table."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def write_progress(out_dir: Path, registry: Any, run_id: str, cache: FitnessCache, direction: str,
                   generations: Sequence[Mapping[str, Any]], settings_key: str,
                   operands: Iterable[str]) -> dict[str, Path]:
    """history.csv, equations.csv/.md, fitness.png, pareto.png and progress.json (direction, per-generation
    statistics, built-in baselines) of a run, current to this generation."""
    from gp_engine.checkpoint import write_json_atomic
    from gp_engine.equations import equations_frame, equations_markdown
    from gp_engine.plots import plot_fitness, plot_pareto
    from gp_engine.results import pareto_front

    out_dir.mkdir(parents=True, exist_ok=True)
    entries = cache.full()
    history = history_frame(registry, run_id, cache)
    table = equations_frame(pareto_front(entries, direction), *rank_classes(registry, run_id), direction)
    paths = {"history.csv": write_csv_atomic(history, out_dir / "history.csv"),
             "equations.csv": write_csv_atomic(table, out_dir / "equations.csv")}
    md = out_dir / "equations.md"
    md.with_suffix(".md.tmp").write_text(equations_markdown(table, direction), encoding="utf-8")
    md.with_suffix(".md.tmp").replace(md)
    paths["equations.md"] = md
    baselines = baseline_scores(registry, settings_key, operands)
    paths["progress.json"] = out_dir / "progress.json"
    write_json_atomic(paths["progress.json"], {"direction": direction, "settings_key": settings_key,
                                               "generations": list(generations), "baselines": baselines})
    paths["fitness.png"] = plot_fitness(generations, baselines, direction, out_dir / "fitness.png")
    paths["pareto.png"] = plot_pareto(entries, pareto_front(entries, direction), direction, out_dir / "pareto.png")
    return paths
