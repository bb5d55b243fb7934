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
from registry.exporters.operand_docs import operand_lines
from registry.exporters.program import helper_sources, recipe_lines, straight_line


def _score(metric: Metric) -> tuple[list[str], list[str]]:
    """(source lines of ``metric(W, ...)``, operators used)."""
    tree = metric.canonical_tree
    operands = ("W",) + tuple(o for o in tree.operands() if o != "W")
    lines, result_name, used = straight_line(tree, lambda name: f"np.asarray({name}, dtype=np.float32)",
                                             lambda value: f"np.float32({value})")
    signature = ", ".join(f"{name}: np.ndarray" for name in operands)
    return [f"def metric({signature}) -> np.ndarray:",
            f'    """{metric.canonical}: one score per weight, higher is kept."""', *lines,
            f"    return np.broadcast_to({result_name}, np.shape(W)).astype(np.float32)", ""], used


def _allocation(alloc: Metric) -> tuple[list[str], list[str]]:
    """(source lines of ``allocation(...)`` over 1-D float64 per-unit statistics, operators used)."""
    tree = alloc.canonical_tree
    operands = tree.operands()
    lines, result_name, used = straight_line(tree, lambda name: f"np.asarray({name}, dtype=np.float64)",
                                             lambda value: f"np.float64({value})")
    signature = ", ".join(f"{name}: np.ndarray" for name in operands)
    return [f"def allocation({signature}) -> np.ndarray:",
            f'    """{alloc.canonical}: one value per unit (arguments are 1-D, one entry per unit)."""', *lines,
            f"    return np.broadcast_to({result_name}, np.shape({operands[0]})).astype(np.float64)", ""], used


def _module(doc: list[str], functions: list[tuple[list[str], list[str]]]) -> str:
    helpers = helper_sources(Path(__file__).parent / "numpy_ops.py")
    used = sorted({name for _, names in functions for name in names})
    header = ['"""' + doc[0], *doc[1:], '"""', "import numpy as np", "", helpers["EPS"], ""]
    return "\n".join(header + [helpers[name] + "\n" for name in used] + [line for lines, _ in functions for line in lines])


def export(metric: Metric) -> str:
    doc = [f"Scores of the metric {metric.canonical} (hash {metric.hash}), numpy float32.", "", "Operands:",
           *operand_lines(metric, "    ")]
    return _module(doc, [_score(metric)])


def export_recipe(recipe: Recipe) -> str:
    """The score function and, with an allocation formula, ``allocation``; the parts in the docstring."""
    doc = [f"The recipe {recipe.canonical} (hash {recipe.hash}), numpy.", "", *recipe_lines(recipe, "    "), "",
           "Score operands:", *operand_lines(recipe.score, "    ")]
    functions = [_score(recipe.score)]
    if recipe.alloc is not None:
        doc += ["Allocation statistics:", *operand_lines(recipe.alloc, "    ", scores=False)]
        functions.append(_allocation(recipe.alloc))
    return _module(doc, functions)
