"""Exporters: one module per target format, each with ``export(metric) -> str``; every export
states each operand's shape and meaning (``operand_docs``)."""
from __future__ import annotations

from importlib import import_module
from typing import Callable

from primitives.metric import Metric

FORMATS: tuple[str, ...] = ("text", "latex", "sympy", "python", "numpy", "json")


def exporter(fmt: str) -> Callable[[Metric], str]:
    """The export function for a format name."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return import_module(f"registry.exporters.{fmt}_format").export


def export(metric: Metric, fmt: str) -> str:
    return exporter(fmt)(metric)
