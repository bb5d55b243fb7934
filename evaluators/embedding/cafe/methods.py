"""The embedding methods of the CAFE study by name, built for a CTR data set's field layout.

``build_embedding("cafe", data, ...)`` gives a drop-in for the model's ``embeddings``; a method that
cannot exist at a ratio (quotient-remainder or CAFE on a tiny budget) raises ValueError.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from evaluators.embedding.cafe.base import CompressedEmbedding
from evaluators.embedding.cafe.budget import check_fraction
from evaluators.embedding.cafe.cafe_embedding import CAFEEmbedding
from evaluators.embedding.cafe.compressed import FrequencyEmbedding, FullEmbedding, HashEmbedding, QREmbedding
from evaluators.embedding.cafe.layout import FieldLayout
from evaluators.embedding.cafe.metric_importance import check_importance

METHODS = ("full", "hash", "qr", "frequency", "cafe", "cafe-ml")
# CAFE's threshold for MovieLens-100k with mean-1 gradient-norm scores (a 512-row batch inserts ~4096).
# benchmarks/cafe/threshold.md: at T = 100, 612 ids occur >= T times in the training split, about the
# hot capacity at ratio 0.5 (462 rows), and the hot rows of every ratio are all taken within half an
# epoch; test AUC moves <= 0.0021 over T in [1, 2000]. The sketch decays per 10*B*T of inserted score, so
# T sets how much evidence earns a row, not which ids stay hot (almost nothing is evicted at any T).
DEFAULT_THRESHOLD = 100.0


def check_methods(methods: tuple[str, ...]) -> tuple[str, ...]:
    """The method names, each known and none repeated; ValueError otherwise."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}: expected one of {', '.join(METHODS)}")
    if not methods or len(set(methods)) != len(methods):
        raise ValueError(f"give each method once, at least one: got {', '.join(methods) or 'none'}")
    return tuple(methods)


@dataclass(frozen=True)
class MethodOptions:
    """Settings shared by the hot/cold methods: CAFE's threshold, importance source (a built-in name or a
    formula over the occurrence operands) and sketch decay period, the hot share of the budget.

    ``decay_every`` is the inserted score per decay (x0.99) of the sketch; None couples it to the
    threshold as CAFE does (10 x buckets x T)."""

    threshold: float = DEFAULT_THRESHOLD
    hot_fraction: float = 0.5
    importance: str = "grad-norm"
    decay_every: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not (float(self.threshold) > 0 and float(self.threshold) < float("inf")):
            raise ValueError(f"threshold must be a finite number > 0, got {self.threshold!r}")
        check_fraction("hot_fraction", self.hot_fraction)
        check_importance(self.importance)
        if self.decay_every is not None and not (0 < float(self.decay_every) < float("inf")):
            raise ValueError(f"decay_every must be a finite number > 0 or None, got {self.decay_every!r}")


def train_counts(data: Any) -> torch.Tensor:
    """Occurrences of every global id in the training split (the frequency baseline's offline counts)."""
    layout = FieldLayout(tuple(data.fields), tuple(data.cardinalities), int(data.bag_cardinality))
    return layout.counts(data.train.x, data.train.bag)


def build_embedding(method: str, data: Any, dim: int, std: float, ratio: float, seed: int,
                    options: MethodOptions = MethodOptions(), counts: torch.Tensor | None = None
                    ) -> CompressedEmbedding:
    """The method's module for data's layout within ``ratio`` of the full table (``full`` ignores it).

    Hash functions are seeded by ``seed``; ``counts`` (default: ``train_counts(data)``) feed ``frequency``."""
    layout = (tuple(data.fields), tuple(data.cardinalities), int(data.bag_cardinality))
    check_methods((method,))
    if method == "full":
        return FullEmbedding(*layout, dim, std)
    if method == "hash":
        return HashEmbedding(*layout, dim, std, ratio=ratio, seed=seed)
    if method == "qr":
        return QREmbedding(*layout, dim, std, ratio=ratio)
    if method == "frequency":
        counts = train_counts(data) if counts is None else counts
        return FrequencyEmbedding(*layout, dim, std, ratio=ratio, counts=counts,
                                  hot_fraction=options.hot_fraction, seed=seed)
    return CAFEEmbedding(*layout, dim, std, ratio=ratio, hot_fraction=options.hot_fraction,
                         threshold=float(options.threshold), multi_level=method == "cafe-ml",
                         decay_every=options.decay_every, seed=seed)
