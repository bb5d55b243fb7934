"""Seeded, deterministic training (Adam, BCE) and evaluation (AUC, log-loss) of CTR models.

Step s of a run always sees the same mini-batch: the order of epoch e is a permutation drawn from
``seed * 1000 + e``, so a run resumed at step k (rewinding) replays the data from step k on.
Everything runs on one CPU thread, so results are bit-identical across processes. Optional per-row
sample weights ride along with the rows (``WeightedSplit``), so weighting never changes the batch order.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from evaluators.classifier import one_thread
from evaluators.recsys.data import Split

LossFn = Callable[[Tensor, Split], Tensor]
StepHook = Callable[[int], None]
BeforeStepHook = Callable[[nn.Module, torch.optim.Optimizer], None]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings."""

    epochs: int = 3
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def steps_per_epoch(self, rows: int) -> int:
        """Mini-batches per epoch."""
        return math.ceil(rows / self.batch_size)


@dataclass(frozen=True)
class WeightedSplit(Split):
    """Rows with a loss weight each; ``take`` (hence every mini-batch) keeps the weights aligned."""

    weight: Tensor

    def take(self, index: Tensor | slice) -> "WeightedSplit":
        """The rows at index, with their weights."""
        return WeightedSplit(self.x[index], self.bag[index], self.dense[index], self.y[index], self.weight[index])


def bce_loss(logits: Tensor, batch: Split) -> Tensor:
    """Mean binary cross-entropy of logits against the batch's click labels (times its row weights, if any)."""
    weight = batch.weight if isinstance(batch, WeightedSplit) else None
    return nn.functional.binary_cross_entropy_with_logits(logits, batch.y, weight=weight)


def batch_at(data: Split, cfg: TrainConfig, epoch: int) -> Iterator[Split]:
    """The mini-batches of one epoch in their fixed, seeded order."""
    return data.batches(cfg.batch_size, torch.Generator().manual_seed(cfg.seed * 1000 + epoch))


def train(model: nn.Module, data: Split, cfg: TrainConfig, *, loss_fn: LossFn = bce_loss,
          after_step: StepHook | None = None, start_step: int = 0, max_steps: int | None = None,
          before_step: BeforeStepHook | None = None, sample_weight: Tensor | None = None) -> int:
    """Train with a fresh Adam from global step start_step to the end (or max_steps more); returns the last step.

    ``after_step(step)`` runs after every optimizer step (masks are re-applied there, snapshots
    for rewinding are taken there), with ``step`` counted from 1. ``before_step(model, optimizer)``
    runs between ``loss.backward()`` and ``optimizer.step()``, with the gradients in place
    (CAFE's importance update and optimizer-row reset go there). ``sample_weight`` (one per row of
    data) turns every batch into a ``WeightedSplit``: ``bce_loss`` then averages weight x loss.
    """
    if sample_weight is not None:
        if sample_weight.shape != data.y.shape:
            raise ValueError(f"sample_weight has shape {tuple(sample_weight.shape)}, expected {tuple(data.y.shape)}")
        data = WeightedSplit(data.x, data.bag, data.dense, data.y, sample_weight.to(data.y.dtype))
    per_epoch = cfg.steps_per_epoch(len(data))
    total = cfg.epochs * per_epoch
    end = total if max_steps is None else min(total, start_step + max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    model.train()
    step = start_step
    with one_thread():
        for epoch in range(start_step // per_epoch, cfg.epochs):
            for index, batch in enumerate(batch_at(data, cfg, epoch)):
                if epoch * per_epoch + index < step:
                    continue
                if step >= end:
                    break
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(*batch.inputs()), batch)
                loss.backward()
                if before_step is not None:
                    before_step(model, optimizer)
                optimizer.step()
                step += 1
                if after_step is not None:
                    after_step(step)
    model.eval()
    return step


@torch.no_grad()
def predict(model: nn.Module, data: Split, batch_size: int = 8192) -> Tensor:
    """Logits of every row, in eval mode, on one thread."""
    model.eval()
    with one_thread():
        return torch.cat([model(*b.inputs()) for b in data.batches(batch_size)])


def metrics(logits: Tensor, y: Tensor) -> dict[str, float]:
    """AUC (scikit-learn) and log-loss of logits; NaN for both when any logit is not finite."""
    from sklearn.metrics import roc_auc_score

    if not bool(torch.isfinite(logits).all()):
        return {"auc": float("nan"), "logloss": float("nan")}
    logloss = nn.functional.binary_cross_entropy_with_logits(logits.double(), y.double()).item()
    auc = float(roc_auc_score(y.numpy(), logits.double().numpy()))
    return {"auc": auc, "logloss": logloss}


def evaluate(model: nn.Module, data: Split) -> dict[str, float]:
    """AUC and log-loss of a model on a split."""
    return metrics(predict(model, data), data.y)


def seed_everything(seed: int) -> None:
    """Seed torch and numpy (model initialisation draws from torch's global RNG)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
