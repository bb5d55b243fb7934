"""Self-contained Python source of a torch function computing the metric's scores (and, for a recipe,
of its allocation formula).

The operator helpers are copied from ``primitives/torch_ops.py`` (read as text with ``ast``,
not imported), so exported code and the compiled tree share one implementation.
"""
from __future__ import annotations

from pathlib import Path

import primitives
from primitives.metric import Metric
from primitives.recipe import Recipe
from registry.exporters.program import Dialect, metric_module, recipe_module

TORCH = Dialect(
    ops=Path(primitives.__file__).parent / "torch_ops.py", imports="import torch", array="torch.Tensor",
    cast=lambda name, bits: f"{name}.float()" if bits == 32 else f"{name}.double()",
    constant=lambda value, bits: f"torch.tensor({value}, dtype=torch.float{bits})",
    result=lambda name, like, bits: f"torch.broadcast_to({name}, {like}.shape)",
    score_doc="", metric_title="", recipe_title="")


def export(metric: Metric) -> str:
    """The module of ``metric(W, ...)`` in torch."""
    return metric_module(TORCH, metric)


def export_recipe(recipe: Recipe) -> str:
    """The score function and, with an allocation formula, ``allocation``; the parts in the docstring."""
    return recipe_module(TORCH, recipe)
