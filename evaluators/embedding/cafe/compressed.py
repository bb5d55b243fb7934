"""Baseline embeddings under a memory ratio: the full table, the hashing trick, quotient-remainder
(Shi et al. 2020) and offline frequency separation (top-k frequent features own rows, others hash).

Every class is built as ``Cls(fields, cardinalities, bag_cardinality, dim, std, ratio=..., ...)``
and called as ``FieldEmbeddings``: ``forward(x, bag) -> (n, count, dim)``."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from evaluators.embedding.cafe.base import CompressedEmbedding, normal_table
from evaluators.embedding.cafe.budget import check_fraction
from evaluators.embedding.cafe.hashing import SeededHash

ID_FLOATS = 2  # an int64 id stored next to a hot row costs two float32 equivalents


class FullEmbedding(CompressedEmbedding):
    """The uncompressed table: one row per global id (ratio 1), the reference of the others."""

    def __init__(self, fields: tuple[str, ...], cardinalities: tuple[int, ...], bag_cardinality: int,
                 dim: int, std: float = 0.05) -> None:
        super().__init__(fields, cardinalities, bag_cardinality, dim, 1.0)
        self.table = normal_table(self.num_features, dim, std)

    def _embed(self, ids: Tensor) -> Tensor:
        return self.table(ids)


class HashEmbedding(CompressedEmbedding):
    """The hashing trick: every id uses row ``hash(id) mod R``; R = budget // dim rows."""

    def __init__(self, fields: tuple[str, ...], cardinalities: tuple[int, ...], bag_cardinality: int,
                 dim: int, std: float = 0.05, *, ratio: float, seed: int = 0) -> None:
        super().__init__(fields, cardinalities, bag_cardinality, dim, ratio)
        self.hash = SeededHash(self.budget_floats // dim, seed)
        self.table = normal_table(self.hash.rows, dim, std)

    def _embed(self, ids: Tensor) -> Tensor:
        return self.table(self.hash(ids))


def qr_rows(features: int, rows: int) -> int:
    """The largest remainder size R <= features with ceil(features / R) + R <= rows (the budget in rows):
    the same as R * (rows - R) >= features. ValueError when no R fits (rows < ~2 sqrt(features))."""
    disc = rows * rows - 4 * features
    if disc < 0:
        raise ValueError(f"budget too small for quotient-remainder: {rows} rows, need at least "
                         f"{math.isqrt(4 * features - 1) + 1} for {features} features")
    r = min((rows + math.isqrt(disc)) // 2, features)
    while r > 0 and r * (rows - r) < features:
        r -= 1
    while r + 1 <= features and (r + 1) * (rows - r - 1) >= features:
        r += 1
    if r < 1:
        raise ValueError(f"budget too small for quotient-remainder: {rows} rows for {features} features")
    return r


class QREmbedding(CompressedEmbedding):
    """Quotient-remainder trick: id -> quotient[id // R] * remainder[id % R] (element-wise).

    The (quotient, remainder) pair of each id is unique, so distinct ids get distinct vectors. R is
    the largest that fits the budget. Both tables start N(0, sqrt(std)) so products have scale ~std."""

    def __init__(self, fields: tuple[str, ...], cardinalities: tuple[int, ...], bag_cardinality: int,
                 dim: int, std: float = 0.05, *, ratio: float) -> None:
        super().__init__(fields, cardinalities, bag_cardinality, dim, ratio)
        self.remainder_rows = qr_rows(self.num_features, self.budget_floats // dim)
        self.quotient = normal_table(-(-self.num_features // self.remainder_rows), dim, math.sqrt(std))
        self.remainder = normal_table(self.remainder_rows, dim, math.sqrt(std))

    def _embed(self, ids: Tensor) -> Tensor:
        return self.quotient(ids // self.remainder_rows) * self.remainder(ids % self.remainder_rows)


class FrequencyEmbedding(CompressedEmbedding):
    """Offline separation: the k most frequent ids of ``counts`` (training occurrences per global id,
    ties to the lower id, zero counts never) own rows; the rest share hash rows.

    k fills ``hot_fraction`` of the budget unless ``hot_rows`` is given; each hot id costs dim floats
    plus its stored int64 id (kept sorted, found by binary search)."""

    def __init__(self, fields: tuple[str, ...], cardinalities: tuple[int, ...], bag_cardinality: int,
                 dim: int, std: float = 0.05, *, ratio: float, counts: Tensor, hot_fraction: float = 0.5,
                 hot_rows: int | None = None, seed: int = 0) -> None:
        super().__init__(fields, cardinalities, bag_cardinality, dim, ratio)
        counts = torch.as_tensor(counts)
        if counts.shape != (self.num_features,) or bool((counts < 0).any()):
            raise ValueError(f"counts must be {self.num_features} non-negative numbers (one per global id), "
                             f"got shape {tuple(counts.shape)}")
        per_row = dim + ID_FLOATS
        k = int(check_fraction("hot_fraction", hot_fraction) * self.budget_floats) // per_row
        if hot_rows is not None:
            if hot_rows < 0 or hot_rows * per_row + dim > self.budget_floats:
                raise ValueError(f"hot_rows={hot_rows} does not fit {self.budget_floats} floats with one hash row")
            k = hot_rows
        k = min(k, int((counts > 0).sum()))
        order = torch.argsort(counts, descending=True, stable=True)[:k]
        self.register_buffer("hot_ids", order.sort().values.to(torch.int64))
        rows = (self.budget_floats - k * per_row) // dim
        if rows < 1:
            raise ValueError(f"budget too small: {self.budget_floats} floats leave no hash row after {k} hot rows")
        self.hash = SeededHash(rows, seed)
        self.hot = normal_table(k, dim, std)
        self.table = normal_table(self.hash.rows, dim, std)

    def hot_row(self, ids: Tensor) -> Tensor:
        """Own row of each global id, -1 for ids that share hash rows."""
        if not self.hot_ids.numel():
            return torch.full_like(ids, -1)
        pos = torch.searchsorted(self.hot_ids, ids).clamp(max=self.hot_ids.numel() - 1)
        return torch.where(self.hot_ids[pos] == ids, pos, -1)

    def _embed(self, ids: Tensor) -> Tensor:
        row = self.hot_row(ids)
        hot = row >= 0
        out = self.table(self.hash(ids))
        if bool(hot.any()):
            out = torch.where(hot[:, None], self.hot(row.clamp_min(0)), out)
        return out

    def extra_bytes(self) -> int:
        return self.hot_ids.numel() * self.hot_ids.element_size()
