"""Apply a metric's masks to every prunable layer (one-shot or block-sequential) and restore exactly."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from evaluators.base import ScoreError
from evaluators.failure import check_scores
from evaluators.failure import restore as restore_tensors
from evaluators.failure import snapshot as snapshot_tensors
from evaluators.granularity import Structure, global_group_keep_masks, head_role, parse_structure
from evaluators.masks import zero_pruned
from evaluators.progress import track

from .blocks import run_block
from .layers import PrunableLayer
from .stats import LayerOperands, block_operands

ScoreFn = Callable[[Mapping[str, Any]], Any]


def snapshot(layers: list[PrunableLayer]) -> dict[str, Any]:
    """A copy of every prunable weight as stored (restoring it is a bit-exact copy back)."""
    return snapshot_tensors({layer.name: layer.module.weight for layer in layers})


def restore(layers: list[PrunableLayer], saved: Mapping[str, Any]) -> None:
    """Copy the saved weights back into the model."""
    restore_tensors({layer.name: layer.module.weight for layer in layers}, saved)


def layer_scores(fn: ScoreFn, layer: PrunableLayer, ops: Mapping[str, Any], group: str | Structure) -> Any:
    """Float32 (out x in) scores of one layer, checked finite and not constant in every group."""
    return weight_scores(fn, layer.name, layer.weight, ops, group)


def weight_scores(fn: ScoreFn, name: str, weight: Any, ops: Mapping[str, Any], group: str | Structure) -> Any:
    """Float32 scores of an (out x in) weight (a layer's, or some of its rows) with its operands, checked
    finite and not constant in every group; ``name`` labels the failure."""
    import torch

    structure = parse_structure(group)
    scores = fn({"W": weight.float(), **ops})
    if not isinstance(scores, torch.Tensor):
        raise ScoreError(f"{name}: metric returned {type(scores).__name__}, not a tensor")
    try:
        scores = torch.broadcast_to(scores.float(), weight.shape)
    except RuntimeError as exc:
        raise ScoreError(f"{name}: scores of shape {tuple(scores.shape)} do not fit W {tuple(weight.shape)}") from exc
    low, high = structure.group_range(scores)
    check_scores(name, scores, low, high, None if structure.is_global else str(structure))
    return scores


def apply_masks(layers: list[PrunableLayer], masks: Mapping[str, Any]) -> tuple[int, int]:
    """Zero the pruned weights in place; (pruned count, total count)."""
    import torch

    pruned = total = 0
    with torch.no_grad():
        for layer in layers:
            keep = masks[layer.name]
            zero_pruned(layer.weight, keep)
            pruned += keep.numel() - int(keep.count_nonzero())
            total += keep.numel()
    return pruned, total


def layer_mask(scores: Any, layer: PrunableLayer, sparsity: float, structure: Structure) -> Any:
    """Keep-mask of one layer at a per-layer (or per-row) structure; heads by the layer's role."""
    role = head_role(layer.name) if structure.granularity.kind == "head" else None
    return structure.keep_mask(scores, sparsity, None, role)


def global_masks(fn: ScoreFn, layers: list[PrunableLayer], operands: LayerOperands, sparsity: float,
                 structure: Structure) -> dict[str, Any]:
    """Keep-masks of every layer under one ranking of all layers' groups."""
    scores = {layer.name: layer_scores(fn, layer, operands.get(layer.name, {}), structure) for layer in layers}
    first = next(iter(scores.values()))
    if all(bool(s.amax() == s.amin() == first.flatten()[0]) for s in scores.values()):
        raise ScoreError("scores constant over all layers")
    roles = {name: head_role(name) for name in scores} if structure.granularity.kind == "head" else None
    return global_group_keep_masks(scores, sparsity, structure.granularity, aggregate=structure.aggregate,
                                   roles=roles)


def structure_masks(fn: ScoreFn, layers: list[PrunableLayer], operands: LayerOperands, sparsity: float,
                    group: str | Structure) -> dict[str, Any]:
    """Keep-masks of every layer from dense operands (all in memory: for storage accounting)."""
    structure = parse_structure(group)
    if structure.is_global:
        return global_masks(fn, layers, operands, sparsity, structure)
    return {layer.name: layer_mask(layer_scores(fn, layer, operands.get(layer.name, {}), structure), layer,
                                   sparsity, structure) for layer in layers}


def prune_oneshot(fn: ScoreFn, layers: list[PrunableLayer], operands: LayerOperands, sparsity: float,
                  group: str | Structure) -> tuple[int, int]:
    """Score every layer from dense operands, mask (per group or globally), zero; (pruned, total)."""
    structure = parse_structure(group)
    if structure.is_global:
        return apply_masks(layers, global_masks(fn, layers, operands, sparsity, structure))
    pruned = total = 0
    for layer in track(layers, "scores and masks per layer"):  # one layer's scores at a time: memory stays at one layer
        scores = layer_scores(fn, layer, operands.get(layer.name, {}), structure)
        p, t = apply_masks([layer], {layer.name: layer_mask(scores, layer, sparsity, structure)})
        pruned, total = pruned + p, total + t
    return pruned, total


def prune_sequential(fn: ScoreFn, blocks: Any, block_layers: list[list[PrunableLayer]], dense: LayerOperands,
                     hiddens: list[Any], kwargs_list: list[dict], sparsity: float, group: str | Structure,
                     needs: tuple[str, ...]) -> tuple[int, int]:
    """Block by block: X/Xs/Hd/Y from the already pruned earlier blocks (G stays dense); (pruned, total)."""
    structure = parse_structure(group)
    if structure.is_global:
        raise ValueError(f"group {structure} ranks all layers at once and needs mode 'oneshot'")
    pruned = total = 0
    activation = any(op in needs for op in ("X", "Xs", "Hd", "Y"))
    for layers in track(block_layers, "pruning block by block"):
        block = blocks[layers[0].block]
        ops = block_operands(block, layers, hiddens, kwargs_list, "Hd" in needs) if activation else {}
        for layer in layers:
            layer_ops = {**({"G": dense[layer.name]["G"]} if "G" in needs else {}), **ops.get(layer.name, {})}
            scores = layer_scores(fn, layer, layer_ops, structure)
            p, t = apply_masks([layer], {layer.name: layer_mask(scores, layer, sparsity, structure)})
            pruned, total = pruned + p, total + t
        if activation:
            hiddens = run_block(block, hiddens, kwargs_list)
    return pruned, total
