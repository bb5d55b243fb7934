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
from registry.exporters.operand_docs import operand_lines
from registry.exporters.program import helper_sources, recipe_lines, straight_line


def _score(metric: Metric) -> tuple[list[str], list[str]]:
    """(source lines of ``metric(W, ...)``, operators used)."""
    tree = metric.canonical_tree
    operands = ("W",) + tuple(o for o in tree.operands() if o != "W")
    lines, result_name, used = straight_line(tree, lambda name: f"{name}.float()",
                                             lambda value: f"torch.tensor({value}, dtype=torch.float32)")
    signature = ", ".join(f"{name}: torch.Tensor" for name in operands)
    return [f"def metric({signature}) -> torch.Tensor:", f'    """{metric.canonical}"""', *lines,
            f"    return torch.broadcast_to({result_name}, W.shape)", ""], used


def _allocation(alloc: Metric) -> tuple[list[str], list[str]]:
    """(source lines of ``allocation(...)`` over 1-D float64 per-unit statistics, operators used)."""
    tree = alloc.canonical_tree
    operands = tree.operands()
    lines, result_name, used = straight_line(tree, lambda name: f"{name}.double()",
                                             lambda value: f"torch.tensor({value}, dtype=torch.float64)")
    signature = ", ".join(f"{name}: torch.Tensor" for name in operands)
    return [f"def allocation({signature}) -> torch.Tensor:",
            f'    """{alloc.canonical}: one value per unit (arguments are 1-D, one entry per unit)."""', *lines,
            f"    return torch.broadcast_to({result_name}, {operands[0]}.shape)", ""], used


def _module(doc: list[str], functions: list[tuple[list[str], list[str]]]) -> str:
    helpers = helper_sources(Path(primitives.__file__).parent / "torch_ops.py")
    used = sorted({name for _, names in functions for name in names})
    header = ['"""' + doc[0], *doc[1:], '"""', "import torch", "", helpers["EPS"], ""]
    return "\n".join(header + [helpers[name] + "\n" for name in used] + [line for lines, _ in functions for line in lines])


def export(metric: Metric) -> str:
    doc = [f"Scores of the metric {metric.canonical} (hash {metric.hash}).", "", "Operands:",
           *operand_lines(metric, "    ")]
    return _module(doc, [_score(metric)])


def export_recipe(recipe: Recipe) -> str:
    """The score function and, with an allocation formula, ``allocation``; the parts in the docstring."""
    doc = [f"The recipe {recipe.canonical} (hash {recipe.hash}).", "", *recipe_lines(recipe, "    "), "",
           "Score operands:", *operand_lines(recipe.score, "    ")]
    functions = [_score(recipe.score)]
    if recipe.alloc is not None:
        doc += ["Allocation statistics:", *operand_lines(recipe.alloc, "    ", scores=False)]
        functions.append(_allocation(recipe.alloc))
    return _module(doc, functions)
