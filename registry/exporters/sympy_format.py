"""The sympy expression as ``srepr`` text (protected operators appear as named functions)."""
import sympy

from primitives.metric import Metric
from primitives.sympy_bridge import to_sympy


def export(metric: Metric) -> str:
    return sympy.srepr(to_sympy(metric.canonical_tree))
