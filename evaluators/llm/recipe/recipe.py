"""A recipe (``primitives.recipe.Recipe``) on an llm-prune model: score, allocate, mask, post-mask step.

Every statistic comes from the dense model (one-shot): allocation statistics from the dense
operands, the post-mask steps' from the dense inputs of every layer (``stats.InputStatistics``: the
mean and variance of each input column for DSnoT, H = 2 X^T X / n for swap, OBS and LS), which the operand
store gathers in its calibration pass: a recipe runs no block pass of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evaluators.base import ScoreError
from evaluators.granularity import Structure, parse_structure

from ..layers import PrunableLayer
from ..prune import apply_masks, layer_mask, layer_scores
from ..reconstruction import Reconstruction, RowStep
from ..stats import InputStatistics
from . import dsnot
from .swap import swap_refine
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
    """ScoreError when a recipe's steps cannot work on the comparison group: all layers ranked at once,
    or DSnoT's swaps (across a whole row) on an N:M pattern."""
    if structure.is_global and not recipe.is_bare:
        raise ScoreError(f"a recipe prunes layer by layer; group {structure} ranks all layers at once")
    if recipe.post == "dsnot" and structure.granularity.kind == "nm":
        raise ScoreError(f"post=dsnot swaps across a whole row and would break the {structure} pattern "
                         "(post=swap keeps it)")


def input_needs(recipe: Recipe) -> dict[str, bool]:
    """The input statistics a recipe's post-mask step reads (``OperandStore.statistics`` keywords)."""
    return {"grams": recipe.post in ("swap", "obs", "ls"), "moments": recipe.post == "dsnot"}


def post_step(recipe: Recipe, inputs: InputStatistics, structure: Structure,
              options: StepOptions = StepOptions()) -> RowStep | None:
    """A recipe's post-mask step as a function of (layer name, out x in weight or some of its rows, keep,
    scores) -> (keep, updated weight or None: the kept weights unchanged); None for ``post=none``. Every
    step works row by row, so it gives the same rows whether it sees a whole weight or a sample of rows;
    on an N:M ``structure`` swaps stay inside each block of M columns."""
    if recipe.post == "none":
        return None
    if recipe.post == "swap":
        block = structure.granularity.b if structure.granularity.kind == "nm" else 0

        def swap(name: str, weight: Any, keep: Any, scores: Any) -> tuple[Any, Any]:
            return swap_refine(weight, inputs.hessian(name).to(weight.device), keep, block), None
        return swap
    if recipe.post == "dsnot":
        def refine(name: str, weight: Any, keep: Any, scores: Any) -> tuple[Any, Any]:
            if not dsnot.refines(name, options.dsnot_skip):
                return keep, None
            mean, var = (inputs.moments[name][k].to(weight.device) for k in ("mean", "var"))
            return dsnot.dsnot_refine(weight, keep, mean, var, scores, options.dsnot_cycles,
                                      options.dsnot_threshold), None
        return refine

    from ..sparsegpt import obs_update
    from .ls import ls_update

    update_fn = obs_update if recipe.post == "obs" else ls_update

    def update(name: str, weight: Any, keep: Any, scores: Any) -> tuple[Any, Any]:
        import torch

        with torch.no_grad():
            return keep, update_fn(weight, inputs.hessian(name).to(weight.device), keep)
    return update


def _plan(recipe: Recipe, block_layers: list[list[PrunableLayer]], operands: Any, sparsity: float,
          group: str | Structure, options: StepOptions) -> tuple[Structure, Any, dict[str, float]]:
    """(structure, compiled score, per-layer sparsities) of a recipe: what pruning and its proxy share."""
    from primitives.compile import compile_metric

    structure = parse_structure(group)
    check_group(recipe, structure)
    fn = compile_metric(recipe.score)
    return structure, fn, allocate(recipe, fn, block_layers, operands, sparsity, structure, options.lam)


def prune_with_recipe(recipe: Recipe, blocks: Any, block_layers: list[list[PrunableLayer]], operands: Any,
                      inputs: InputStatistics, sparsity: float, group: str | Structure,
                      options: StepOptions = StepOptions()) -> tuple[int, int]:
    """Prune every layer in place with a recipe, each block fetched in turn (``blocks``: the model's, or
    its BlockOffload); ``inputs``: the dense model's input statistics the post-mask step reads
    (``input_needs``); (pruned, total)."""
    import torch

    structure, fn, targets = _plan(recipe, block_layers, operands, sparsity, group, options)
    step = post_step(recipe, inputs, structure, options)
    fetch, release = getattr(blocks, "fetch", None), getattr(blocks, "release", None)  # a BlockOffload's
    pruned = total = 0
    for layers in block_layers:
        if fetch is not None:  # the block's weights to the device, where the operands are read
            fetch(layers[0].block)
        for layer in layers:
            scores = layer_scores(fn, layer, operands.get(layer.name, {}), structure)
            keep = layer_mask(scores, layer, targets[layer.name], structure)
            updated = None
            if step is not None:
                keep, updated = step(layer.name, layer.weight, keep, scores)
            if updated is not None:
                with torch.no_grad():
                    layer.weight.copy_(updated.to(layer.weight.dtype))
                p, t = keep.numel() - int(keep.count_nonzero()), keep.numel()
            else:
                p, t = apply_masks([layer], {layer.name: keep})
            pruned, total = pruned + p, total + t
    if release is not None:
        release()
    return pruned, total


def sampled_recipe_errors(recipe: Recipe, proxy: Reconstruction, block_layers: list[list[PrunableLayer]],
                          operands: Any, inputs: InputStatistics, sparsity: float, group: str | Structure,
                          rows: int, seed: int, options: StepOptions = StepOptions()) -> dict[str, float]:
    """layer -> the reconstruction proxy of a recipe on ``rows`` seeded rows per layer: the allocation of
    the whole model, then on the sampled rows the same masks and post-mask step as ``prune_with_recipe``
    (``Reconstruction.sampled_errors``); nothing is pruned."""
    structure, fn, targets = _plan(recipe, block_layers, operands, sparsity, group, options)
    return proxy.sampled_errors(fn, operands, targets, structure, rows, seed,
                                 post_step(recipe, inputs, structure, options))


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
