"""CAFE's part of a training step, as a ``train(..., before_step=...)`` hook: after the backward pass,
score the batch's occurrences, update the sketch (migrating hot rows), reset the optimizer state of
the migrated rows, and watch that the module never leaves its memory budget."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from model_compression.cafe.cafe_embedding import CAFEEmbedding
from model_compression.cafe.importance import grad_norm_importance

Importance = Callable[[Tensor, Tensor], Tensor]


def unit_importance(output: Tensor, valid: Tensor) -> Tensor:
    """Score 1 per valid occurrence, so the sketch counts occurrences (frequency) instead of gradients."""
    return torch.ones(int(valid.sum()), dtype=output.dtype)


IMPORTANCE: dict[str, Importance] = {"grad-norm": grad_norm_importance, "frequency": unit_importance}


def check_importance(name: str) -> str:
    """The importance source's name; ValueError listing the choices otherwise."""
    if name not in IMPORTANCE:
        raise ValueError(f"unknown importance source {name!r}: expected one of {', '.join(IMPORTANCE)}")
    return name


class CAFEStepHook:
    """``before_step(model, optimizer)`` for one ``CAFEEmbedding``: importance, migration, Adam row reset.

    Keeps counts of what happened (steps, promotions, evictions, the first step at which every hot row
    was in use) and the peak memory; raises RuntimeError the moment memory exceeds the budget.
    ``watch(hook)``, when given, runs at the end of every call (tests and studies look inside there)."""

    def __init__(self, module: CAFEEmbedding, importance: str = "grad-norm", reset_optimizer: bool = True,
                 watch: Callable[["CAFEStepHook"], None] | None = None) -> None:
        self.module, self.importance = module, check_importance(importance)
        self.reset_optimizer, self.watch = reset_optimizer, watch
        self.steps = self.promotions = self.evictions = 0
        self.filled_step: int | None = None
        self.peak_floats = module.memory_floats()

    def __call__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        last = self.module._last  # the lookup of this step's forward (ids, output with grad, validity)
        if last is None:
            raise RuntimeError("the CAFE embedding saw no forward pass with gradients before this step")
        scores = IMPORTANCE[self.importance](last.emb, last.valid)
        report = self.module.update_importance(scores=scores)
        if self.reset_optimizer:
            self.module.reset_optimizer_rows(optimizer)
        self.steps += 1
        self.promotions += report.promoted_ids.numel()
        self.evictions += report.evicted_ids.numel()
        if self.filled_step is None and not bool(self.module.sketch.free.any()):
            self.filled_step = self.steps
        self.peak_floats = max(self.peak_floats, self.module.memory_floats())
        if self.peak_floats > self.module.budget_floats:
            raise RuntimeError(f"CAFE uses {self.peak_floats} floats, over its budget of {self.module.budget_floats}")
        if self.watch is not None:
            self.watch(self)

    def summary(self) -> dict[str, int | None]:
        """JSON-ready counters: hot rows in use and available, migrations, peak floats, steps."""
        return {"hot_rows": self.module.hot.num_embeddings, "hot_used": int(self.module.hot_ids().numel()),
                "promotions": self.promotions, "evictions": self.evictions, "filled_step": self.filled_step,
                "peak_floats": self.peak_floats, "hook_steps": self.steps}
