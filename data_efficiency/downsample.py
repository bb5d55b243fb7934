"""Downsampling strategies for CTR training rows: which rows to keep and with what loss weight.

Each strategy maps a target keep rate ``r`` in (0, 1] and a seed to a ``Sample`` (sorted row
indices, per-row loss weights, the realised keep rate of what was thinned). ``uniform`` keeps
exactly round(r n) rows; ``negatives`` keeps every positive and exactly round(r n_neg) negatives,
weighted by the inverse of the realised rate; ``time-decay`` keeps row i with probability
min(1, c exp(-age_i / tau)), c solved so the expected kept count is r n.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

STRATEGIES = ("uniform", "negatives", "time-decay")
DAY_S = 86400.0
DEFAULT_TAU_DAYS = 30.0


@dataclass(frozen=True)
class Sample:
    """Kept rows (sorted indices), their loss weights (None: all 1) and the realised keep rate.

    ``rate`` is the kept share of the rows the strategy thins: all rows for uniform and time-decay,
    the negatives for ``negatives`` (whose logits the calibration correction shifts by log rate).
    """

    index: np.ndarray
    weight: np.ndarray | None
    rate: float

    def fraction(self, rows: int) -> float:
        """Kept share of all ``rows`` training rows."""
        return len(self.index) / rows


def check_rate(rate: float) -> float:
    """The rate as a float; ValueError unless it is in (0, 1]."""
    if not (isinstance(rate, (int, float)) and 0.0 < float(rate) <= 1.0):
        raise ValueError(f"keep fraction must be in (0, 1], got {rate!r}")
    return float(rate)


def uniform(rows: int, rate: float, seed: int) -> Sample:
    """Exactly round(rate x rows) rows (at least one), chosen uniformly without replacement."""
    k = max(1, round(check_rate(rate) * rows))
    index = np.sort(np.random.default_rng(seed).permutation(rows)[:k])
    return Sample(index, None, k / rows)


def negatives(y: np.ndarray, rate: float, seed: int) -> Sample:
    """Every positive and round(rate x negatives) negatives (at least one), the latter weighted n_neg / kept.

    The weight is the inverse of the realised rate, so the weighted loss is an unbiased estimate of
    the full-data loss.
    """
    rate = check_rate(rate)
    neg = np.flatnonzero(np.asarray(y) < 0.5)
    if len(neg) == 0:
        raise ValueError("negative downsampling needs at least one negative row")
    k = max(1, round(rate * len(neg)))
    kept_neg = np.random.default_rng(seed).permutation(neg)[:k]
    index = np.sort(np.concatenate([np.flatnonzero(np.asarray(y) >= 0.5), kept_neg]))
    realised = k / len(neg)
    weight = np.where(np.asarray(y)[index] < 0.5, 1.0 / realised, 1.0)
    return Sample(index, weight, realised)


def decay_probabilities(age: np.ndarray, rate: float, tau: float) -> np.ndarray:
    """Keep probabilities min(1, c exp(-age / tau)) whose mean is rate (c found by bisection on log c)."""
    rate = check_rate(rate)
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau!r}")
    if rate == 1.0:
        return np.ones(len(age))
    log_base = -(np.asarray(age, dtype=float) - np.min(age)) / tau  # <= 0; the newest row has log_base 0
    lo, hi = math.log(rate), math.log(rate) - float(log_base.min()) + 1.0  # mean(p) <= rate at lo, >= rate at hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.minimum(1.0, np.exp(log_base + mid)).mean() < rate:
            lo = mid
        else:
            hi = mid
    return np.minimum(1.0, np.exp(log_base + hi))


def time_decay(timestamp: np.ndarray, rate: float, seed: int, tau_days: float = DEFAULT_TAU_DAYS) -> Sample:
    """Keep each row with probability proportional to exp(-age / tau) (capped at 1), age = newest time - its time.

    The probabilities average to rate, so the kept count is rate x rows in expectation (Bernoulli draws).
    """
    age = (np.max(timestamp) - np.asarray(timestamp, dtype=float)) / DAY_S
    p = decay_probabilities(age, rate, tau_days)
    index = np.flatnonzero(np.random.default_rng(seed).random(len(p)) < p)
    if len(index) == 0:
        index = np.array([int(np.argmax(p))])
    return Sample(index, None, len(index) / len(p))


def downsample(strategy: str, y: np.ndarray, timestamp: np.ndarray, rate: float, seed: int,
               tau_days: float = DEFAULT_TAU_DAYS) -> Sample:
    """The named strategy applied to training rows with labels y and timestamps (seconds)."""
    if strategy == "uniform":
        return uniform(len(y), rate, seed)
    if strategy == "negatives":
        return negatives(y, rate, seed)
    if strategy == "time-decay":
        return time_decay(timestamp, rate, seed, tau_days)
    raise ValueError(f"unknown strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}")


def corrected_logits(logits: np.ndarray, rate: float) -> np.ndarray:
    """Undo negative downsampling at rate r in an unweighted model: p -> p / (p + (1 - p) / r), i.e. logit + log r."""
    return logits + math.log(check_rate(rate))
