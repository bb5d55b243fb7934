"""Resolve what a user typed into a Metric (``registry.lookup``: one order, one default registry)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from primitives.metric import Metric


def resolve_metric(ref: str, registry_url: Optional[str] = None) -> Metric:
    """A built-in name, a registry name/hash/prefix or a formula (``primitives.reference`` gives the order)."""
    from registry.lookup import resolve_reference

    return resolve_reference(ref, registry_url)
