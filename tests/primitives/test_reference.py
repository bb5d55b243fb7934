"""The one resolver: a reference to a Metric, in one order, errors never swallowed."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from primitives.builtins import builtin
from primitives.errors import MetricNotFound, MetricReferenceError
from primitives.grammar import MetricSyntaxError
from primitives.metric import Metric
from primitives.reference import resolve_metric


@dataclass(frozen=True)
class Row:
    text: str
    name: str | None
    hash: str


class Ambiguous(LookupError):
    """Not a MetricNotFound: must reach the caller."""


class Store:
    """A metric source with one named metric; counts its lookups."""

    def __init__(self) -> None:
        self.lookups: list[str] = []
        self.row = Row("mul(sqr(W), X)", "mine", Metric.parse("mul(sqr(W), X)").hash)

    def get_metric(self, ref: str) -> Row:
        self.lookups.append(ref)
        if ref in ("mine", self.row.hash[:8]):
            return self.row
        if ref == "abcdef":
            raise Ambiguous("hash prefix 'abcdef' matches several metrics")
        raise MetricNotFound(f"no metric {ref!r}")


def test_order_metric_row_builtin_registry_formula() -> None:
    store = Store()
    metric = Metric.parse("abs(W)")
    assert resolve_metric(metric, store) is metric
    assert resolve_metric(store.row).hash == store.row.hash and resolve_metric(store.row).name == "mine"
    assert resolve_metric(" wanda ", store).hash == builtin("wanda").hash
    assert resolve_metric("mine", store).hash == store.row.hash
    assert resolve_metric(store.row.hash[:8], store).name == "mine"
    assert resolve_metric("mul(abs(W), sqrt(X))", store).operands == ("W", "X")
    assert resolve_metric("X", store).text == "X"  # not in the registry: a formula
    assert store.lookups == ["mine", store.row.hash[:8], "X"]  # built-ins and calls never reach the store


def test_unknown_reference_names_every_reading() -> None:
    with pytest.raises(MetricReferenceError, match=r"not a built-in .*not in the registry \(no metric 'nope'\).*formula"):
        resolve_metric("nope", Store())
    with pytest.raises(MetricReferenceError, match="no registry consulted"):
        resolve_metric("nope")
    with pytest.raises(MetricSyntaxError, match="unknown operator"):
        resolve_metric("nope(W)", Store())


def test_registry_errors_other_than_not_found_propagate() -> None:
    with pytest.raises(Ambiguous):
        resolve_metric("abcdef", Store())


def test_operands_limit_formulas() -> None:
    assert resolve_metric("mul(gnorm, freq)", operands=("gnorm", "freq")).operands == ("freq", "gnorm")
    with pytest.raises(MetricSyntaxError):  # a call is a formula: its own error, not "no such reference"
        resolve_metric("mul(W, X)", operands=("gnorm",))
    with pytest.raises(TypeError):
        resolve_metric(3)  # type: ignore[arg-type]
