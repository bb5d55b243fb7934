"""CAFE's embedding layer: hot features (found online by a HotSketch) own rows, the rest share hash rows.

Per training step: forward, backward, ``update_importance()`` (before ``optimizer.step()``), then
optionally ``reset_optimizer_rows(optimizer)`` so Adam's moments of re-assigned hot rows start at 0.
Multi-level: non-hot features with sketch score >= ``medium_level * threshold`` add a second row
from a separate medium hash table (as CAFE's released code)."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from evaluators.embedding.cafe.base import CompressedEmbedding, normal_table
from evaluators.embedding.cafe.budget import check_fraction, hot_part
from evaluators.embedding.cafe.hashing import SeededHash
from evaluators.embedding.cafe.hotsketch import HotSketch, InsertReport
from evaluators.embedding.cafe.importance import grad_norm_importance
from evaluators.embedding.cafe.layout import check_ids


class Lookup(NamedTuple):
    """The occurrences of one training forward: what importance scores are computed from."""

    ids: Tensor  # 1-D global ids of the valid occurrences, row-major (padding left out)
    emb: Tensor  # (n, k, dim) lookup output, grad retained
    valid: Tensor  # (n, k) mask of valid occurrences


class CAFEEmbedding(CompressedEmbedding):
    """Hot rows H and sketch within ``hot_fraction`` of the budget, hash (and medium) rows in the rest."""

    def __init__(self, fields: tuple[str, ...], cardinalities: tuple[int, ...], bag_cardinality: int,
                 dim: int, std: float = 0.05, *, ratio: float, hot_fraction: float = 0.5,
                 threshold: float = 500.0, multi_level: bool = False, medium_level: float = 0.2,
                 medium_fraction: float = 0.25, slots: int = 4, sketch_slots_per_row: float = 2.0,
                 decay: float = 0.99, decay_every: float | None = None, seed: int = 0) -> None:
        super().__init__(fields, cardinalities, bag_cardinality, dim, ratio)
        self.threshold, self.medium_level = float(threshold), check_fraction("medium_level", medium_level)
        hot, buckets, used = hot_part(int(check_fraction("hot_fraction", hot_fraction) * self.budget_floats),
                                      dim, slots, sketch_slots_per_row, self.num_features)
        rest = self.budget_floats - used
        medium = int(check_fraction("medium_fraction", medium_fraction) * rest) // dim if multi_level else 0
        rows = (rest - medium * dim) // dim
        if hot < 1 or rows < 1 or (multi_level and medium < 1):
            raise ValueError(f"budget too small for CAFE: {self.budget_floats} floats give {hot} hot rows, "
                             f"{rows} hash rows and {medium} medium rows (each needs >= 1)")
        self.sketch = HotSketch(buckets, slots, hot_rows=hot, threshold=self.threshold, decay=decay,
                                decay_every=decay_every, seed=seed + 2)
        self.hot = nn.Embedding(hot, dim)
        nn.init.zeros_(self.hot.weight)  # a row gets its value when a feature migrates into it
        self.hash, self.table = SeededHash(rows, seed), normal_table(rows, dim, std)
        self.medium_hash = SeededHash(medium, seed + 1) if multi_level else None
        self.medium = normal_table(medium, dim, std) if multi_level else None
        self.migrated_rows = torch.empty(0, dtype=torch.int64)  # hot rows freed or filled by the last update
        self._last: Lookup | None = None
        for name, tensor in self.sketch.state_tensors().items():  # saved and loaded with the module
            self.register_buffer(f"sketch_{name}", tensor)

    def _apply(self, fn, recurse: bool = True):  # type: ignore[no-untyped-def]
        """``.to()`` and friends may replace the buffers: point the sketch at the new ones."""
        out = super()._apply(fn, recurse)
        self.sketch.bind({n: getattr(self, f"sketch_{n}") for n in self.sketch.state_tensors()})
        return out

    @property
    def last_lookup(self) -> Lookup | None:
        """The occurrences of the last forward with gradients, until ``update_importance`` consumes them."""
        return self._last

    def is_medium(self, ids: Tensor, state: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """Whether each id's sketch score (from ``state`` = (sketch ids, scores) when given) is >= medium_level * T."""
        sk_ids, sk_scores = state if state is not None else (self.sketch.ids, self.sketch.scores)
        bkt = self.sketch.bucket_of(ids)
        score = torch.where(sk_ids[bkt] == ids[:, None], sk_scores[bkt], 0.0).sum(1)
        return score >= self.medium_level * self.threshold

    def shared(self, ids: Tensor, state: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """The hash embedding of 1-D ids: one hash row, plus a medium row for medium ids when multi-level."""
        out = self.table(self.hash(ids))
        if self.medium is not None and self.medium_hash is not None:
            out = out + torch.where(self.is_medium(ids, state)[:, None], self.medium(self.medium_hash(ids)), 0.0)
        return out

    def _embed(self, ids: Tensor) -> Tensor:
        row = self.sketch.query(ids)
        out, hot = self.shared(ids), row >= 0
        return torch.where(hot[:, None], self.hot(row.clamp_min(0)), out) if bool(hot.any()) else out

    def _observe(self, ids: Tensor, valid: Tensor, emb: Tensor) -> None:
        """Keep the occurrences and their output (grad retained) of a forward that builds a graph."""
        if torch.is_grad_enabled() and emb.requires_grad:
            emb.retain_grad()
            self._last = Lookup(ids[valid], emb, valid)

    def update_importance(self, ids: Tensor | None = None, scores: Tensor | None = None) -> InsertReport:
        """Insert per-occurrence scores into the sketch and migrate; call after backward, before the step.

        ``ids`` default to the last forward's occurrences (padding excluded, row-major); ``scores`` to
        ``grad_norm_importance`` of its output. Promoted ids get their current shared value copied into
        their hot row, so their embedding does not change; evicted rows are zeroed and freed."""
        last, self._last = self._last, None
        ids = None if ids is None else check_ids(ids, self.num_features).reshape(-1)
        scores = None if scores is None else torch.as_tensor(scores).reshape(-1)
        if ids is None or scores is None:
            if last is None:
                raise RuntimeError("update_importance needs ids and scores, or a forward with gradients before it")
            ids = last.ids if ids is None else ids
            scores = grad_norm_importance(last.emb, last.valid) if scores is None else scores
        if scores.numel() != ids.numel():
            raise ValueError(f"need one score per occurrence: {ids.numel()} ids, {scores.numel()} scores")
        with torch.no_grad():
            before = (self.sketch.ids.clone(), self.sketch.scores.clone()) if self.medium is not None else None
            report = self.sketch.insert(ids, scores.detach())
            self.hot.weight[report.evicted_rows] = 0.0
            if report.promoted_ids.numel():
                self.hot.weight[report.promoted_rows] = self.shared(report.promoted_ids, before)
        self.migrated_rows = torch.cat([report.evicted_rows, report.promoted_rows]).unique()
        return report

    @torch.no_grad()
    def reset_optimizer_rows(self, optimizer: torch.optim.Optimizer) -> None:
        """Zero the optimizer's per-row state (Adam moments, momentum) of the rows the last update
        migrated, so with no weight decay a fresh hot row keeps its copied value through the step."""
        for value in optimizer.state.get(self.hot.weight, {}).values():
            if torch.is_tensor(value) and value.shape == self.hot.weight.shape:
                value[self.migrated_rows] = 0

    def hot_ids(self) -> Tensor:
        """The global ids that own a hot row now."""
        return self.sketch.ids[self.sketch.hot >= 0]

    def extra_bytes(self) -> int:
        """The sketch (its buffers): parameters are counted by ``memory_bytes``."""
        return self.sketch.memory_bytes()
