"""A recipe (``primitives.recipe.Recipe``) on an llm-prune model: score, allocate, mask, post-mask step.

Every statistic comes from the dense model (one-shot): allocation statistics from the dense
operands, the post-mask steps' from the dense inputs of every layer (``stats.InputStatistics``: the
mean and variance of each input column for DSnoT, H = 2 X^T X / n for OBS and LS), which the operand
store gathers in its calibration pass: a recipe runs no block pass of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evaluators.base import ScoreError
from evaluators.granularity import Structure, parse_structure

from ..layers import PrunableLayer
from ..prune import apply_masks, layer_mask, layer_scores
from ..stats import InputStatistics
from . import dsnot
from .allocation import LAMBDA, allocate, needs_operands

if TYPE_CHECKING:
    from primitives.recipe import Recipe

    from ..task import LLMPruneTask


@dataclass(frozen=True)
class StepOptions:
    """The published constants of the steps (a task always uses these defaults, so a recipe's hash
    names its result): OWL's band lambda and DSnoT's cycles, threshold and skipped layers."""

    lam: float = LAMBDA
    dsnot_cycles: int = dsnot.MAX_CYCLES
    dsnot_threshold: float = dsnot.THRESHOLD
    dsnot_skip: tuple[str, ...] = dsnot.SKIP


def task_operands(recipe: Recipe) -> tuple[str, ...]:
    """The task operands a recipe reads: its score's and, for the outlier ratio, X."""
    return tuple(sorted(set(recipe.score.operands) | set(needs_operands(recipe))))


def check_group(recipe: Recipe, structure: Structure) -> None:
    """ScoreError when a recipe's steps cannot work on the comparison group (all layers ranked at once)."""
    if structure.is_global and not recipe.is_bare:
        raise ScoreError(f"a recipe prunes layer by layer; group {structure} ranks all layers at once")


def input_needs(recipe: Recipe) -> dict[str, bool]:
    """The input statistics a recipe's post-mask step reads (``OperandStore.statistics`` keywords)."""
    return {"grams": recipe.post in ("obs", "ls"), "moments": recipe.post == "dsnot"}


def prune_with_recipe(recipe: Recipe, blocks: Any, block_layers: list[list[PrunableLayer]], operands: Any,
                      inputs: InputStatistics, sparsity: float, group: str | Structure,
                      options: StepOptions = StepOptions()) -> tuple[int, int]:
    """Prune every layer in place with a recipe, each block fetched in turn (``blocks``: the model's, or
    its BlockOffload); ``inputs``: the dense model's input statistics the post-mask step reads
    (``input_needs``); (pruned, total)."""
    import torch

    from primitives.compile import compile_metric

    from ..sparsegpt import obs_update
    from .ls import ls_update

    structure = parse_structure(group)
    check_group(recipe, structure)
    fn = compile_metric(recipe.score)
    targets = allocate(recipe, fn, block_layers, operands, sparsity, structure, options.lam)
    fetch, release = getattr(blocks, "fetch", None), getattr(blocks, "release", None)  # a BlockOffload's
    pruned = total = 0
    for layers in block_layers:
        if fetch is not None:  # the block's weights to the device, where the operands are read
            fetch(layers[0].block)
        for layer in layers:
            scores = layer_scores(fn, layer, operands.get(layer.name, {}), structure)
            keep = layer_mask(scores, layer, targets[layer.name], structure)
            device = layer.weight.device
            if recipe.post == "dsnot" and dsnot.refines(layer.name, options.dsnot_skip):
                mean, var = (inputs.moments[layer.name][k].to(device) for k in ("mean", "var"))
                keep = dsnot.dsnot_refine(layer.weight, keep, mean, var, scores, options.dsnot_cycles,
                                          options.dsnot_threshold)
            if recipe.post in ("obs", "ls"):
                update = obs_update if recipe.post == "obs" else ls_update
                with torch.no_grad():
                    new = update(layer.weight, inputs.hessian(layer.name).to(device), keep)
                    layer.weight.copy_(new.to(layer.weight.dtype))
                p, t = keep.numel() - int(keep.count_nonzero()), keep.numel()
            else:
                p, t = apply_masks([layer], {layer.name: keep})
            pruned, total = pruned + p, total + t
    if release is not None:
        release()
    return pruned, total


def check_task(task: LLMPruneTask, recipe: Recipe) -> None:
    """ScoreError when a task cannot apply a recipe: an operand it lacks, or a mode other than one-shot."""
    from evaluators.failure import check_operands

    check_operands(task_operands(recipe), task.operands, task.name)
    if task.config.mode != "oneshot":
        raise ScoreError(f"a recipe prunes one-shot from the dense model's statistics, not in mode "
                         f"{task.config.mode!r}")
    check_group(recipe, task.config.structure)


def apply_recipe(task: LLMPruneTask, recipe: Recipe) -> tuple[int, int]:
    """Prune a prepared task's model in place with a recipe (kept pruned, for saving)."""
    check_task(task, recipe)
    task.prepare()
    st, cfg = task.state, task.config
    inputs = st.store.statistics(**input_needs(recipe))  # first: a pass it runs also gives X, Xs and Y
    return prune_with_recipe(recipe, st.blocks, st.block_layers, st.operands_for(task_operands(recipe)), inputs,
                             cfg.sparsity, cfg.structure)
