"""Formulas the language refuses with one line: no operand, constants float32 cannot hold, hostile JSON."""
from __future__ import annotations

import pytest

from primitives.grammar import MetricSyntaxError
from primitives.metric import Metric
from primitives.safe_json import JSONInputError, loads


@pytest.mark.parametrize("formula,reason", [
    ("log(0)", "uses no operand"), ("9", "uses no operand"), ("add(1, mul(2, 3))", "uses no operand"),
    ("mul(W, 1e309)", "overflows float32"), ("mul(W, 1e39)", "overflows float32"),
    ("add(W, 1e-46)", "underflows float32"), ("mul(W, " + "9" * 400 + ")", "overflows float32"),
])
def test_refused_with_one_line(formula, reason):
    with pytest.raises(MetricSyntaxError, match=reason) as caught:
        Metric.parse(formula)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("formula", ["div(W, 0)", "mul(W, 1000000000000)", "mul(W, 3e38)", "add(W, 2e-45)", "sdiv(W, 0)"])
def test_large_but_representable_constants_are_kept(formula):
    assert Metric.parse(formula).operands == ("W",)


@pytest.mark.parametrize("text,reason", [
    ("[" * 100_000 + "]" * 100_000, "nests 100000 levels"), ('{"a": 1e400}', "outside the float range"),
    ('{"a": -1e400}', "outside the float range"), ('{"a": NaN}', "NaN is not a JSON number"),
    ('{"a": Infinity}', "Infinity is not a JSON number"), ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"a": ' + "7" * 5000 + "}", "outside the 64-bit range"), ("{", "not valid JSON"), (b"\xff\xfe", "not UTF-8"),
])
def test_untrusted_json_is_refused_with_one_line(text, reason):
    with pytest.raises(JSONInputError, match=reason) as caught:
        loads(text)
    assert "\n" not in str(caught.value)


def test_strings_with_brackets_do_not_count_as_nesting():
    assert loads('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\""}')


def test_the_json_of_the_deepest_formula_reads_back_and_one_level_more_is_refused():
    deepest = Metric.parse("abs(" * 63 + "W" + ")" * 63)
    assert Metric.from_json(deepest.to_json()).hash == deepest.hash
    too_deep = '{"tree": ' + '{"op": "abs", "args": [' * 65 + '"W"' + "]}" * 65 + "}"
    with pytest.raises(MetricSyntaxError, match="nests deeper than 64 levels"):
        Metric.from_json(too_deep)
