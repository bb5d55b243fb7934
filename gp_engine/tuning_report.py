"""What a tuning study produced: one row per trial, and the best settings as a search config file."""
from __future__ import annotations

import json
import math
import re
from typing import Any, Mapping

from gp_engine.config import SearchConfig

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
FIRST_KEYS = ("task", "population", "generations", "cxpb", "mutpb", "tournament", "elite")


def trial_rows(study: Any) -> list[dict[str, Any]]:
    """Number, state, value, settings and scoring totals of every trial, in order."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        runs = t.user_attrs.get("runs", [])
        rows.append({
            "number": t.number, "state": t.state.name.lower(), "value": t.value,
            "last_step": t.last_step, "params": dict(t.params),
            "baseline": bool(t.user_attrs.get("baseline")), "retry_of": t.user_attrs.get("retry_of"),
            "scored": sum(r.get("scored", 0) for r in runs),
            "evaluated": sum(r.get("evaluated", 0) for r in runs),
            "from_registry": sum(r.get("from_registry", 0) for r in runs),
            "seeds_done": sum(1 for r in runs if not r.get("stopped")),
            "wall_s": round((t.duration.total_seconds() if t.duration else 0.0), 1), "runs": runs,
        })
    return rows


def mean_generations(trial: Any) -> int | None:
    """The mean last generation over a trial's finished runs (None without any)."""
    gens = [r["generation"] for r in trial.user_attrs.get("runs", []) if "generation" in r]
    return round(sum(gens) / len(gens)) if gens else None


def _value(value: Any) -> str:
    """One TOML value: booleans, numbers, strings, arrays and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as TOML")


def _key(key: str) -> str:
    return key if BARE_KEY.match(key) else json.dumps(key)


def config_toml(config: SearchConfig, header: str = "") -> str:
    """A config file for ``metricforge search --config``: the task, the tuned settings, every other
    setting that differs from the defaults, and the task options (the seed is left to the command)."""
    data, default = config.to_dict(), SearchConfig().to_dict()
    keys = [k for k in FIRST_KEYS if k in data]
    keys += [k for k in data if k not in keys and k not in ("seed", "task_options") and data[k] != default[k]]
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += [f"{_key(k)} = {_value(data[k])}" for k in keys if data[k] is not None]
    if config.task_options:
        lines += ["", "[task_options]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in config.task_options.items() if v is not None]
    return "\n".join(lines) + "\n"
