"""Self-contained numpy source of a function computing the metric's scores (no torch needed).

The operator helpers are copied from ``registry/exporters/numpy_ops.py`` (read as text with
``ast``), which mirrors ``primitives/torch_ops.py``; scores agree with the compiled torch tree
to float32 rounding.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

from primitives.metric import Metric
from primitives.tree import format_number, to_text
from registry.exporters.operand_docs import operand_lines


@lru_cache(maxsize=None)
def _helper_sources() -> dict[str, str]:
    source = (Path(__file__).parent / "numpy_ops.py").read_text()
    helpers = {"EPS": "EPS = 1e-12"}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("op_"):
            helpers[node.name[3:]] = ast.get_source_segment(source, node) or ""
    return helpers


def export(metric: Metric) -> str:
    tree = metric.canonical_tree
    helpers = _helper_sources()
    used = sorted({n.name for n in tree.postorder() if n.args})
    operands = ("W",) + tuple(o for o in tree.operands() if o != "W")
    lines: list[str] = []
    names: dict[str, str] = {}
    for node in tree.postorder():
        key = to_text(node)
        if key in names:
            continue
        if node.is_operand:
            names[key] = f"np.asarray({node.name}, dtype=np.float32)"
            continue
        if node.is_const:
            expr = f"np.float32({format_number(node.value)})"  # type: ignore[arg-type]
        else:
            expr = f"op_{node.name}({', '.join(names[to_text(a)] for a in node.args)})"
        names[key] = f"t{len(lines)}"
        lines.append(f"    {names[key]} = {expr}")
    signature = ", ".join(f"{name}: np.ndarray" for name in operands)
    doc = "\n".join(operand_lines(metric, "    "))
    header = [f'"""Scores of the metric {metric.canonical} (hash {metric.hash}), numpy float32.', "",
              "Operands:", doc, '"""', "import numpy as np", "", helpers["EPS"], ""]
    body = [helpers[name] + "\n" for name in used]
    fn = [f"def metric({signature}) -> np.ndarray:",
          f'    """{metric.canonical}: one score per weight, higher is kept."""', *lines,
          f"    return np.broadcast_to({names[to_text(tree)]}, np.shape(W)).astype(np.float32)", ""]
    return "\n".join(header + body + fn)
