"""Iterative pruning with rewinding: score by a metric, prune a fraction of what remains, rewind, retrain.

One level: (1) score the surviving weights of the trained model with the metric (operands from
the calibration rows), already-pruned weights scored -inf so they stay pruned; (2) prune to the
level's sparsity in the scope (one global threshold, per layer or per row); (3) rewind every
parameter to its value at step k of the dense run; (4) retrain from step k to the end with the
mask re-applied after every optimizer step.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from evaluators.recsys.data import CTRData
from evaluators.recsys.operands import compute_operands
from evaluators.recsys.pruning import MaskEnforcer, masks_from_scores, metric_scores
from evaluators.recsys.train import LossFn, TrainConfig, bce_loss, train

log = logging.getLogger(__name__)

Masks = dict[str, Tensor]
ScoreFn = Callable[[Mapping[str, Tensor]], Tensor]


def prunable_layers(model: nn.Module, include_embeddings: bool = False) -> dict[str, nn.Module]:
    """The MLP Linear layers (and the embedding tables when asked), by module name."""
    layers = dict(model.mlp_layers())  # type: ignore[operator]
    if include_embeddings:
        layers.update(model.embedding_tables())  # type: ignore[operator]
    return layers


def full_masks(layers: Mapping[str, nn.Module]) -> Masks:
    """All-True keep-masks."""
    return {n: torch.ones_like(m.weight, dtype=torch.bool) for n, m in layers.items()}


def next_masks(model: nn.Module, layers: Mapping[str, nn.Module], masks: Masks, fn: ScoreFn,
               sparsity: float, scope: str, data: CTRData) -> Masks:
    """Keep-masks at sparsity in scope, nested in masks (already-pruned weights stay pruned)."""
    operands = compute_operands(model, data.calib)
    with torch.no_grad():
        scores = metric_scores(fn, {n: operands[n] for n in layers}, scope)
        scores = {n: torch.where(masks[n], s, torch.tensor(-torch.inf)) for n, s in scores.items()}
    new = masks_from_scores(scores, sparsity, scope)
    return {n: new[n] & masks[n] for n in layers}


def load_state(model: nn.Module, state: Mapping[str, Tensor]) -> None:
    """Copy a saved state into the model (exact)."""
    model.load_state_dict(dict(state), strict=True)


def retrain(model: nn.Module, layers: Mapping[str, nn.Module], masks: Masks, data: CTRData, cfg: TrainConfig,
            start_step: int, loss_fn: LossFn = bce_loss, max_steps: int | None = None) -> None:
    """Apply masks, then train from start_step with the masks re-applied after every step."""
    train(model, data.train, cfg, loss_fn=loss_fn, after_step=MaskEnforcer(layers, masks),
          start_step=start_step, max_steps=max_steps)


@dataclass
class Level:
    """The outcome of one IMP level: its sparsity, the keep-masks and the retrained model's state."""

    index: int
    sparsity: float
    masks: Masks
    state: dict[str, Tensor]


def imp_levels(model: nn.Module, trained: Mapping[str, Tensor], rewind: Mapping[str, Tensor], fn: ScoreFn,
               schedule: list[float], data: CTRData, cfg: TrainConfig, rewind_step: int, scope: str = "global",
               loss_fn: LossFn = bce_loss, include_embeddings: bool = False) -> Iterator[Level]:
    """Run IMP level by level from the trained dense state, yielding each retrained level."""
    layers = prunable_layers(model, include_embeddings)
    load_state(model, trained)
    masks = full_masks(layers)
    for index, sparsity in enumerate(schedule, start=1):
        masks = next_masks(model, layers, masks, fn, sparsity, scope, data)
        load_state(model, rewind)
        retrain(model, layers, masks, data, cfg, rewind_step, loss_fn)
        log.debug("IMP level %d: sparsity %.4f", index, sparsity)
        yield Level(index, sparsity, {n: m.clone() for n, m in masks.items()},
                    {k: v.detach().clone() for k, v in model.state_dict().items()})
