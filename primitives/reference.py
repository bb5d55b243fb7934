"""The one resolver: a reference (a Metric, a registry row, a built-in name, a registry name, hash or
hash prefix, or a formula) to a Metric.

Order, first match wins:

1. a ``Metric``: itself;
2. a registry row (anything with ``text``, ``name`` and ``hash``): the formula as stored;
3. a built-in name (``primitives.builtins.BUILTINS``);
4. with a registry, text without parentheses: the registry's metric of that name, hash or hash
   prefix (a prefix matching several metrics is an error, never a guess);
5. formula text in our grammar.

Text with a call in it is a formula, and a bad one raises its own ``MetricSyntaxError``; other text
that is none of these raises ``MetricReferenceError`` (a ValueError) naming every reading tried.
Which registry is consulted when none is given is ``registry.lookup``'s one rule.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, Union

from primitives.builtins import BUILTINS, builtin
from primitives.errors import MetricNotFound, MetricReferenceError
from primitives.grammar import MetricSyntaxError
from primitives.metric import Metric

__all__ = ["MetricNotFound", "MetricReferenceError", "MetricSource", "Reference", "StoredMetric", "resolve_metric"]


class StoredMetric(Protocol):
    """A metric as a registry returns it (``registry.MetricRow``)."""

    @property
    def text(self) -> str: ...

    @property
    def name(self) -> str | None: ...

    @property
    def hash(self) -> str: ...


class MetricSource(Protocol):
    """Where named metrics live (``registry.Registry``): ``get_metric`` raises MetricNotFound when
    nothing matches and another error when the reference is ambiguous or the store fails."""

    def get_metric(self, ref: str) -> StoredMetric: ...


Reference = Union[Metric, StoredMetric, str]


def resolve_metric(ref: Reference, registry: MetricSource | None = None,
                   operands: Iterable[str] | None = None) -> Metric:
    """The Metric a reference names, in the module's documented order; ``operands`` limits the
    operands a formula may use."""
    if isinstance(ref, Metric):
        return ref
    if not isinstance(ref, str):
        if all(hasattr(ref, a) for a in ("text", "name", "hash")):
            return Metric.parse(ref.text, operands, name=ref.name or ref.hash)
        raise TypeError(f"a metric reference is a Metric, a registry row or a string, not {type(ref).__name__}")
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
            return Metric.parse(row.text, operands, name=row.name or row.hash)
    if "(" in text:  # a call: a formula, whose own syntax error is the clearest message
        return Metric.parse(text, operands)
    try:
        return Metric.parse(text, operands)
    except MetricSyntaxError as exc:
        where = f"not in the registry ({missing})" if missing else "no registry consulted"
        raise MetricReferenceError(f"{text!r} is not a built-in ({', '.join(BUILTINS)}), a registry metric "
                             f"[{where}] or a formula ({exc})") from None
