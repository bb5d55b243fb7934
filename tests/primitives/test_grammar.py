"""The grammar accepts the language and rejects everything else with a clear message."""
import pytest

from primitives.grammar import MAX_DEPTH, MetricSyntaxError, parse
from primitives.tree import to_text


@pytest.mark.parametrize("text", [
    "mul(abs(W), X)", "add(mul(abs(W), X), mul(abs(W), abs(G)))", "pow(X, 0.5)", "W", "2",
    "sdiv(sqr(W), sqr(Hd))",
])
def test_round_trip_is_stable(text):
    assert to_text(parse(to_text(parse(text)))) == to_text(parse(text))


def test_whitespace_and_number_format_are_normalised():
    assert to_text(parse("  mul( 2.0 ,abs( W ) ) ")) == "mul(2, abs(W))"


@pytest.mark.parametrize("text, fragment", [
    ("foo(W)", "unknown operator 'foo'"),
    ("mul(W, Z)", "unknown operand 'Z'"),
    ("mul(W)", "takes 2 argument(s), got 1"),
    ("abs(W, X)", "takes 1 argument(s), got 2"),
    ("mul(W, X", "unbalanced parentheses"),
    ("abs(W))", "after the end of the formula"),
    ("__import__('os').system('ls')", "unexpected character"),
    ("", "empty formula"),
    ("mul(W X)", "expected ',' or ')'"),
    ("abs()", "no arguments"),
    ("pow(W, X)", "positive number"),
    ("mul", "without arguments"),
    ("W; import os", "unexpected character"),
])
def test_bad_text_names_the_problem(text, fragment):
    with pytest.raises(MetricSyntaxError) as info:
        parse(text)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_ten_thousand_deep_nesting_is_refused_without_recursion_error():
    deep = "abs(" * 10_000 + "W" + ")" * 10_000
    with pytest.raises(MetricSyntaxError):
        parse(deep)
    just_too_deep = "abs(" * (MAX_DEPTH + 1) + "W" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(MetricSyntaxError, match="deeper than"):
        parse(just_too_deep)


def test_operand_set_can_be_restricted():
    with pytest.raises(MetricSyntaxError, match="unknown operand 'G'"):
        parse("mul(W, G)", operands=["W", "X"])
