"""HotSketch of CAFE (SIGMOD 2024): a bucketed Space-Saving sketch that finds hot embedding features.

B buckets x S slots of (id, score, hot row); batches use tensor ops, looping only over <= ``rounds`` steps.
The whole mutable state is ``state_tensors()``, changed only in place, so a module can hold it as buffers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .hashing import SeededHash
from .space_saving import place_newcomers

_INF = float("inf")
_NONE = torch.empty(0, dtype=torch.int64)


@dataclass(frozen=True)
class InsertReport:
    """What one insert changed. Callers drop ``evicted_*`` rows first, then copy the shared hash
    embedding of each ``promoted_ids[i]`` into hot row ``promoted_rows[i]`` (a row may be reused)."""
    promoted_ids: torch.Tensor
    promoted_rows: torch.Tensor
    evicted_ids: torch.Tensor
    evicted_rows: torch.Tensor
    decays: int  # how many times scores were multiplied by the decay factor
    dropped_score: float  # score of newcomers that found no slot (all slots hot, or past ``rounds``)


def _check_ids(ids) -> torch.Tensor:
    """1-D non-negative integer ids as int64 (-1 marks an empty slot, so negatives are refused)."""
    ids = torch.as_tensor(ids)
    if ids.dim() != 1:
        raise ValueError(f"ids must be 1-D, got shape {tuple(ids.shape)}")
    if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
        raise ValueError(f"ids must be an integer tensor, got dtype {ids.dtype}")
    if ids.numel() and int(ids.min()) < 0:
        raise ValueError(f"ids must be >= 0, got min {int(ids.min())}")
    return ids.to(torch.int64)


def _positive_int(name: str, value: int, low: int = 1) -> int:
    """``value`` as an int, refusing bools, non-integers and values below ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


class HotSketch:
    """Importance sketch: ``insert`` adds per-occurrence scores, promotes ids whose score reaches
    ``threshold`` to one of ``hot_rows`` rows and decays scores; ``query`` gives hot rows or -1."""

    def __init__(self, buckets: int, slots: int = 4, hot_rows: int = 0, threshold: float = 1.0, *,
                 decay: float = 0.99, decay_every: float | None = None, rounds: int | None = None,
                 seed: int = 0) -> None:
        self.B, self.S = _positive_int("buckets", buckets), _positive_int("slots", slots)
        self.H = _positive_int("hot_rows", hot_rows, low=0)
        self.rounds = self.S if rounds is None else _positive_int("rounds", rounds)
        self.threshold, self.decay = float(threshold), float(decay)
        self.decay_every = 10.0 * self.B * self.threshold if decay_every is None else float(decay_every)
        if not (np.isfinite(self.threshold) and self.threshold > 0):
            raise ValueError(f"threshold must be finite and > 0, got {threshold!r}")
        if not (0 < self.decay <= 1 and self.decay_every > 0):
            raise ValueError(f"need 0 < decay <= 1 and decay_every > 0, got {decay!r} and {decay_every!r}")
        self._hash = SeededHash(self.B, seed)
        self.ids = torch.full((self.B, self.S), -1, dtype=torch.int64)
        self.scores = torch.zeros((self.B, self.S), dtype=torch.float32)  # 0 in empty slots
        self.hot = torch.full((self.B, self.S), -1, dtype=torch.int32)
        self.free = torch.ones(self.H, dtype=torch.bool)
        self.since_decay = torch.zeros((), dtype=torch.float64)  # score inserted since the last decay

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The mutable state by name (slot ids, scores, hot rows, free-row mask, score since the last decay)."""
        return {"ids": self.ids, "scores": self.scores, "hot": self.hot, "free": self.free,
                "since_decay": self.since_decay}

    def bind(self, state: dict[str, torch.Tensor]) -> None:
        """Use these tensors as the state (a module's buffers after ``.to()``); shapes must match."""
        for name, old in self.state_tensors().items():
            if state[name].shape != old.shape:
                raise ValueError(f"sketch state {name!r} has shape {tuple(state[name].shape)}, "
                                 f"expected {tuple(old.shape)}")
            setattr(self, name, state[name])

    def memory_bytes(self) -> int:
        """Bytes of the sketch state: B*S*(8 + 4 + 4) for the slots, H for the free-row mask, 8 for the
        score since the last decay."""
        return sum(t.numel() * t.element_size() for t in self.state_tensors().values())

    def bucket_of(self, ids) -> torch.Tensor:
        """The bucket of each id (``SeededHash`` of the sketch's seed)."""
        return self._hash(_check_ids(ids))

    def _lookup(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(bucket, match mask [n, S]) of each id (already checked)."""
        return (bkt := self._hash(ids)), self.ids[bkt] == ids[:, None]

    def insert(self, ids, scores) -> InsertReport:
        """Add a batch of (id, score) occurrences; ids may repeat. See ``InsertReport``."""
        ids, scores = _check_ids(ids), torch.as_tensor(scores)
        if scores.dim() != 1 or scores.numel() != ids.numel() or scores.dtype.is_complex or scores.dtype == torch.bool:
            raise ValueError(f"scores must be 1-D real numbers, one per id: {ids.numel()} ids, "
                             f"scores of shape {tuple(scores.shape)} and dtype {scores.dtype}")
        scores = scores.to(torch.float32)
        if not bool(torch.isfinite(scores).all()) or bool((scores < 0).any()):
            raise ValueError("scores must be finite and >= 0")
        uid, inv = (torch.from_numpy(t) for t in np.unique(ids.numpy(), return_inverse=True))  # numpy: faster
        agg = torch.zeros(uid.numel(), dtype=torch.float32).index_add_(0, inv, scores)
        bkt, match = self._lookup(uid)
        present = match.any(1)
        slot = (match.long() * torch.arange(self.S)).sum(1)  # at most one match per row
        self.scores.view(-1).index_add_(0, (bkt * self.S + slot)[present], agg[present])
        new = ~present  # Space-Saving on numpy views of the (CPU) state: less per-call overhead than torch
        dropped = place_newcomers(self.ids.numpy(), self.scores.numpy(), self.hot.numpy(), self.rounds,
                                  uid[new].numpy(), bkt[new].numpy(), agg[new].numpy())
        decays, ev_ids, ev_rows = self._decay(float(scores.double().sum()))
        pr_ids, pr_rows = self._promote()
        return InsertReport(pr_ids, pr_rows, ev_ids, ev_rows, decays, dropped)

    def _decay(self, added: float) -> tuple[int, torch.Tensor, torch.Tensor]:
        """Multiply scores by decay^n for each full ``decay_every`` of inserted score, then evict
        hot ids now under the threshold (their rows are freed). Returns (n, evicted ids, rows)."""
        self.since_decay += added
        n = int(float(self.since_decay) // self.decay_every)
        if n == 0:
            return 0, _NONE, _NONE
        self.since_decay -= n * self.decay_every
        self.scores.mul_(self.decay ** n)
        gone = (self.hot >= 0) & (self.scores < self.threshold)
        rows, ids = self.hot[gone].long(), self.ids[gone]
        self.free[rows] = True
        self.hot[gone] = -1
        return n, ids, rows

    def _promote(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Give free hot rows (lowest first) to non-hot ids with score >= threshold, highest score
        first (ties: lower flat slot). Ids waiting for a row are retried on every insert."""
        cand = ((self.ids >= 0) & (self.hot < 0) & (self.scores >= self.threshold)).view(-1).nonzero().squeeze(1)
        rows = self.free.nonzero().squeeze(1)
        n = min(cand.numel(), rows.numel())
        if n == 0:
            return _NONE, _NONE
        cand = cand[torch.argsort(self.scores.view(-1)[cand], descending=True, stable=True)[:n]]  # best first
        rows = rows[:n]  # lowest free rows first
        self.hot.view(-1)[cand] = rows.to(torch.int32)
        self.free[rows] = False
        return self.ids.view(-1)[cand], rows

    def query(self, ids) -> torch.Tensor:
        """Hot row (int64) of each id, -1 where the id is not hot or not in the sketch."""
        bkt, match = self._lookup(ids := _check_ids(ids))
        return torch.where(match, self.hot[bkt].long(), -1).max(1).values

    def score_of(self, ids) -> torch.Tensor:
        """Sketch score of each id (0 where absent)."""
        bkt, match = self._lookup(ids := _check_ids(ids))
        return torch.where(match, self.scores[bkt], 0.0).sum(1)

    def topk(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The k stored ids of highest score (ties: lower flat slot) and their scores."""
        ids, sc = self.ids.view(-1), self.scores.view(-1)
        order = torch.argsort(torch.where(ids >= 0, sc, -_INF), descending=True, stable=True)
        order = order[: max(0, min(k, int((ids >= 0).sum())))]
        return ids[order], sc[order]
