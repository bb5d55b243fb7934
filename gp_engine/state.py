"""Pieces of the loop's state: the dedup mode, per-generation stats, population restore, results."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from gp_engine.cache import CacheEntry, FitnessCache
from gp_engine.checkpoint import CheckpointError, encode_float
from gp_engine.pset import PsetError
from gp_engine.candidates import Counts
from gp_engine.variation import Individual, Variation
from gp_engine.genome import Genome
from primitives.grammar import MetricSyntaxError, parse
from primitives.tree import to_text

WITHIN_LAYER = ("row", "layer")


def resolve_dedup(mode: str, settings: Mapping[str, Any]) -> str:
    """"auto" -> "rank" when the comparison group lies inside one layer (row, layer, N:M), else "hash"."""
    if mode != "auto":
        return mode
    group = str(settings.get("granularity", settings.get("group", ""))).strip().lower()
    within = group in WITHIN_LAYER or (":" in group and all(p.strip().isdigit() for p in group.split(":")))
    return "rank" if within else "hash"


@dataclass
class SearchResult:
    """What a finished (or continued) run produced."""

    run_id: str
    run_dir: Path
    generation: int
    counters: dict[str, int]
    hall_of_fame: list[CacheEntry]
    pareto: list[CacheEntry]
    paths: dict[str, Path]
    settings_key: str
    registry_url: str
    validation: Any = None  # gp_engine.heldout.Validation when the [validate] table asked for one


def generation_stats(generation: int, population: list[Individual], cache: FitnessCache, counts: Counts,
                     wall_s: float, direction: str) -> dict[str, Any]:
    """One JSON-ready line of progress for a generation."""
    entries = [cache[ind.key] for ind in population if ind.key is not None]
    ok = [e for e in entries if e.ok and e.full]  # values of reduced budgets are not comparable
    sign = -1.0 if direction == "max" else 1.0
    best = min(ok, key=lambda e: (sign * e.value, e.complexity, e.hash)) if ok else None
    return {
        "generation": generation,
        "best": encode_float(best.value) if best else None,
        "best_hash": best.hash if best else None,
        "best_canonical": best.canonical if best else None,
        "mean": encode_float(sum(e.value for e in ok) / len(ok)) if ok else None,
        "median": encode_float(statistics.median(e.value for e in ok)) if ok else None,
        "unique": len({ind.key for ind in population}),
        "evaluated": counts.evaluated, "skipped_cache": counts.skipped_cache,
        "skipped_registry": counts.skipped_registry, "failed": counts.failed, "invalid": counts.invalid,
        "restored": counts.restored,
        "eval_s": round(counts.eval_s, 4), "wall_s": round(wall_s, 4),
        "s_per_eval": round(counts.eval_s / counts.evaluated, 4) if counts.evaluated else 0.0,
        "by_budget": {k: {"evaluated": int(v["evaluated"]), "eval_s": round(v["eval_s"], 3)}
                      for k, v in counts.by_budget.items()},
    }


def population_json(population: list[Individual], variation: Variation) -> list[dict[str, Any]]:
    """The population as checkpoint JSON: each individual's tree as text (``text``; with several
    parts, ``trees``: text by part), key and post step (when it carries one)."""
    items = []
    for ind in population:
        texts = {part: to_text(node) for part, node in zip(variation.parts, variation.nodes(ind))}
        trees = {"text": texts[variation.parts[0]]} if len(texts) == 1 else {"trees": texts}
        items.append({**trees, "key": ind.key, **({"post": ind.post} if ind.post is not None else {})})
    return items


def restore_population(items: Any, variation: Variation, cache: FitnessCache, dedup: str,
                       levels: Mapping[str | None, int], genome: Genome = Genome()) -> list[Individual]:
    """Individuals from checkpoint text (our grammar), with fitness from the cache; keys re-checked."""
    if not isinstance(items, list) or not items:
        raise CheckpointError("checkpoint has no population")
    from gp_engine.fidelity import selection_values

    population: list[Individual] = []
    for item in items:
        try:
            key = str(item["key"])
            texts = [str(item["trees"][part]) for part in variation.parts] if len(variation.parts) > 1 \
                else [str(item["text"])]
            text = "; ".join(texts)
            post = None if item.get("post") is None else str(item["post"])
            trees = tuple(parse(t, mp.operands) for t, mp in zip(texts, variation.psets))
            ind = variation.individual(trees, post)
        except (KeyError, TypeError, MetricSyntaxError, PsetError) as exc:
            raise CheckpointError(f"bad population entry in checkpoint: {exc}") from None
        if key not in cache:
            raise CheckpointError(f"population entry {text!r} has no cached fitness")
        if not key.startswith("invalid:"):
            ind.metric = genome.entry(trees, post)
            if key not in (ind.metric.hash, ind.metric.rank_hash if dedup == "rank" else None):  # rank: older checkpoints
                raise CheckpointError(f"population entry {text!r} does not match its key {key}")
        ind.key = key
        ind.fitness.values = selection_values(cache[key], dict(levels), variation.direction)
        population.append(ind)
    return population
