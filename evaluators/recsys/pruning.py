"""Metric scores to masks for a CTR model's layers, applying masks, and keeping them through training."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn

from evaluators.base import ScoreError
from evaluators.failure import check_scores
from evaluators.masks import global_keep_masks, keep_mask, parse_group

ScoreFn = Callable[[Mapping[str, Tensor]], Tensor]


def _group_range(scores: Tensor, group: str) -> tuple[Tensor, Tensor]:
    """(min, max) of every comparison group of a layer (NaN propagates into both)."""
    parsed = parse_group(group)
    if parsed.kind in ("layer", "global") or scores.dim() < 2:
        return torch.aminmax(scores.reshape(-1))
    rows = scores.reshape(-1, parsed.m) if parsed.kind == "nm" else scores
    return torch.aminmax(rows, dim=1)


def metric_scores(fn: ScoreFn, operands: Mapping[str, Mapping[str, Tensor]], group: str) -> dict[str, Tensor]:
    """Scores per layer from compiled metric fn; ScoreError when any layer's scores are unusable."""
    result: dict[str, Tensor] = {}
    for name, values in operands.items():
        scores = fn(values)
        if not isinstance(scores, Tensor) or scores.shape != values["W"].shape:
            raise ScoreError(f"scores of {name} do not have the weight's shape {tuple(values['W'].shape)}")
        low, high = _group_range(scores, group)
        check_scores(name, scores, low, high, None if group == "global" else group)
        result[name] = scores
    if group == "global" and result:
        flat = torch.cat([s.reshape(-1) for s in result.values()])
        if bool(flat.max() == flat.min()):
            raise ScoreError("constant scores over all layers")
    return result


def masks_from_scores(scores: Mapping[str, Tensor], sparsity: float, group: str) -> dict[str, Tensor]:
    """Keep-masks (True = keep) per layer at a sparsity, one threshold over all layers for "global"."""
    if parse_group(group).kind == "global":
        return global_keep_masks(dict(scores), sparsity)
    return {name: keep_mask(s, sparsity, group) for name, s in scores.items()}


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
