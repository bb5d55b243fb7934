"""Metric scores to masks for a CTR model's layers, applying masks, and keeping them through training."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn

from evaluators.base import ScoreError
from evaluators.failure import check_scores
from evaluators.granularity import keep_masks, parse_structure

ScoreFn = Callable[[Mapping[str, Tensor]], Tensor]


def metric_scores(fn: ScoreFn, operands: Mapping[str, Mapping[str, Tensor]], group: str) -> dict[str, Tensor]:
    """Scores per layer from compiled metric fn; ScoreError when any layer's scores are unusable."""
    result: dict[str, Tensor] = {}
    for name, values in operands.items():
        scores = fn(values)
        if not isinstance(scores, Tensor) or scores.shape != values["W"].shape:
            raise ScoreError(f"scores of {name} do not have the weight's shape {tuple(values['W'].shape)}")
        low, high = parse_structure(group).group_range(scores)
        check_scores(name, scores, low, high, None if parse_structure(group).is_global else group)
        result[name] = scores
    if parse_structure(group).is_global and result:
        flat = torch.cat([s.reshape(-1) for s in result.values()])
        if bool(flat.max() == flat.min()):
            raise ScoreError("constant scores over all layers")
    return result


def masks_from_scores(scores: Mapping[str, Tensor], sparsity: float, group: str) -> dict[str, Tensor]:
    """Keep-masks (True = keep) per layer at a sparsity and group (any granularity; one ranking over
    all layers for a global scope)."""
    return keep_masks(scores, sparsity, group)


@torch.no_grad()
def apply_masks(layers: Mapping[str, nn.Module], masks: Mapping[str, Tensor]) -> None:
    """Zero every masked-out weight in place."""
    for name, mask in masks.items():
        layers[name].weight.mul_(mask.to(layers[name].weight.dtype))


class MaskEnforcer:
    """An ``after_step`` hook re-applying masks after every optimizer step (Adam regrows them otherwise)."""

    def __init__(self, layers: Mapping[str, nn.Module], masks: Mapping[str, Tensor]) -> None:
        """Keep the layers and masks; apply the masks at once."""
        self.layers = dict(layers)
        self.masks = {n: m.to(layers[n].weight.dtype) for n, m in masks.items()}
        apply_masks(self.layers, self.masks)

    def __call__(self, step: int) -> None:
        """Re-apply the masks."""
        apply_masks(self.layers, self.masks)


def sparsity_of(layers: Mapping[str, nn.Module]) -> float:
    """Fraction of exact zeros over the layers' weights."""
    total = sum(m.weight.numel() for m in layers.values())
    zeros = sum(int((m.weight == 0).sum()) for m in layers.values())
    return zeros / max(total, 1)
