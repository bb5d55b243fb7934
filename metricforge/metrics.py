"""Resolve what a user typed into a Metric: a built-in name, a formula, or a registry entry."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from primitives.metric import Metric


def resolve_metric(ref: str, registry_url: Optional[str] = None) -> Metric:
    """Built-in name, then formula text, then registry name/hash/prefix (when a registry is usable)."""
    from primitives.builtins import BUILTINS, builtin
    from primitives.grammar import MetricSyntaxError
    from primitives.metric import Metric

    if ref in BUILTINS:
        return builtin(ref)
    try:
        return Metric.parse(ref)
    except MetricSyntaxError as syntax_error:
        if "(" in ref:
            raise
        from registry.errors import NotFoundError
        from registry.store import Registry

        with Registry.open(registry_url) as reg:
            try:
                row = reg.get_metric(ref)
            except NotFoundError:
                raise ValueError(f"{ref!r} is not a built-in, a formula ({syntax_error}) or a registry entry") from None
        return Metric.parse(row.canonical, name=row.name)
