"""What the source exporters share: operator helpers read as text and a straight-line program.

``helper_sources(path)`` reads the ``op_*`` functions of an operator module with ``ast`` (never
importing it); ``straight_line(tree, operand, constant)`` lists one assignment per distinct
subtree in evaluation order, so shared subtrees are computed once.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Callable

from primitives.recipe import Recipe
from primitives.tree import Node, format_number, to_text

POST_STEPS = {
    "none": "none: the masks alone",
    "dsnot": "dsnot: DSnoT's prune-and-grow swaps inside each row (attention layers), no weight changes",
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
