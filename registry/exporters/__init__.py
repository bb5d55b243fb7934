"""Exporters: one module per target format, each with ``export(metric) -> str`` and
``export_recipe(recipe) -> str`` (what each part of the recipe does, its score and its allocation
formula); every export states each operand's shape and meaning (``operand_docs``)."""
from __future__ import annotations

from importlib import import_module
from typing import Callable

from primitives.metric import Metric
from primitives.recipe import Entry, Recipe

FORMATS: tuple[str, ...] = ("text", "latex", "sympy", "python", "numpy", "json")


def exporter(fmt: str) -> Callable[[Entry], str]:
    """The export function for a format name: a metric (or bare recipe) by ``export``, any other recipe
    by ``export_recipe``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    module = import_module(f"registry.exporters.{fmt}_format")

    def write(entry: Entry) -> str:
        if isinstance(entry, Recipe):
            return module.export_recipe(entry) if not entry.is_bare else module.export(entry.as_metric())
        return module.export(entry)

    return write


def export(metric: Entry, fmt: str) -> str:
    return exporter(fmt)(metric)
