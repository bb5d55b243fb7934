"""Adding and looking up metrics."""
from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import pytest

from registry import AmbiguousError, NotFoundError, RegistryError


@dataclass(frozen=True)
class FakeMetric:
    """A metric-shaped object with a chosen hash (to force prefix collisions)."""

    hash: str
    canonical: str
    text: str = "W"
    rank_hash: str = "0" * 16
    operands: tuple[str, ...] = ("W",)
    complexity: int = 1


def test_add_is_idempotent_on_hash(registry, parse):
    first = registry.add_metric(parse("mul(abs(W), X)"))
    again = registry.add_metric(parse("mul(X, abs(W))"))  # other text, same canonical form
    assert again.id == first.id and again.hash == first.hash
    assert again.text == "mul(abs(W), X)"  # the text as first written is kept
    assert len(registry.list_metrics()) == 1
    assert first.operands == ("W", "X") and first.complexity == 4


def test_rows_are_frozen_plain_records(registry, parse):
    row = registry.add_metric(parse("W"))
    with pytest.raises(FrozenInstanceError):
        row.name = "x"  # type: ignore[misc]
    assert row.created_at.tzinfo is not None


def test_name_is_set_once_and_unique(registry, parse):
    registry.add_metric(parse("W"))
    assert registry.add_metric(parse("W"), name="magnitude").name == "magnitude"
    assert registry.add_metric(parse("W")).name == "magnitude"
    with pytest.raises(RegistryError, match="already named"):
        registry.add_metric(parse("W"), name="other")
    with pytest.raises(RegistryError):
        registry.add_metric(parse("X"), name="magnitude")
    assert registry.get_metric("magnitude").hash == parse("W").hash


def test_get_by_name_hash_prefix_and_text(registry, parse):
    wanda = parse("mul(abs(W), X)")
    registry.add_metric(wanda, name="wanda")
    registry.add_metric(parse("W"))
    assert registry.get_metric("wanda").hash == wanda.hash
    assert registry.get_metric(wanda.hash).name == "wanda"
    assert registry.get_metric(wanda.hash[:6]).name == "wanda"
    assert registry.get_metric(wanda.hash[:8].upper()).name == "wanda"
    assert registry.get_metric("mul(X, abs(W))").name == "wanda"


def test_get_errors(registry, parse):
    registry.add_metric(FakeMetric("abcdef0000000001", "c1"))
    registry.add_metric(FakeMetric("abcdef0000000002", "c2"))
    with pytest.raises(AmbiguousError):
        registry.get_metric("abcdef")
    assert registry.get_metric("abcdef0000000002").canonical == "c2"
    with pytest.raises(NotFoundError, match="not in the registry"):
        registry.get_metric("sqr(W)")
    with pytest.raises(NotFoundError, match="not a formula"):
        registry.get_metric("no_such(")


def test_list_metrics_orders(registry, parse):
    for text in ("mul(abs(W), X)", "W", "add(W, X)"):
        registry.add_metric(parse(text))
    newest = registry.list_metrics()
    assert [m.text for m in newest] == ["add(W, X)", "W", "mul(abs(W), X)"]
    assert [m.complexity for m in registry.list_metrics(order="complexity")] == [1, 3, 4]
    assert len(registry.list_metrics(limit=2)) == 2
    with pytest.raises(ValueError):
        registry.list_metrics(order="bogus")
