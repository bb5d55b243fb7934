"""Canonical forms: equivalent formulas share one hash; ranking-equivalent ones one rank_hash."""
import pytest

from primitives.builtins import BUILTINS, builtin
from primitives.grammar import MetricSyntaxError, parse
from primitives.metric import Metric


@pytest.mark.parametrize("a, b", [
    ("mul(abs(W), X)", "mul(X, abs(W))"),                       # operand order
    ("neg(neg(mul(abs(W), X)))", "mul(abs(W), X)"),             # double negation
    ("sqrt(sqr(W))", "abs(W)"),                                 # opposing operations
    ("sqr(sqrt(W))", "abs(W)"),
    ("abs(abs(W))", "abs(W)"),
    ("exp(log(W))", "add(abs(W), 0.001)"),                      # exact under the protections
    ("add(W, W)", "mul(2, W)"),
    ("sub(add(W, X), X)", "W"),
    ("mul(W, W)", "sqr(W)"),
    ("abs(X)", "X"),                                            # X is a norm: nonnegative
    ("mms(zsn(W))", "mms(W)"),
    ("abs(mul(W, abs(W)))", "sqr(W)"),                         # |a*b| = |a|*|b|
    ("add(mul(abs(W), X), mul(abs(W), abs(G)))", "add(mul(G, abs(W)), mul(abs(W), X))"),
])
def test_equivalent_formulas_share_one_hash(a, b):
    assert Metric.parse(a).hash == Metric.parse(b).hash


@pytest.mark.parametrize("a, b", [
    ("mul(abs(W), X)", "mul(abs(W), Xs)"),
    ("log(W)", "abs(W)"),          # protected log is not the identity
    ("exp(W)", "W"),
    ("sdiv(W, W)", "1"),           # protected division is not 1 at zero
])
def test_different_formulas_differ(a, b):
    assert Metric(parse(a)).hash != Metric(parse(b)).hash  # trees: "1" alone is no metric text


@pytest.mark.parametrize("a, b", [
    ("sqr(mul(W, X))", "abs(mul(W, X))"),
    ("mul(3, mul(abs(W), X))", "mul(abs(W), X)"),
    ("exp(mul(abs(W), X))", "mul(abs(W), X)"),
    ("log(mul(W, X))", "abs(mul(W, X))"),
    ("mms(W)", "W"),
    ("add(mul(abs(W), X), 5)", "mul(abs(W), X)"),
    ("mul(X, sqr(W))", "mul(abs(W), sqrt(X))"),          # a power of a nonnegative product
    ("mul(sqr(W), sqr(X))", "mul(abs(W), X)"),
])
def test_rank_preserving_maps_share_rank_hash(a, b):
    ma, mb = Metric.parse(a), Metric.parse(b)
    assert ma.rank_hash == mb.rank_hash
    assert ma.hash != mb.hash


def test_negation_changes_the_ranking():
    assert Metric.parse("neg(abs(W))").rank_hash != Metric.parse("abs(W)").rank_hash


def test_canonical_form_is_idempotent():
    for text in BUILTINS.values():
        metric = Metric.parse(text)
        assert Metric.parse(metric.canonical).canonical == metric.canonical


def test_json_round_trip_keeps_the_hash():
    for name in BUILTINS:
        metric = builtin(name)
        again = Metric.from_json(metric.to_json())
        assert again.hash == metric.hash and again.name == name


@pytest.mark.parametrize("payload, fragment", [
    ("{not json", "not valid JSON"),
    ('{"tree": {"op": "system", "args": ["W"]}}', "unknown operator"),
    ('{"tree": {"op": "mul", "args": ["W"]}}', "takes 2 argument"),
    ('{"tree": "__import__"}', "unknown operand"),
    ('{"tree": "W", "hash": "0000000000000000"}', "hash mismatch"),
    ('[1, 2]', "object with a 'tree'"),
])
def test_corrupt_json_is_refused(payload, fragment):
    with pytest.raises(MetricSyntaxError) as info:
        Metric.from_json(payload)
    assert fragment in str(info.value)


def test_published_metrics_are_built_in():
    assert set(BUILTINS) >= {"magnitude", "wanda", "ria", "gblm", "pruner_zero"}
    assert builtin("wanda").operands == ("W", "X")
    with pytest.raises(KeyError, match="no built-in metric"):
        builtin("nope")
