"""Canonical prefix text: the form every hash is taken from."""
from primitives.metric import Metric


def export(metric: Metric) -> str:
    return metric.canonical
