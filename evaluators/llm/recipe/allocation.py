"""A recipe's layer allocation: per-unit statistics, the allocation formula on them, sparsities.

A unit is a decoder block (OWL's unit: all its linears share one sparsity) or a single layer. The
statistics (``primitives.language.ALLOCATION_OPERANDS``) are computed only when the formula reads
them; the formula is evaluated in float64 once over the vector of units (so ``mms``/``zsn``
normalise across units), and ``owl.spread_allocation`` maps its values to sparsities in
[S - lambda, S + lambda]: higher value, more weights kept, size-weighted mean exactly S.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evaluators.base import ScoreError
from evaluators.granularity import Structure

from ..layers import PrunableLayer
from ..prune import ScoreFn, layer_scores
from . import owl

if TYPE_CHECKING:
    from primitives.recipe import Recipe

LAMBDA = owl.DEFAULT_LAMBDA  # OWL's band: sparsities within target +- 0.08
OUTLIER_M = owl.DEFAULT_M  # ``outl`` counts Wanda scores above 5 times the unit's mean


def units_of(block_layers: list[list[PrunableLayer]], unit: str) -> list[list[PrunableLayer]]:
    """The layers of each unit: one list per decoder block, or one per layer."""
    return block_layers if unit == "block" else [[layer] for block in block_layers for layer in block]


def is_attention(layer_name: str) -> bool:
    """True for an attention projection: a module path with a part naming attn or attention."""
    return any("attn" in part or "attention" in part for part in layer_name.lower().split("."))


def needs_operands(recipe: Recipe) -> tuple[str, ...]:
    """Task operands an allocation reads besides the score's: X for the outlier ratio."""
    return ("X",) if recipe.alloc is not None and "outl" in recipe.alloc.operands else ()


def unit_statistics(units: list[list[PrunableLayer]], names: tuple[str, ...], fn: ScoreFn, operands: Any,
                    structure: Structure) -> dict[str, Any]:
    """float64 vectors (one value per unit) of the named statistics."""
    import torch

    from primitives.builtins import builtin
    from primitives.compile import compile_metric

    blocks = max(layer.block for unit in units for layer in unit) + 1
    sizes = [sum(layer.weight.numel() for layer in unit) for unit in units]
    out: dict[str, list[float]] = {}
    if "depth" in names:
        out["depth"] = [unit[0].block / max(blocks - 1, 1) for unit in units]
    if "attn" in names:
        out["attn"] = [sum(layer.weight.numel() for layer in unit if is_attention(layer.name)) / size
                       for unit, size in zip(units, sizes)]
    if "outl" in names:
        wanda = compile_metric(builtin("wanda"))
        out["outl"] = [owl.outlier_ratio([layer_scores(wanda, layer, operands.get(layer.name, {}), structure)
                                          for layer in unit], OUTLIER_M) for unit in units]
    if "smean" in names or "sstd" in names:
        means, stds = [], []
        for unit in units:
            flat = torch.cat([layer_scores(fn, layer, operands.get(layer.name, {}), structure).reshape(-1)
                              for layer in unit]).double()
            means.append(float(flat.mean()))
            stds.append(float(flat.std(unbiased=False)))
        out["smean"], out["sstd"] = means, stds
    return {name: torch.tensor(values, dtype=torch.float64) for name, values in out.items()}


def allocation_values(recipe: Recipe, units: list[list[PrunableLayer]], fn: ScoreFn, operands: Any,
                      structure: Structure) -> list[float]:
    """The allocation formula's value for every unit (float64), checked finite."""
    import torch

    from primitives.compile import compile_tree

    assert recipe.alloc is not None
    stats = unit_statistics(units, tuple(recipe.alloc.operands) + ("depth",), fn, operands, structure)
    result = compile_tree(recipe.alloc.canonical_tree, like="depth", dtype=torch.float64)(stats)
    if not bool(torch.isfinite(result).all()):
        raise ScoreError(f"allocation {recipe.alloc.canonical}: non-finite value for "
                         f"{int((~torch.isfinite(result)).sum())} of {len(units)} units")
    return [float(v) for v in result]


def allocate(recipe: Recipe, fn: ScoreFn, block_layers: list[list[PrunableLayer]], operands: Any,
             sparsity: float, structure: Structure, lam: float = LAMBDA) -> dict[str, float]:
    """Sparsity of every layer: the target everywhere (uniform), or the allocation formula's values
    spread over [S - lam, S + lam] per unit with a size-weighted mean of exactly S."""
    layers = [layer for block in block_layers for layer in block]
    if recipe.alloc is None:
        return {layer.name: sparsity for layer in layers}
    if structure.granularity.kind != "element" or structure.is_global:
        raise ScoreError(f"a layer allocation needs per-row or per-layer element groups, not {structure}")
    units = units_of(block_layers, recipe.unit)
    values = allocation_values(recipe, units, fn, operands, structure)
    sizes = [sum(layer.weight.numel() for layer in unit) for unit in units]
    spread = owl.spread_allocation(values, sizes, sparsity, lam)
    return {layer.name: s for unit, s in zip(units, spread) for layer in unit}
