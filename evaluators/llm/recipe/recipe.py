"""A pruning recipe on an llm-prune task: metric scores, a layer allocation, masks, a post-mask step."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from evaluators.granularity import Structure, parse_structure

from ..blocks import run_block
from ..layers import PrunableLayer
from ..prune import ScoreFn, apply_masks, layer_mask, layer_scores
from . import dsnot, owl
from .moments import gathering

if TYPE_CHECKING:
    from evaluators.base import Fitness
    from primitives.metric import Metric

    from ..task import LLMPruneTask

ALLOCATIONS = ("uniform", "owl")
POST_STEPS = ("none", "dsnot", "obs")


@dataclass(frozen=True)
class Recipe:
    """Allocation ("uniform", or "owl": outlier-weighted per-unit sparsities) and post-mask step ("none";
    "dsnot": prune-and-grow swaps; "obs": SparseGPT's closed-form update of the kept weights). Every
    statistic comes from the dense model (one-shot)."""

    allocation: str = "uniform"
    post: str = "none"
    owl_m: float = owl.DEFAULT_M
    owl_lambda: float = owl.DEFAULT_LAMBDA
    owl_unit: str = "block"  # "block": all linears of a decoder block share a sparsity (OWL); or "layer"
    dsnot_cycles: int = dsnot.MAX_CYCLES
    dsnot_threshold: float = dsnot.THRESHOLD
    dsnot_skip: tuple[str, ...] = dsnot.SKIP

    def __post_init__(self) -> None:
        """Validate the choices."""
        if self.allocation not in ALLOCATIONS:
            raise ValueError(f"allocation must be one of {ALLOCATIONS}, got {self.allocation!r}")
        if self.post not in POST_STEPS:
            raise ValueError(f"post-mask step must be one of {POST_STEPS}, got {self.post!r}")
        if self.owl_unit not in ("block", "layer"):
            raise ValueError(f"owl_unit must be 'block' or 'layer', got {self.owl_unit!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (recorded with figures)."""
        return asdict(self)


def allocate(fn: ScoreFn, recipe: Recipe, block_layers: list[list[PrunableLayer]], operands: dict,
             sparsity: float, structure: Structure) -> dict[str, float]:
    """Sparsity of every layer: the target everywhere, or OWL's per-unit spread (weighted mean = target)."""
    layers = [layer for block in block_layers for layer in block]
    if recipe.allocation == "uniform":
        return {layer.name: sparsity for layer in layers}
    if structure.granularity.kind != "element" or structure.is_global:
        raise ValueError(f"a layer allocation needs per-row or per-layer element groups, not {structure}")
    units = block_layers if recipe.owl_unit == "block" else [[layer] for layer in layers]
    unit_scores = [[layer_scores(fn, layer, operands.get(layer.name, {}), structure) for layer in unit]
                   for unit in units]
    ratios = [owl.outlier_ratio(scores, recipe.owl_m) for scores in unit_scores]
    sizes = [sum(layer.weight.numel() for layer in unit) for unit in units]
    del unit_scores
    spread = owl.spread_allocation(ratios, sizes, sparsity, recipe.owl_lambda)
    return {layer.name: s for unit, s in zip(units, spread) for layer in unit}


def prune_with_recipe(fn: ScoreFn, recipe: Recipe, blocks: Any, block_layers: list[list[PrunableLayer]],
                      operands: dict, inputs: Any, sparsity: float, group: str | Structure) -> tuple[int, int]:
    """Prune every layer in place with a recipe; ``inputs()`` gives the calibration inputs of block 0
    (called only when the post-mask step needs input moments); (pruned, total)."""
    import torch

    from ..sparsegpt import obs_update

    structure = parse_structure(group)
    targets = allocate(fn, recipe, block_layers, operands, sparsity, structure)
    hiddens, kwargs_list = inputs() if recipe.post != "none" else (None, None)
    pruned = total = 0
    for layers in block_layers:
        moments = {}
        if hiddens is not None:
            with gathering(layers, gram=recipe.post == "obs") as moments:
                hiddens = run_block(blocks[layers[0].block], hiddens, kwargs_list)  # dense outputs: one-shot
        for layer in layers:
            scores = layer_scores(fn, layer, operands.get(layer.name, {}), structure)
            keep = layer_mask(scores, layer, targets[layer.name], structure)
            if recipe.post == "dsnot" and dsnot.refines(layer.name, recipe.dsnot_skip):
                stats = moments[layer.name]
                keep = dsnot.dsnot_refine(layer.weight, keep, stats.mean, stats.var, scores,
                                          recipe.dsnot_cycles, recipe.dsnot_threshold)
            if recipe.post == "obs":
                with torch.no_grad():
                    new = obs_update(layer.weight, moments[layer.name].hessian(), keep)
                    layer.weight.copy_(new.to(layer.weight.dtype))
                p, t = keep.numel() - int(keep.count_nonzero()), keep.numel()
            else:
                p, t = apply_masks([layer], {layer.name: keep})
            pruned, total = pruned + p, total + t
    return pruned, total


def apply_recipe(task: LLMPruneTask, metric: Metric, recipe: Recipe) -> tuple[int, int]:
    """Prune a prepared task's model in place with a metric and recipe (kept pruned, for saving)."""
    from primitives.compile import compile_metric

    task.prepare()
    st, cfg = task.state, task.config
    return prune_with_recipe(compile_metric(metric), recipe, st.blocks, st.block_layers, st.operands, st.inputs,
                             cfg.sparsity, cfg.structure)


def recipe_perplexity(task: LLMPruneTask, metric: Metric, recipe: Recipe) -> Fitness:
    """Perplexity after a recipe at the task's sparsity and group (over its calibration set when it has
    one); the dense weights restored after."""
    return task.score_pruning(lambda each: apply_recipe(each, metric, recipe), metric=metric.text,
                              recipe=recipe.to_dict())
