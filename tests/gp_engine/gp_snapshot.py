"""Comparable snapshots of a run: final state and registry contents, without times or ids."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from registry import Registry

TIMING = ("eval_s", "wall_s", "s_per_eval", "restored")


def run_state(run_dir: Path) -> dict[str, Any]:
    """Population, cache, counters and history of the last checkpoint (timings dropped)."""
    data = json.loads((Path(run_dir) / "checkpoint.json").read_text())
    cache = {e["key"]: (e["hash"], e["value"], e["ok"], e["reason"], e["source"], e["generation"])
             for e in data["cache"]}
    history = [{k: ({b: t["evaluated"] for b, t in v.items()} if k == "by_budget" else v)
                for k, v in h.items() if k not in TIMING} for h in data["history"]]
    return {"generation": data["generation"], "population": data["population"], "cache": cache,
            "counters": data["counters"], "history": history, "rng": data["rng"]["random"]}


def registry_state(url: str, run_dir: Path) -> dict[str, Any]:
    """Evaluations per metric hash (with scores) and lineage edges of the run in ``run_dir``."""
    run_id = json.loads((Path(run_dir) / "config.json").read_text())["run_id"]
    with Registry.open(url) as reg:
        hist = reg.history(run_id)
    evals = Counter((e.metric_hash, e.score, e.ok, e.reason) for e in hist.evaluations)
    lineage = Counter((l.child_hash, l.parent_hash, l.operator, l.generation) for l in hist.lineage)
    return {"evaluations": evals, "lineage": lineage}


def assert_no_duplicates(url: str, run_dir: Path) -> None:
    """Every metric hash evaluated at most once by the run."""
    evals = registry_state(url, run_dir)["evaluations"]
    per_hash = Counter(h for (h, *_), n in evals.items() for _ in range(n))
    dups = {h: n for h, n in per_hash.items() if n > 1}
    assert not dups, f"duplicate evaluations: {dups}"
