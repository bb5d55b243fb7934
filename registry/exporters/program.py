"""What the source exporters share: operator helpers read as text and a straight-line program.

``helper_sources(path)`` reads the ``op_*`` functions of an operator module with ``ast`` (never
importing it); ``straight_line(tree, operand, constant)`` lists one assignment per distinct
subtree in evaluation order, so shared subtrees are computed once. A ``Dialect`` says how one
array library spells casts, constants and results; ``metric_module`` and ``recipe_module`` write a
whole module in it.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from primitives.metric import Metric
from primitives.recipe import Recipe
from primitives.tree import Node, format_number, to_text
from registry.exporters.operand_docs import operand_lines

POST_STEPS = {
    "none": "none: the masks alone",
    "dsnot": "dsnot: DSnoT's prune-and-grow swaps inside each row (attention layers), no weight changes",
    "swap": "swap: greedy swaps inside each row lowering its output error d H d^T on calibration inputs, "
            "H = X^T X, d the pruned weights; no weight changes",
    "ls": "ls: each row's kept weights w_K += (H_KK)^-1 H_KP w_P, H = X^T X damped by 1% of its mean diagonal",
    "obs": "obs: SparseGPT's OBS update of the kept weights for the mask",
}


@lru_cache(maxsize=None)
def helper_sources(path: Path) -> dict[str, str]:
    """Operator name -> source of its ``op_`` function, plus ``EPS``."""
    source = path.read_text()
    helpers = {"EPS": "EPS = 1e-12"}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("op_"):
            helpers[node.name[3:]] = ast.get_source_segment(source, node) or ""
    return helpers


def straight_line(tree: Node, operand: Callable[[str], str], constant: Callable[[str], str]) -> tuple[list[str], str, list[str]]:
    """(assignment lines, name of the result, operators used) computing ``tree``."""
    lines: list[str] = []
    names: dict[str, str] = {}  # subtree text -> variable
    for node in tree.postorder():
        key = to_text(node)
        if key in names:
            continue
        if node.is_operand:
            names[key] = operand(node.name)
            continue
        if node.is_const:
            expr = constant(format_number(node.value))  # type: ignore[arg-type]
        else:
            expr = f"op_{node.name}({', '.join(names[to_text(a)] for a in node.args)})"
        names[key] = f"t{len(lines)}"
        lines.append(f"    {names[key]} = {expr}")
    used = sorted({n.name for n in tree.postorder() if n.args})
    return lines, names[to_text(tree)], used


def recipe_lines(recipe: Recipe, prefix: str = "") -> list[str]:
    """What each part of a recipe does, one line each: score, allocation, post-mask step."""
    if recipe.alloc is None:
        alloc = "uniform: every layer at the target sparsity S"
    else:
        alloc = (f"{recipe.alloc.canonical} per {recipe.unit}: its values map linearly to sparsities in "
                 "[S - 0.08, S + 0.08], higher value keeps more, size-weighted mean exactly S")
    return [f"{prefix}score: {recipe.score.canonical} (hash {recipe.score.hash}), higher is kept",
            f"{prefix}allocation: {alloc}", f"{prefix}post: {POST_STEPS[recipe.post]}"]


@dataclass(frozen=True)
class Dialect:
    """How exported source spells one array library: its operator module, import, array type,
    casts and constants at a float width (32 for scores, 64 for allocations) and the result."""

    ops: Path
    imports: str
    array: str
    cast: Callable[[str, int], str]
    constant: Callable[[str, int], str]
    result: Callable[[str, str, int], str]  # (result name, operand whose shape it takes, width)
    score_doc: str  # appended to the score function's docstring
    metric_title: str  # appended to "... (hash H)" in the module docstring of a metric
    recipe_title: str  # the same for a recipe


def _function(dialect: Dialect, name: str, tree: Node, operands: tuple[str, ...], bits: int,
              doc: str) -> tuple[list[str], list[str]]:
    """(source lines of ``name(operands)``, operators used)."""
    lines, result_name, used = straight_line(tree, lambda op: dialect.cast(op, bits),
                                             lambda value: dialect.constant(value, bits))
    signature = ", ".join(f"{op}: {dialect.array}" for op in operands)
    return [f"def {name}({signature}) -> {dialect.array}:", f'    """{doc}"""', *lines,
            f"    return {dialect.result(result_name, operands[0], bits)}", ""], used


def _score(dialect: Dialect, metric: Metric) -> tuple[list[str], list[str]]:
    tree = metric.canonical_tree
    operands = ("W",) + tuple(o for o in tree.operands() if o != "W")
    return _function(dialect, "metric", tree, operands, 32, metric.canonical + dialect.score_doc)


def _module(dialect: Dialect, doc: list[str], functions: list[tuple[list[str], list[str]]]) -> str:
    helpers = helper_sources(dialect.ops)
    used = sorted({name for _, names in functions for name in names})
    header = ['"""' + doc[0], *doc[1:], '"""', dialect.imports, "", helpers["EPS"], ""]
    return "\n".join(header + [helpers[name] + "\n" for name in used] + [line for lines, _ in functions for line in lines])


def metric_module(dialect: Dialect, metric: Metric) -> str:
    """A module with ``metric(W, ...)``, the operand meanings in its docstring."""
    doc = [f"Scores of the metric {metric.canonical} (hash {metric.hash}){dialect.metric_title}.", "", "Operands:",
           *operand_lines(metric, "    ")]
    return _module(dialect, doc, [_score(dialect, metric)])


def recipe_module(dialect: Dialect, recipe: Recipe) -> str:
    """The score function and, with an allocation formula, ``allocation`` over 1-D per-unit
    statistics; the recipe's parts in the docstring."""
    doc = [f"The recipe {recipe.canonical} (hash {recipe.hash}){dialect.recipe_title}.", "",
           *recipe_lines(recipe, "    "), "", "Score operands:", *operand_lines(recipe.score, "    ")]
    functions = [_score(dialect, recipe.score)]
    if recipe.alloc is not None:
        doc += ["Allocation statistics:", *operand_lines(recipe.alloc, "    ", scores=False)]
        alloc = recipe.alloc.canonical_tree
        functions.append(_function(dialect, "allocation", alloc, tuple(alloc.operands()), 64,
                                   f"{recipe.alloc.canonical}: one value per unit (arguments are 1-D, one entry per unit)."))
    return _module(dialect, doc, functions)
