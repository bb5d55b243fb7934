"""The one resolver: a reference (a Metric, a registry row, a built-in name, a registry name, hash or
hash prefix, or a formula) to a Metric.

Order, first match wins:

1. a ``Metric``: itself;
2. a registry row (a ``MetricRow``, a leaderboard entry or a JSON row): its formula as first
   written, else its canonical text; a stored hash must match;
3. a built-in name (``primitives.builtins.BUILTINS``);
4. with a registry, text without parentheses: the registry's metric of that name, hash or hash
   prefix (a prefix matching several metrics is an error, never a guess);
5. formula text in our grammar.

Text with a call in it is a formula, and a bad one raises its own ``MetricSyntaxError``; other text
that is none of these raises ``MetricReferenceError`` (a ValueError) naming every reading tried.
Which registry is consulted when none is given is ``registry.lookup``'s one rule.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, Union

from primitives.builtins import BUILTINS, builtin
from primitives.errors import MetricNotFound, MetricReferenceError
from primitives.grammar import MetricSyntaxError
from primitives.metric import Metric

__all__ = ["MetricNotFound", "MetricReferenceError", "MetricSource", "Reference", "StoredMetric", "resolve_metric"]


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


Reference = Union[Metric, StoredMetric, Mapping[str, Any], str]


def resolve_metric(ref: Reference, registry: MetricSource | None = None,
                   operands: Iterable[str] | None = None) -> Metric:
    """The Metric a reference names, in the module's documented order; ``operands`` limits the
    operands a formula may use."""
    if isinstance(ref, Metric):
        return ref
    if not isinstance(ref, str):
        return _from_row(ref, operands)
    text = ref.strip()
    if text in BUILTINS:
        return builtin(text)
    missing: str | None = None
    if registry is not None and "(" not in text:
        try:
            row = registry.get_metric(text)
        except MetricNotFound as exc:
            missing = str(exc)
        else:
            return _from_row(row, operands)
    if "(" in text:  # a call: a formula, whose own syntax error is the clearest message
        return Metric.parse(text, operands)
    try:
        return Metric.parse(text, operands)
    except MetricSyntaxError as exc:
        where = f"not in the registry ({missing})" if missing else "no registry consulted"
        raise MetricReferenceError(f"{text!r} is not a built-in ({', '.join(BUILTINS)}), a registry metric "
                             f"[{where}] or a formula ({exc})") from None


def _from_row(row: Any, operands: Iterable[str] | None) -> Metric:
    """The metric of a row: its ``text`` (the formula as first written) when it has one, else its
    ``canonical`` text taken as canonical; a stored ``hash`` must match (ValueError otherwise)."""
    def field(key: str) -> Any:
        return row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)

    text, canonical, expected, name = field("text"), field("canonical"), field("hash"), field("name")
    label = name if isinstance(name, str) else expected if isinstance(expected, str) else None
    if isinstance(text, str):
        metric = Metric.parse(text, operands, name=label)
    elif isinstance(canonical, str):
        metric = Metric.from_canonical(canonical, name=label)
    else:
        raise TypeError(f"a metric reference is a Metric, a registry row or a string, not {type(row).__name__}")
    if isinstance(expected, str) and expected != metric.hash:
        raise ValueError(f"registry row {expected} does not match its formula {metric.text!r} ({metric.hash})")
    return metric
