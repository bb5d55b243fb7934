"""JSON tree with its text, canonical form and hash; read back by ``Metric.from_json``."""
from primitives.metric import Metric


def export(metric: Metric) -> str:
    return metric.to_json()
