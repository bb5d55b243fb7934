"""Calibration convergence: how many calibration windows before a ranking of metrics settles.

Each (windows, seed) pair computes the operands anew from its own calibration draw and scores
every metric at a fixed evaluation budget; rankings are compared with the largest size's.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from data_efficiency.convergence import EPS, agreement

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalibrationRow:
    """Agreement of one calibration draw's ranking with the reference (largest size, first seed)."""

    windows: int
    seed: int
    spearman: float
    topk: float
    scores: list[float]


@dataclass
class CalibrationConvergence:
    """Rows per (windows, seed) and the smallest size whose every seed (and every larger size) agrees."""

    metrics: list[str]
    reference_windows: int
    threshold: float
    topk_threshold: float
    k: int
    rows: list[CalibrationRow] = field(default_factory=list)
    point: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {**{k: v for k, v in asdict(self).items() if k != "rows"}, "rows": [asdict(r) for r in self.rows]}


def calibration_convergence(make_task: Callable[[int, int], Any], metrics: Sequence[Any], names: Sequence[str],
                            sizes: Sequence[int], seeds: Sequence[int], *, k: int = 3, threshold: float = 0.9,
                            topk_threshold: float = 2 / 3) -> CalibrationConvergence:
    """Score every metric for each calibration size and seed; ``make_task(windows, seed)`` builds the task."""
    sizes, seeds = sorted(set(int(s) for s in sizes)), list(dict.fromkeys(int(s) for s in seeds))
    if len(metrics) < 2 or not sizes or not seeds:
        raise ValueError("need at least two metrics, one calibration size and one seed")
    k = min(k, len(metrics))
    draws = [(sizes[-1], seeds[0])] + [(n, s) for n in reversed(sizes) for s in seeds if (n, s) != (sizes[-1], seeds[0])]
    scores: dict[tuple[int, int], np.ndarray] = {}
    direction = "min"
    for windows, seed in draws:
        task = make_task(windows, seed)
        direction = task.direction
        scores[(windows, seed)] = np.array([task.score(m).value for m in metrics], dtype=np.float64)
        log.info("calibration %d windows, seed %d: %s", windows, seed, np.round(scores[(windows, seed)], 3).tolist())
    reference = scores[(sizes[-1], seeds[0])]
    result = CalibrationConvergence(list(names), sizes[-1], threshold, topk_threshold, k)
    for windows, seed in sorted(scores):
        rho, top = agreement(np.nan_to_num(scores[(windows, seed)], posinf=1e30), np.nan_to_num(reference, posinf=1e30),
                             direction, k)
        result.rows.append(CalibrationRow(windows, seed, rho, top, scores[(windows, seed)].tolist()))
    for windows in reversed(sizes):
        rows = [r for r in result.rows if r.windows == windows and (windows, r.seed) != (sizes[-1], seeds[0])]
        if all(r.spearman >= threshold - EPS and r.topk >= topk_threshold - EPS for r in rows):
            result.point = windows
        else:
            break
    return result
