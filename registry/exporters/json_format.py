"""JSON tree with its text, canonical form, hash and operand docs; read back by ``Metric.from_json``."""
import json

from primitives.metric import Metric
from registry.exporters.operand_docs import operand_docs


def export(metric: Metric) -> str:
    return json.dumps({**metric.to_dict(), "operands": operand_docs(metric)}, indent=2)
