"""Self-contained numpy source of a function computing the metric's scores (no torch needed).

The operator helpers are copied from ``registry/exporters/numpy_ops.py`` (read as text with
``ast``), which mirrors ``primitives/torch_ops.py``; scores agree with the compiled torch tree
to float32 rounding.
"""
from __future__ import annotations

from pathlib import Path

from primitives.metric import Metric
from registry.exporters.operand_docs import operand_lines
from registry.exporters.program import helper_sources, straight_line


def export(metric: Metric) -> str:
    tree = metric.canonical_tree
    helpers = helper_sources(Path(__file__).parent / "numpy_ops.py")
    operands = ("W",) + tuple(o for o in tree.operands() if o != "W")
    lines, result_name, used = straight_line(tree, lambda name: f"np.asarray({name}, dtype=np.float32)",
                                             lambda value: f"np.float32({value})")
    signature = ", ".join(f"{name}: np.ndarray" for name in operands)
    doc = "\n".join(operand_lines(metric, "    "))
    header = [f'"""Scores of the metric {metric.canonical} (hash {metric.hash}), numpy float32.', "",
              "Operands:", doc, '"""', "import numpy as np", "", helpers["EPS"], ""]
    body = [helpers[name] + "\n" for name in used]
    fn = [f"def metric({signature}) -> np.ndarray:",
          f'    """{metric.canonical}: one score per weight, higher is kept."""', *lines,
          f"    return np.broadcast_to({result_name}, np.shape(W)).astype(np.float32)", ""]
    return "\n".join(header + body + fn)
