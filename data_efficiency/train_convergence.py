"""How much recommender training data is enough: validation AUC against training-data fraction, and its plateau.

``training_convergence`` trains a fresh model on a downsample of MovieLens-100k's training rows at
each fraction and seed (``recsys_point.train_point``) and applies the plateau-window test
(``plateau.plateau``) to the seed-paired validation AUCs. ``write_report`` writes the table and plot.
"""
from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from data_efficiency.downsample import STRATEGIES, check_rate
from data_efficiency.plateau import check_settings, plateau
from data_efficiency.recsys_point import RunSettings, train_point
from data_efficiency.recsys_rows import load_rows
from data_efficiency.train_report import write_report
from evaluators.recsys.config import DataConfig
from evaluators.recsys.models import MODELS, ModelConfig
from reporting.json_safe import json_safe

__all__ = ["TrainingConvergence", "default_split", "training_convergence", "write_report"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConvergence:
    """The measured rows (one per fraction and seed), the settings and the convergence point.

    ``point`` is the smallest requested fraction after which no AUC gain over the next ``window``
    fractions has a lower confidence bound of ``tolerance`` or more; None when no fraction before
    the last qualifies. ``gain_lcb[i]`` is the largest such bound seen from fraction i.
    """

    strategy: str
    model: str
    split: str
    fractions: tuple[float, ...]
    seeds: tuple[int, ...]
    tolerance: float
    window: int
    confidence: float
    rows: list[dict[str, Any]]
    point: float | None
    gain_lcb: tuple[float, ...]
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> list[dict[str, Any]]:
        """Per fraction: kept share of the rows, validation and test AUC mean and std over the seeds."""
        out = []
        for fraction, bound in zip(self.fractions, self.gain_lcb):
            members = [r for r in self.rows if r["rate"] == fraction]
            entry: dict[str, Any] = {"rate": fraction, "kept": statistics.fmean(r["fraction"] for r in members),
                                     "seeds": len(members), "gain_lcb": bound}
            for key in ("auc", "test_auc", "logloss"):
                values = [r[key] for r in members]
                entry[f"{key}_mean"] = statistics.fmean(values)
                entry[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
            out.append(entry)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN, such as the last point's gain bound, as None)."""
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> "TrainingConvergence":
        """The result back from ``to_dict`` (JSON)."""
        return cls(**{**saved, "fractions": tuple(saved["fractions"]), "seeds": tuple(saved["seeds"]),
                      "gain_lcb": tuple(math.nan if b is None else b for b in saved["gain_lcb"])})


def default_split(strategy: str) -> str:
    """The time split for time-decay (recency only matters when validation comes later), random otherwise."""
    return "time" if strategy == "time-decay" else "random"


def _checked(fractions: Sequence[float], seeds: Sequence[int], strategy: str, model: str) -> tuple[float, ...]:
    """Sorted, distinct fractions; ValueError for a bad fraction, strategy, model or an empty list."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: expected one of {', '.join(MODELS)}")
    if not fractions or not seeds:
        raise ValueError("need at least one fraction and one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {list(seeds)}")
    return tuple(sorted({check_rate(f) for f in fractions}))


def training_convergence(fractions: Sequence[float], seeds: Sequence[int], strategy: str = "uniform",
                         model: str = "deepfm", tolerance: float = 0.002, window: int = 2, *,
                         split: str | None = None, run: RunSettings = RunSettings(),
                         confidence: float = 0.95) -> TrainingConvergence:
    """Validation AUC of ``model`` trained on ``strategy``-downsampled MovieLens-100k at each fraction x seed.

    fractions: keep rates in (0, 1] (for ``negatives``, the rate of the negatives; every positive
    stays). seeds: each fixes the split, the sample, the initialisation and the batch order.
    tolerance: AUC gain (absolute) below which more data does not count as helping. window: how
    many larger fractions each point is compared with. split: ``default_split(strategy)`` when None.
    run: steps, batch, learning rate, validation checks and time-decay's tau (``RunSettings``).
    Returns the rows, ``.summary()`` per fraction and ``.point`` (None: still gaining at the end).
    """
    grid = _checked(fractions, seeds, strategy, model)
    check_settings(tolerance, window, confidence)
    split = default_split(strategy) if split is None else DataConfig(split=split).split
    cfg = ModelConfig(model)
    rows = []
    for seed in seeds:
        data, timestamp = load_rows(split, seed)
        for fraction in grid:
            rows.append(train_point(data, timestamp, strategy, fraction, seed, cfg, run))
    auc = np.array([[next(r["auc"] for r in rows if r["rate"] == f and r["seed"] == s) for s in seeds]
                    for f in grid])
    found = plateau(grid, auc, tolerance, window, confidence)
    log.info("%s %s (%s split): convergence point %s", model, strategy, split,
             "none before the last fraction" if found.point is None else f"{found.point:g}")
    return TrainingConvergence(strategy, model, split, grid, tuple(seeds), tolerance, window, confidence, rows,
                               found.point, found.gain_lcb, {"run": asdict(run), "model": cfg.to_dict()})
