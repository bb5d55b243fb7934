"""Mean and spread over seeds, as every study report tabulates them."""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    values = [float(v) for v in values]
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize_seeds(members: Sequence[dict[str, Any]], means: Sequence[str]) -> dict[str, Any]:
    """Seeds, AUC and log-loss mean/std, and the mean of each named field present in every member."""
    out: dict[str, Any] = {"seeds": sorted(r["seed"] for r in members)}
    for name in ("auc", "logloss"):
        out[f"{name}_mean"], out[f"{name}_std"] = mean_std([r[name] for r in members])
    for name in means:
        if all(name in r for r in members):
            out[name] = statistics.fmean(float(r[name]) for r in members)
    return out
