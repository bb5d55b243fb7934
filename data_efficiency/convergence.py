"""Ranking convergence: how many evaluation units before a ranking of metrics stops changing.

The input is a (metrics x units) matrix of per-unit outputs (token-window losses, per-sample
correctness, ...) and an ``aggregate`` turning a subset of units into one score per metric.
For each budget of n units the ranking on n units is compared with the ranking on all of them:
Spearman correlation and top-k agreement, for the leading n units (what a search with that
budget sees) and over seeded random subsets of n units (the spread, for a confidence bound).
The convergence point is the smallest budget from which every larger budget's lower bound meets
the thresholds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy.stats import spearmanr

EPS = 1e-9  # Spearman of one swap among 5 is 0.9 up to rounding
Aggregate = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (outputs, unit indices) -> score per metric


@dataclass(frozen=True)
class BudgetAgreement:
    """Agreement with the full ranking at one budget of units."""

    units: int
    spearman_leading: float
    topk_leading: float
    spearman_mean: float
    spearman_low: float  # the lower (1 - confidence) quantile over random subsets
    topk_mean: float
    topk_low: float


@dataclass
class RankingConvergence:
    """Agreement at every budget and the convergence point (None: not reached within the data)."""

    metrics: list[str]
    full_scores: list[float]
    direction: str
    k: int
    threshold: float
    topk_threshold: float
    confidence: float
    rows: list[BudgetAgreement] = field(default_factory=list)
    point: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {**{k: v for k, v in asdict(self).items() if k != "rows"}, "rows": [asdict(r) for r in self.rows]}


def order(scores: np.ndarray, direction: str) -> np.ndarray:
    """Metric indices best first (ties by index)."""
    key = -scores if direction == "max" else scores
    return np.lexsort((np.arange(len(scores)), key))


def agreement(scores: np.ndarray, reference: np.ndarray, direction: str, k: int) -> tuple[float, float]:
    """(Spearman correlation, share of the reference top-k also in the top-k) of two score vectors."""
    if np.allclose(scores, scores[0]) or np.allclose(reference, reference[0]):
        rho = 1.0 if np.array_equal(order(scores, direction), order(reference, direction)) else 0.0
    else:
        rho = float(spearmanr(scores, reference).statistic)
    top = set(order(scores, direction)[:k].tolist()) & set(order(reference, direction)[:k].tolist())
    return rho, len(top) / k


def ranking_convergence(outputs: np.ndarray, aggregate: Aggregate, budgets: Sequence[int], *, metrics: Sequence[str],
                        direction: str, k: int = 3, threshold: float = 0.9, topk_threshold: float = 2 / 3,
                        confidence: float = 0.9, resamples: int = 200, seed: int = 0) -> RankingConvergence:
    """Agreement of the ranking on n units with the ranking on all units, for each n in ``budgets``."""
    outputs = np.asarray(outputs)
    n_metrics, n_units = outputs.shape
    if n_metrics < 2 or len(metrics) != n_metrics:
        raise ValueError(f"need at least two metrics and one name per row, got {n_metrics} rows, {len(metrics)} names")
    if not budgets or min(budgets) < 1 or max(budgets) > n_units:
        raise ValueError(f"budgets must lie in [1, {n_units}] units, got {list(budgets)}")
    k = min(k, n_metrics)
    full = aggregate(outputs, np.arange(n_units))
    rng = np.random.default_rng(seed)
    result = RankingConvergence(list(metrics), full.tolist(), direction, k, threshold, topk_threshold, confidence)
    for n in sorted(set(int(b) for b in budgets)):
        rho_lead, top_lead = agreement(aggregate(outputs, np.arange(n)), full, direction, k)
        draws = [agreement(aggregate(outputs, rng.choice(n_units, n, replace=False)), full, direction, k)
                 for _ in range(resamples if n < n_units else 1)]
        rhos, tops = np.array([d[0] for d in draws]), np.array([d[1] for d in draws])
        q = 1.0 - confidence
        result.rows.append(BudgetAgreement(n, rho_lead, top_lead, float(rhos.mean()), float(np.quantile(rhos, q)),
                                           float(tops.mean()), float(np.quantile(tops, q))))
    result.point = convergence_point(result.rows, threshold, topk_threshold)
    return result


def convergence_point(rows: Sequence[BudgetAgreement], threshold: float, topk_threshold: float) -> int | None:
    """The smallest budget from which every budget's lower bounds meet both thresholds."""
    point = None
    for row in sorted(rows, key=lambda r: r.units, reverse=True):
        if row.spearman_low >= threshold - EPS and row.topk_low >= topk_threshold - EPS:
            point = row.units
        else:
            break
    return point


def mean_score(outputs: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean over the chosen units (accuracy from per-sample correctness)."""
    return outputs[:, idx].mean(axis=1)


def perplexity_score(outputs: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """exp(mean per-window loss) over the chosen windows (windows of equal length)."""
    with np.errstate(over="ignore"):
        return np.exp(outputs[:, idx].mean(axis=1))
