"""Self-contained Python source of a torch function computing the metric's scores.

The operator helpers are copied from ``primitives/torch_ops.py`` (read as text with ``ast``,
not imported), so exported code and the compiled tree share one implementation.
"""
from __future__ import annotations

from pathlib import Path

import primitives
from primitives.metric import Metric
from registry.exporters.operand_docs import operand_lines
from registry.exporters.program import helper_sources, straight_line


def export(metric: Metric) -> str:
    tree = metric.canonical_tree
    helpers = helper_sources(Path(primitives.__file__).parent / "torch_ops.py")
    operands = ("W",) + tuple(o for o in tree.operands() if o != "W")
    lines, result_name, used = straight_line(tree, lambda name: f"{name}.float()",
                                             lambda value: f"torch.tensor({value}, dtype=torch.float32)")
    result = f"torch.broadcast_to({result_name}, W.shape)"
    signature = ", ".join(f"{name}: torch.Tensor" for name in operands)
    doc = "\n".join(operand_lines(metric, "    "))
    header = [f'"""Scores of the metric {metric.canonical} (hash {metric.hash}).', "", "Operands:", doc, '"""',
              "import torch", "", helpers["EPS"], ""]
    body = [helpers[name] + "\n" for name in used]
    fn = [f"def metric({signature}) -> torch.Tensor:",
          f'    """{metric.canonical}"""', *lines,
          f"    return {result}", ""]
    return "\n".join(header + body + fn)
