"""Our own grammar for metric text: ``op(arg, ...)``, operand names and numbers.

The parser is an explicit-stack loop: it never calls ``eval``, never hands text to sympy, and
rejects deep nesting with an error instead of exhausting Python's recursion limit.
"""
from __future__ import annotations

import re
from typing import Iterable

from primitives.language import CONSTANT_SECOND_ARG, OPERATORS, SCORE_OPERANDS
from primitives.tree import Node

MAX_DEPTH = 64
MAX_LENGTH = 20_000
FLOAT32_MAX = 3.4028234663852886e38  # a constant must survive the cast to the scores' float32
FLOAT32_TINY = 1.401298464324817e-45  # the smallest positive float32 (subnormal)

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[(),]))")


class MetricSyntaxError(ValueError):
    """A formula that is not in the language; the message names the problem and position."""


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos:].strip() == "":
                break
            bad = text[pos:].lstrip()[0]
            at = len(text) - len(text[pos:].lstrip())
            raise MetricSyntaxError(f"unexpected character {bad!r} at position {at}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


def _constant(tok: str, at: int) -> Node:
    """A numeric constant, refused when float32 would turn it into inf or 0."""
    value = float(tok)
    if value > FLOAT32_MAX:
        raise MetricSyntaxError(f"constant {tok} at position {at} overflows float32 (largest {FLOAT32_MAX:.4g})")
    if 0 < value < FLOAT32_TINY:
        raise MetricSyntaxError(f"constant {tok} at position {at} underflows float32 to 0 (smallest {FLOAT32_TINY:.4g})")
    return Node.const(value)


def _check_call(name: str, args: list[Node], at: int) -> Node:
    arity = OPERATORS[name].arity
    if len(args) != arity:
        raise MetricSyntaxError(f"operator {name!r} takes {arity} argument(s), got {len(args)} (position {at})")
    if name in CONSTANT_SECOND_ARG and (not args[1].is_const or args[1].value <= 0):  # type: ignore[operator]
        raise MetricSyntaxError(f"operator {name!r} needs a positive number as its second argument (position {at})")
    return Node.op(name, *args)


def parse(text: str, operands: Iterable[str] | None = None) -> Node:
    """Parse metric text into a tree; ``operands`` names the allowed operands (default: every operand a
    score may read, not the allocation statistics)."""
    if not isinstance(text, str):
        raise MetricSyntaxError("a formula must be text")
    if len(text) > MAX_LENGTH:
        raise MetricSyntaxError(f"formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    allowed = set(operands) if operands is not None else set(SCORE_OPERANDS)
    tokens = _tokens(text)
    if not tokens:
        raise MetricSyntaxError("empty formula")
    # Each frame: (operator name, position, collected args, expecting an argument).
    frames: list[tuple[str, int, list[Node]]] = []
    result: Node | None = None
    expect_arg = True
    i = 0
    while i < len(tokens):
        kind, tok, at = tokens[i]
        if result is not None:
            raise MetricSyntaxError(f"unexpected {tok!r} after the end of the formula (position {at})")
        if expect_arg:
            if kind == "num":
                node = _constant(tok, at)
            elif kind == "name" and i + 1 < len(tokens) and tokens[i + 1][1] == "(":
                if tok not in OPERATORS:
                    raise MetricSyntaxError(f"unknown operator {tok!r} at position {at}; known: {', '.join(sorted(OPERATORS))}")
                if len(frames) >= MAX_DEPTH:
                    raise MetricSyntaxError(f"formula nests deeper than {MAX_DEPTH} levels")
                frames.append((tok, at, []))
                i += 2
                if i < len(tokens) and tokens[i][1] == ")":
                    raise MetricSyntaxError(f"operator {tok!r} called with no arguments (position {at})")
                continue
            elif kind == "name":
                if tok in OPERATORS:
                    raise MetricSyntaxError(f"operator {tok!r} used without arguments at position {at}")
                if tok not in allowed:
                    raise MetricSyntaxError(f"unknown operand {tok!r} at position {at}; allowed: {', '.join(sorted(allowed))}")
                node = Node.var(tok)
            else:
                raise MetricSyntaxError(f"expected an operand, number or operator at position {at}, got {tok!r}")
            expect_arg = False
            i += 1
        else:
            if not frames:
                raise MetricSyntaxError(f"unexpected {tok!r} at position {at}")
            if tok == ",":
                expect_arg = True
                i += 1
                continue
            if tok != ")":
                raise MetricSyntaxError(f"expected ',' or ')' at position {at}, got {tok!r}")
            name, start, args = frames.pop()
            node = _check_call(name, args, start)
            i += 1
        # A finished node: hand it to the enclosing call, or it is the whole formula.
        if frames:
            frames[-1][2].append(node)
        else:
            result = node
    if frames:
        raise MetricSyntaxError(f"unbalanced parentheses: {len(frames)} call(s) not closed")
    if result is None:
        raise MetricSyntaxError("incomplete formula")
    return result
