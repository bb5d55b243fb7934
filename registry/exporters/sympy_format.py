"""The sympy expression as ``srepr`` text (protected operators appear as named functions); a recipe's
score and allocation formula on their own lines, after ``#`` lines naming each part."""
import sympy

from primitives.metric import Metric
from primitives.recipe import Recipe
from primitives.sympy_bridge import to_sympy
from registry.exporters.operand_docs import operand_lines
from registry.exporters.program import recipe_lines


def export(metric: Metric) -> str:
    return "\n".join([*operand_lines(metric, "# "), sympy.srepr(to_sympy(metric.canonical_tree))])


def export_recipe(recipe: Recipe) -> str:
    lines = [*recipe_lines(recipe, "# "), *operand_lines(recipe.score, "# "),
             "score = " + sympy.srepr(to_sympy(recipe.score.canonical_tree))]
    if recipe.alloc is not None:
        lines += [*operand_lines(recipe.alloc, "# ", scores=False),
                  "allocation = " + sympy.srepr(to_sympy(recipe.alloc.canonical_tree))]
    return "\n".join(lines)
