"""CAFE's part of a training step, as a ``train(..., before_step=...)`` hook: after the backward pass,
score the batch's occurrences (a built-in source or any metric over the occurrence operands), update
the sketch (migrating hot rows), reset the optimizer state of the migrated rows, and watch that the
module never leaves its memory budget."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from evaluators.embedding.cafe.cafe_embedding import CAFEEmbedding
from evaluators.embedding.cafe.importance import IMPORTANCE, unit_importance
from evaluators.embedding.cafe.metric_importance import check_importance, is_constant, make_scorer
from primitives.metric import Metric

__all__ = ["CAFEStepHook", "IMPORTANCE", "check_importance", "unit_importance"]


class CAFEStepHook:
    """``before_step(model, optimizer)`` for one ``CAFEEmbedding``: importance, migration, Adam row reset.

    ``importance`` is "grad-norm", "frequency", a formula over the occurrence operands or a Metric;
    ``model`` (for ``perr``), ``counts`` (training counts, for ``freq``) and ``recency_decay`` feed the
    operands. Keeps counts of what happened (steps, promotions, evictions, batches whose scores were all
    equal, the first step at which every hot row was in use) and the peak memory; raises RuntimeError the
    moment memory exceeds the budget. ``watch(hook)``, when given, runs at the end of every call."""

    def __init__(self, module: CAFEEmbedding, importance: str | Metric = "grad-norm", reset_optimizer: bool = True,
                 watch: Callable[["CAFEStepHook"], None] | None = None, *, model: nn.Module | None = None,
                 counts: Tensor | None = None, recency_decay: float = 0.99) -> None:
        if isinstance(importance, str):
            check_importance(importance)
        self.module, self.reset_optimizer, self.watch = module, reset_optimizer, watch
        self.scorer = make_scorer(importance, module, model=model, counts=counts, recency_decay=recency_decay)
        self.importance = self.scorer.label
        self.steps = self.promotions = self.evictions = self.constant_steps = 0
        self.filled_step: int | None = None
        self.peak_floats = module.memory_floats()

    def scores(self) -> Tensor:
        """Importance of each occurrence of the module's last training forward (does not consume it)."""
        last = self.module.last_lookup
        if last is None:
            raise RuntimeError("the CAFE embedding saw no forward pass with gradients before this step")
        return self.scorer(last)

    def __call__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        scores = self.scores()
        self.constant_steps += is_constant(scores)
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

    def close(self) -> None:
        """Release the scorer's hooks on the model."""
        self.scorer.close()

    def summary(self) -> dict[str, Any]:
        """JSON-ready counters: hot rows in use and available, migrations, peak floats, steps."""
        return {"hot_rows": self.module.hot.num_embeddings, "hot_used": int(self.module.hot_ids().numel()),
                "promotions": self.promotions, "evictions": self.evictions, "filled_step": self.filled_step,
                "peak_floats": self.peak_floats, "hook_steps": self.steps, "constant_steps": self.constant_steps}
