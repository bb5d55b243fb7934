"""JSON tree with its text, canonical form, hash and operand docs; read back by ``Metric.from_json`` and
``registry import`` (a recipe: its parts and both trees, ``metricforge.recipe/1``)."""
import json

from primitives.metric import Metric
from primitives.recipe import Recipe
from registry.exporters.operand_docs import operand_docs


def export(metric: Metric) -> str:
    return json.dumps({**metric.to_dict(), "operands": operand_docs(metric)}, indent=2)


def export_recipe(recipe: Recipe) -> str:
    statistics = operand_docs(recipe.alloc, scores=False) if recipe.alloc is not None else {}
    return json.dumps({**recipe.to_dict(), "operands": operand_docs(recipe.score), "statistics": statistics}, indent=2)
