"""Metric scores to masks for a CTR model's layers, applying masks, and keeping them through training."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn

from evaluators.masks import global_keep_masks, keep_mask, parse_group

ScoreFn = Callable[[Mapping[str, Tensor]], Tensor]


class ScoreError(ValueError):
    """A metric's scores are unusable (NaN, inf, constant, wrong shape); the message is the reason."""


def _constant_in_every_group(scores: Tensor, group: str) -> bool:
    """True when the scores carry no ranking inside any comparison group of the layer."""
    parsed = parse_group(group)
    if parsed.kind in ("layer", "global"):
        return bool(scores.max() == scores.min())
    rows = scores.reshape(-1, parsed.m) if parsed.kind == "nm" else scores
    return bool((rows.amax(dim=1) == rows.amin(dim=1)).all())


def metric_scores(fn: ScoreFn, operands: Mapping[str, Mapping[str, Tensor]], group: str) -> dict[str, Tensor]:
    """Scores per layer from compiled metric fn; ScoreError when any layer's scores are unusable."""
    result: dict[str, Tensor] = {}
    for name, values in operands.items():
        scores = fn(values)
        if not isinstance(scores, Tensor) or scores.shape != values["W"].shape:
            raise ScoreError(f"scores of {name} do not have the weight's shape {tuple(values['W'].shape)}")
        bad = ~torch.isfinite(scores)
        if bool(bad.any()):
            kind = "NaN" if bool(torch.isnan(scores).any()) else "inf"
            raise ScoreError(f"{kind} scores in {name} ({int(bad.sum())} of {scores.numel()})")
        if group != "global" and scores.numel() > 1 and _constant_in_every_group(scores, group):
            raise ScoreError(f"constant scores in {name} (no ranking in any {group} group)")
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
