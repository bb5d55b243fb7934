"""Self-contained Python source of a torch function computing the metric's scores.

The operator helpers are copied from ``primitives/torch_ops.py`` (read as text with ``ast``,
not imported), so exported code and the compiled tree share one implementation.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import primitives
from primitives.metric import Metric
from primitives.tree import format_number, to_text
from registry.exporters.operand_docs import operand_lines


@lru_cache(maxsize=None)
def _helper_sources() -> dict[str, str]:
    source = (Path(primitives.__file__).parent / "torch_ops.py").read_text()
    module = ast.parse(source)
    helpers = {"EPS": "EPS = 1e-12"}
    for node in module.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("op_"):
            helpers[node.name[3:]] = ast.get_source_segment(source, node) or ""
    return helpers


def export(metric: Metric) -> str:
    tree = metric.canonical_tree
    helpers = _helper_sources()
    used = sorted({n.name for n in tree.postorder() if n.args})
    operands = ("W",) + tuple(o for o in tree.operands() if o != "W")
    lines: list[str] = []
    names: dict[str, str] = {}  # subtree text -> variable, so shared subtrees are computed once
    for node in tree.postorder():
        key = to_text(node)
        if key in names:
            continue
        if node.is_operand:
            names[key] = f"{node.name}.float()"
            continue
        if node.is_const:
            expr = f"torch.tensor({format_number(node.value)}, dtype=torch.float32)"  # type: ignore[arg-type]
        else:
            expr = f"op_{node.name}({', '.join(names[to_text(a)] for a in node.args)})"
        names[key] = f"t{len(lines)}"
        lines.append(f"    {names[key]} = {expr}")
    result = f"torch.broadcast_to({names[to_text(tree)]}, W.shape)"
    signature = ", ".join(f"{name}: torch.Tensor" for name in operands)
    doc = "\n".join(operand_lines(metric, "    "))
    header = [f'"""Scores of the metric {metric.canonical} (hash {metric.hash}).', "", "Operands:", doc, '"""',
              "import torch", "", helpers["EPS"], ""]
    body = [helpers[name] + "\n" for name in used]
    fn = [f"def metric({signature}) -> torch.Tensor:",
          f'    """{metric.canonical}"""', *lines,
          f"    return {result}", ""]
    return "\n".join(header + body + fn)
