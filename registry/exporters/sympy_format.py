"""The sympy expression as ``srepr`` text (protected operators appear as named functions)."""
import sympy

from primitives.metric import Metric
from primitives.sympy_bridge import to_sympy
from registry.exporters.operand_docs import operand_lines


def export(metric: Metric) -> str:
    return "\n".join([*operand_lines(metric, "# "), sympy.srepr(to_sympy(metric.canonical_tree))])
