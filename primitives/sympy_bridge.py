"""Trees to sympy expressions and back.

Exact operators (add, sub, mul, neg, abs, sqr, sqrt = |x|^(1/2), pow, tanh, constants) become
sympy algebra so that sympy's automatic canonicalisation merges equivalent trees. Protected or
layer-wide operators (log, exp, div, sdiv, mms, zsn, colsum, rowsum) become opaque sympy
functions: sympy orders their arguments but never rewrites through them.
"""
from __future__ import annotations

from functools import lru_cache

import sympy

from primitives.language import OPERANDS
from primitives.tree import Node

_OPAQUE_ASSUMPTIONS = {
    "log": {"real": True},
    "exp": {"positive": True},
    "div": {"real": True},
    "sdiv": {"real": True},
    "mms": {"nonnegative": True},
    "zsn": {"real": True},
    "colsum": {"real": True},
    "rowsum": {"real": True},
}


@lru_cache(maxsize=None)
def opaque(name: str) -> type[sympy.Function]:
    """The sympy function class standing for a protected operator."""
    return sympy.Function(name, **_OPAQUE_ASSUMPTIONS[name])


@lru_cache(maxsize=None)
def symbol(name: str) -> sympy.Symbol:
    """Operand symbols are real; norms are declared nonnegative so sympy drops abs() on them."""
    if OPERANDS[name].nonnegative:
        return sympy.Symbol(name, nonnegative=True)
    return sympy.Symbol(name, real=True)


def _number(value: float) -> sympy.Expr:
    return sympy.Rational(repr(value)) if abs(value) < 1e15 else sympy.Float(value)


def _build(node: Node, args: list[sympy.Expr]) -> sympy.Expr:
    name = node.name
    if name == "add":
        return args[0] + args[1]
    if name == "sub":
        return args[0] - args[1]
    if name == "mul":
        return args[0] * args[1]
    if name == "neg":
        return -args[0]
    if name == "abs":  # |a*b| = |a|*|b| exactly; sympy leaves Abs(W*Abs(W)) unsplit
        factors = sympy.Mul.make_args(args[0])
        return sympy.Mul(*(sympy.Abs(f) for f in factors))
    if name == "sqr":
        return args[0] ** 2
    if name == "sqrt":
        return sympy.sqrt(sympy.Abs(args[0]))
    if name == "tanh":
        return sympy.tanh(args[0])
    if name == "pow":
        exponent = args[1]
        return args[0] ** exponent if exponent.is_integer else sympy.Abs(args[0]) ** exponent
    return opaque(name)(*args)


def to_sympy(node: Node) -> sympy.Expr:
    """The sympy expression of a tree (children first, no recursion over depth)."""
    built: dict[int, sympy.Expr] = {}
    for n in node.postorder():
        if n.is_const:
            built[id(n)] = _number(n.value)  # type: ignore[arg-type]
        elif n.is_operand:
            built[id(n)] = symbol(n.name)
        else:
            built[id(n)] = _build(n, [built[id(a)] for a in n.args])
    return built[id(node)]
