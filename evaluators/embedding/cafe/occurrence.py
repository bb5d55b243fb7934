"""Per-occurrence operands of importance metrics, each normalised to mean 1 over the batch.

For every valid occurrence o (a field code or bag entry) of one training forward
(``CAFEEmbedding.last_lookup``), with e_o its looked-up vector and L the training loss:

- ``gnorm``: ||dL/de_o||, CAFE's score; ``enorm``: ||e_o||;
- ``gdot``: |<dL/de_o, e_o>|, the first-order loss change of zeroing e_o;
- ``perr``: |dL/dz| of o's row times the batch's rows (|p - y| under mean BCE); needs the model;
- ``freq``: training-split occurrences of o's id (offline counts, as the frequency baseline);
- ``recency``: decayed occurrence count of o's id (x ``decay`` per step, + its occurrences now).

``freq`` and ``recency`` keep one (recency two) numbers per feature outside the embedding's memory
budget; the others come from the batch alone. Normalising makes formulas scale-free, and ``gnorm``
alone is exactly CAFE's mean-1 gradient norm."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import Tensor, nn

from evaluators.embedding.cafe.cafe_embedding import Lookup
from evaluators.embedding.cafe.importance import mean_one

OCCURRENCE_OPERANDS: tuple[str, ...] = ("gnorm", "freq", "enorm", "recency", "gdot", "perr")
STATEFUL_OPERANDS: tuple[str, ...] = ("freq", "recency")  # per-feature state outside the budget


class RowError:
    """Keeps the model's output logits (gradient retained) of each training forward, for ``perr``."""

    def __init__(self, model: nn.Module) -> None:
        self.out: Tensor | None = None
        self.handle = model.register_forward_hook(self._capture)

    def _capture(self, _module: nn.Module, _args: tuple, out: Tensor) -> None:
        if torch.is_grad_enabled() and isinstance(out, Tensor) and out.requires_grad:
            out.retain_grad()
            self.out = out

    def per_row(self) -> Tensor:
        """|dL/dz| of each row of the last training forward times its row count; consumes it."""
        out, self.out = self.out, None
        if out is None or out.grad is None:
            raise RuntimeError("perr needs a training forward and backward of the model before the step")
        return out.grad.detach().abs().reshape(-1) * out.numel()

    def close(self) -> None:
        """Remove the forward hook."""
        self.handle.remove()


class Recency:
    """Decayed occurrence counts per feature, updated lazily (value and last step per feature)."""

    def __init__(self, features: int, decay: float) -> None:
        if not 0 < decay <= 1:
            raise ValueError(f"recency decay must be in (0, 1], got {decay!r}")
        self.decay, self.step = float(decay), 0
        self.value = torch.zeros(features, dtype=torch.float64)
        self.last = torch.zeros(features, dtype=torch.int64)

    def update(self, ids: Tensor) -> Tensor:
        """Advance one step, add this batch's occurrences, return each occurrence's id's count."""
        self.step += 1
        uid, count = (torch.from_numpy(t) for t in np.unique(ids.numpy(), return_counts=True))  # numpy: faster
        age = (self.step - self.last[uid]).double()
        self.value[uid] = self.value[uid] * self.decay ** age + count
        self.last[uid] = self.step
        return self.value[ids].float()


class OccurrenceOperands:
    """The operands ``needs`` of each step's lookup, computed only when needed; ``close()`` when done."""

    def __init__(self, needs: Iterable[str], features: int, *, model: nn.Module | None = None,
                 counts: Tensor | None = None, recency_decay: float = 0.99) -> None:
        self.needs = tuple(dict.fromkeys(needs))
        unknown = [n for n in self.needs if n not in OCCURRENCE_OPERANDS]
        if unknown:
            raise ValueError(f"unknown occurrence operand(s) {', '.join(unknown)}: expected among "
                             f"{', '.join(OCCURRENCE_OPERANDS)}")
        if "freq" in self.needs and (counts is None or torch.as_tensor(counts).shape != (features,)):
            raise ValueError(f"freq needs the training counts of all {features} features")
        if "perr" in self.needs and model is None:
            raise ValueError("perr needs the model (its output gradient)")
        self.counts = torch.as_tensor(counts).float() if "freq" in self.needs else None
        self.recency = Recency(features, recency_decay) if "recency" in self.needs else None
        self.rows = RowError(model) if "perr" in self.needs and model is not None else None

    def __call__(self, lookup: Lookup) -> dict[str, Tensor]:
        """Each needed operand: one mean-1 value per valid occurrence, in ``lookup.ids`` order."""
        emb, valid, out = lookup.emb, lookup.valid, {}
        if {"gnorm", "gdot"} & set(self.needs):
            if emb.grad is None:
                raise RuntimeError("the lookup has no gradient: score after backward()")
            grad = emb.grad.detach()[valid]
        if "gnorm" in self.needs:
            out["gnorm"] = grad.norm(dim=-1)
        if "enorm" in self.needs:
            out["enorm"] = emb.detach()[valid].norm(dim=-1)
        if "gdot" in self.needs:
            out["gdot"] = (grad * emb.detach()[valid]).sum(dim=-1).abs()
        if self.rows is not None:
            out["perr"] = self.rows.per_row()[valid.nonzero()[:, 0]]
        if self.counts is not None:
            out["freq"] = self.counts[lookup.ids]
        if self.recency is not None:
            out["recency"] = self.recency.update(lookup.ids)
        return {name: mean_one(value) for name, value in out.items()}

    def close(self) -> None:
        """Detach from the model."""
        if self.rows is not None:
            self.rows.close()
