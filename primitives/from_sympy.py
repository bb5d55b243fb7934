"""Sympy expressions back to trees in one canonical shape.

n-ary sums and products are folded left in the order of their children's canonical text, so
the same sympy expression always prints the same way, independent of sympy's internal order.
"""
from __future__ import annotations

from typing import Any

import sympy

from primitives.sympy_bridge import _OPAQUE_ASSUMPTIONS
from primitives.tree import Node, to_text


def _fold(name: str, children: list[Node]) -> Node:
    children = sorted(children, key=to_text)
    result = children[0]
    for child in children[1:]:
        result = Node.op(name, result, child)
    return result


def _int_power(base: Node, n: int) -> Node:
    """base^n for integer n >= 2 through sqr and mul."""
    if n == 2:
        return Node.op("sqr", base)
    return Node.op("pow", base, Node.const(n))


def _power(expr: sympy.Pow) -> Node:
    base, exponent = expr.args
    if exponent.is_negative:
        return Node.op("sdiv", Node.const(1), _power(sympy.Pow(base, -exponent, evaluate=False)) if exponent != -1 else from_sympy(base))
    if isinstance(base, sympy.Abs) and exponent == sympy.Rational(1, 2):
        return Node.op("sqrt", from_sympy(base.args[0]))
    if exponent == sympy.Rational(1, 2) and base.is_nonnegative:
        return Node.op("sqrt", from_sympy(base))
    inner = base.args[0] if isinstance(base, sympy.Abs) else base
    if exponent.is_integer:
        return _int_power(from_sympy(base), int(exponent))
    return Node.op("pow", from_sympy(inner), Node.const(float(exponent)))


def _product(expr: sympy.Mul) -> Node:
    coeff, factors = expr.as_coeff_mul()
    children = [from_sympy(f) for f in factors]
    if not children:
        return Node.const(float(coeff))
    body = _fold("mul", children)
    if coeff == -1:
        return Node.op("neg", body)
    if coeff < 0:
        return Node.op("neg", Node.op("mul", Node.const(float(-coeff)), body))
    if coeff != 1:
        return Node.op("mul", Node.const(float(coeff)), body)
    return body


def _sum(expr: sympy.Add) -> Node:
    positives: list[Any] = []
    negatives: list[Any] = []
    for term in expr.args:
        coeff, _ = term.as_coeff_mul()
        (negatives if coeff.is_negative else positives).append(term)
    if not positives:
        return Node.op("neg", from_sympy(-expr))
    plus = _fold("add", [from_sympy(t) for t in positives])
    if not negatives:
        return plus
    return Node.op("sub", plus, _fold("add", [from_sympy(-t) for t in negatives]))


def from_sympy(expr: sympy.Expr) -> Node:
    """The canonical tree of a sympy expression built by ``to_sympy``."""
    if expr.is_Number:
        if expr.is_negative:
            return Node.op("neg", Node.const(float(-expr)))
        return Node.const(float(expr))
    if expr.is_Symbol:
        return Node.var(expr.name)
    if isinstance(expr, sympy.Add):
        return _sum(expr)
    if isinstance(expr, sympy.Mul):
        return _product(expr)
    if isinstance(expr, sympy.Pow):
        return _power(expr)
    if isinstance(expr, sympy.Abs):
        return Node.op("abs", from_sympy(expr.args[0]))
    if isinstance(expr, sympy.tanh):
        return Node.op("tanh", from_sympy(expr.args[0]))
    name = type(expr).__name__
    if name in _OPAQUE_ASSUMPTIONS:
        return Node.op(name, *(from_sympy(a) for a in expr.args))
    raise ValueError(f"no tree form for sympy expression {expr!r}")
