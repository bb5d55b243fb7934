"""Self-contained numpy source of a function computing the metric's scores (no torch needed), and for
a recipe of its allocation formula.

The operator helpers are copied from ``registry/exporters/numpy_ops.py`` (read as text with
``ast``), which mirrors ``primitives/torch_ops.py``; scores agree with the compiled torch tree
to float32 rounding.
"""
from __future__ import annotations

from pathlib import Path

from primitives.metric import Metric
from primitives.recipe import Recipe
from registry.exporters.program import Dialect, metric_module, recipe_module

NUMPY = Dialect(
    ops=Path(__file__).parent / "numpy_ops.py", imports="import numpy as np", array="np.ndarray",
    cast=lambda name, bits: f"np.asarray({name}, dtype=np.float{bits})",
    constant=lambda value, bits: f"np.float{bits}({value})",
    result=lambda name, like, bits: f"np.broadcast_to({name}, np.shape({like})).astype(np.float{bits})",
    score_doc=": one score per weight, higher is kept.", metric_title=", numpy float32", recipe_title=", numpy")


def export(metric: Metric) -> str:
    """The module of ``metric(W, ...)`` in numpy."""
    return metric_module(NUMPY, metric)


def export_recipe(recipe: Recipe) -> str:
    """The score function and, with an allocation formula, ``allocation``; the parts in the docstring."""
    return recipe_module(NUMPY, recipe)
