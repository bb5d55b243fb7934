"""Canonical prefix text (the form every hash is taken from) on the first line, then ``#`` lines
stating each operand's shape and meaning (for a recipe, first what each part does)."""
from primitives.metric import Metric
from primitives.recipe import Recipe
from registry.exporters.operand_docs import operand_lines
from registry.exporters.program import recipe_lines


def export(metric: Metric) -> str:
    return "\n".join([metric.canonical, *operand_lines(metric, "# ")]) + "\n"


def export_recipe(recipe: Recipe) -> str:
    alloc = operand_lines(recipe.alloc, "# ", scores=False) if recipe.alloc is not None else []
    return "\n".join([recipe.canonical, *recipe_lines(recipe, "# "), *operand_lines(recipe.score, "# "), *alloc]) + "\n"
