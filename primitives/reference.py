"""The one resolver: a reference (a Metric or Recipe, a registry row, a built-in name, a registry name,
hash or hash prefix, or formula or recipe text) to a Recipe, and to a Metric where only a metric will do.

Order, first match wins:

1. a ``Recipe`` or ``Metric``: itself;
2. a registry row (a ``MetricRow``, a leaderboard entry or a JSON row): its formula or recipe as
   first written, else its canonical text; a stored hash must match;
3. a built-in name: a metric (``primitives.builtins.BUILTINS``) or a recipe (``RECIPES``);
4. with a registry, text without parentheses: the registry's entry of that name, hash or hash
   prefix (a prefix matching several entries is an error, never a guess);
5. formula text or ``recipe(...)`` text in our grammar.

``resolve_recipe`` returns every reference as a Recipe (a formula is the bare recipe with its
metric's hash); ``resolve_metric`` takes the same references and refuses a recipe with a layer
allocation or post-mask step. Text with a call in it is a formula or recipe, and a bad one raises
its own ``MetricSyntaxError``; other text that is none of these raises ``MetricReferenceError`` (a
ValueError) naming every reading tried. Which registry is consulted when none is given is
``registry.lookup``'s one rule.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, Union

from primitives.builtins import BUILTINS, RECIPES, builtin
from primitives.errors import MetricNotFound, MetricReferenceError
from primitives.grammar import MetricSyntaxError
from primitives.metric import Metric
from primitives.recipe import Recipe, builtin_recipe

__all__ = ["MetricNotFound", "MetricReferenceError", "MetricSource", "Reference", "StoredMetric", "resolve_metric",
           "resolve_recipe"]


class StoredMetric(Protocol):
    """A metric as a registry returns it: a row (``registry.MetricRow``, with the formula as first
    written in ``text``) or a leaderboard entry; a JSON row (a mapping) with the same keys works too."""

    @property
    def canonical(self) -> str: ...

    @property
    def hash(self) -> str: ...


class MetricSource(Protocol):
    """Where named metrics live (``registry.Registry``): ``get_metric`` raises MetricNotFound when
    nothing matches and another error when the reference is ambiguous or the store fails."""

    def get_metric(self, ref: str) -> StoredMetric: ...


Reference = Union[Metric, Recipe, StoredMetric, Mapping[str, Any], str]


def resolve_metric(ref: Reference, registry: MetricSource | None = None,
                   operands: Iterable[str] | None = None) -> Metric:
    """The Metric a reference names, in the module's documented order; ``operands`` limits the
    operands a formula may use. A recipe with a layer allocation or post-mask step is refused."""
    if isinstance(ref, Metric):
        return ref
    recipe = resolve_recipe(ref, registry, operands)
    if not recipe.is_bare:
        raise MetricReferenceError(f"{recipe.name or recipe.text} is a recipe (layer allocation or post-mask "
                                   "step), not a metric; only tasks that take recipes (llm-prune) score it")
    return recipe.as_metric()


def resolve_recipe(ref: Reference, registry: MetricSource | None = None,
                   operands: Iterable[str] | None = None) -> Recipe:
    """The Recipe a reference names, in the module's documented order (a metric is its bare recipe);
    ``operands`` limits the operands a score formula may use."""
    if isinstance(ref, Recipe):
        return ref
    if isinstance(ref, Metric):
        return Recipe.of(ref)
    if not isinstance(ref, str):
        return _from_row(ref, operands)
    text = ref.strip()
    if text in BUILTINS:
        return Recipe.of(builtin(text))
    if text in RECIPES:
        return builtin_recipe(text)
    missing: str | None = None
    if registry is not None and "(" not in text:
        try:
            row = registry.get_metric(text)
        except MetricNotFound as exc:
            missing = str(exc)
        else:
            return _from_row(row, operands)
    if "(" in text:  # a call: a formula or recipe, whose own syntax error is the clearest message
        return Recipe.parse(text, operands)
    try:
        return Recipe.parse(text, operands)
    except MetricSyntaxError as exc:
        where = f"not in the registry ({missing})" if missing else "no registry consulted"
        raise MetricReferenceError(f"{text!r} is not a built-in ({', '.join([*BUILTINS, *RECIPES])}), a registry "
                                   f"metric [{where}] or a formula ({exc})") from None


def _from_row(row: Any, operands: Iterable[str] | None) -> Recipe:
    """The recipe of a row: its ``text`` (the formula or recipe as first written) when it has one, else
    its ``canonical`` text taken as canonical; a stored ``hash`` must match (ValueError otherwise)."""
    def field(key: str) -> Any:
        return row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)

    text, canonical, expected, name = field("text"), field("canonical"), field("hash"), field("name")
    label = name if isinstance(name, str) else expected if isinstance(expected, str) else None
    if isinstance(text, str):
        recipe = Recipe.parse(text, operands, name=label)
    elif isinstance(canonical, str):
        recipe = Recipe.from_canonical(canonical, name=label)
    else:
        raise TypeError(f"a metric reference is a Metric, a registry row or a string, not {type(row).__name__}")
    if isinstance(expected, str) and expected != recipe.hash:
        raise ValueError(f"registry row {expected} does not match its formula {recipe.text!r} ({recipe.hash})")
    return recipe
