"""Canonical prefix text (the form every hash is taken from) on the first line, then ``#`` lines
stating each operand's shape and meaning."""
from primitives.metric import Metric
from registry.exporters.operand_docs import operand_lines


def export(metric: Metric) -> str:
    return "\n".join([metric.canonical, *operand_lines(metric, "# ")]) + "\n"
