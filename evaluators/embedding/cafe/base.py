"""The shared shape of every compressed embedding: a drop-in for ``evaluators.recsys.models.FieldEmbeddings``.

``forward(x, bag) -> (n, count, dim)``: x holds one code per field, bag a multi-hot bag mean-pooled
over its non-padding entries, exactly as ``FieldEmbeddings``. Subclasses only map global ids
(``layout.FieldLayout``) to vectors in ``_embed``; memory is what their parameters and extra state use.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn

from evaluators.embedding.cafe.budget import check_ratio, float_budget, floats_of_bytes
from evaluators.embedding.cafe.layout import FieldLayout, check_ids


class CompressedEmbedding(nn.Module, ABC):
    """Embeddings of a field layout within ``ratio`` of the full table's floats (``budget_floats``)."""

    def __init__(self, fields: tuple[str, ...], cardinalities: tuple[int, ...], bag_cardinality: int,
                 dim: int, ratio: float = 1.0) -> None:
        super().__init__()
        self.layout = FieldLayout(tuple(fields), tuple(int(c) for c in cardinalities), int(bag_cardinality))
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
        self.dim, self.ratio = dim, check_ratio(ratio)
        self.budget_floats = float_budget(self.num_features, dim, self.ratio)

    @property
    def num_features(self) -> int:
        """Rows of the full table this module replaces."""
        return self.layout.num_features

    @property
    def count(self) -> int:
        """Number of embedded vectors per row (fields, plus one for the bag), as ``FieldEmbeddings.count``."""
        return len(self.layout.fields) + (self.layout.bag_cardinality > 0)

    @abstractmethod
    def _embed(self, ids: Tensor) -> Tensor:
        """(m, dim) vectors of m valid 1-D global ids."""

    def _observe(self, ids: Tensor, valid: Tensor, emb: Tensor) -> None:
        """Called by ``forward`` with the (n, k) ids, validity and (n, k, dim) vectors; CAFE keeps them."""

    def lookup(self, ids: Tensor) -> Tensor:
        """Vectors of global ids of any shape: ids.shape + (dim,). ValueError outside [0, num_features)."""
        ids = check_ids(ids, self.num_features)
        return self._embed(ids.reshape(-1)).view(*ids.shape, self.dim)

    def forward(self, x: Tensor, bag: Tensor) -> Tensor:
        """(n x count x dim) embeddings of field codes x (n x fields) and bag codes (n x L, 0 = padding)."""
        ids, valid = self.layout.global_ids(x, bag)
        emb = self._embed(ids.reshape(-1)).view(*ids.shape, self.dim)
        self._observe(ids, valid, emb)
        k = len(self.layout.fields)
        if not self.layout.bag_cardinality:
            return emb
        mask = valid[:, k:].unsqueeze(-1).to(emb.dtype)
        pooled = (emb[:, k:] * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1)
        return torch.cat([emb[:, :k], pooled.unsqueeze(1)], dim=1)

    def extra_bytes(self) -> int:
        """Bytes of state besides the parameters (hot-id lists, sketches)."""
        return 0

    def memory_bytes(self) -> int:
        """Bytes of the parameters plus ``extra_bytes``."""
        return sum(p.numel() * p.element_size() for p in self.parameters()) + self.extra_bytes()

    def memory_floats(self) -> int:
        """``memory_bytes`` as float32 equivalents (rounded up); never above ``budget_floats``."""
        return floats_of_bytes(self.memory_bytes())

    def extra_repr(self) -> str:
        return (f"features={self.num_features}, dim={self.dim}, ratio={self.ratio}, "
                f"floats={self.memory_floats()}/{self.budget_floats}")


def normal_table(rows: int, dim: int, std: float) -> nn.Embedding:
    """An (rows x dim) table initialised N(0, std), as ``FieldEmbeddings`` does."""
    table = nn.Embedding(rows, dim)
    nn.init.normal_(table.weight, std=std)
    return table
