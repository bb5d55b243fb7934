"""Resolve what a user typed into a Metric or Recipe (``registry.lookup``: one order, one default registry)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from primitives.metric import Metric
    from primitives.recipe import Recipe


def resolve_metric(ref: str, registry_url: Optional[str] = None) -> Metric:
    """A built-in name, a registry name/hash/prefix or a formula (``primitives.reference`` gives the order)."""
    from registry.lookup import resolve_reference

    return resolve_reference(ref, registry_url)


def resolve_recipe(ref: str, registry_url: Optional[str] = None) -> Recipe:
    """A built-in metric or recipe name, a registry name/hash/prefix, a formula or ``recipe(...)`` text."""
    from registry.lookup import resolve_recipe_reference

    return resolve_recipe_reference(ref, registry_url)
