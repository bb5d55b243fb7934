"""Opposing-operation simplification (OOS), the canonical form and the ranking form.

OOS removes pairs of operations that undo each other, but only where the protected operators
make the identity exact (sqrt(sqr(x)) = |x|; exp(log(x)) = |x| + 1e-3 while log stays under the
exp clamp). Sympy's automatic canonicalisation then merges operand order, double negation,
x - x, x + x, and abs() of nonnegative terms. The ranking form additionally drops what cannot
change the order of scores inside one layer: positive scales, shifts, and monotone maps at the
root.
"""
from __future__ import annotations

import sympy

from primitives.from_sympy import from_sympy
from primitives.sympy_bridge import to_sympy
from primitives.tree import Node

_IDEMPOTENT = {"abs", "mms", "zsn"}
_AFFINE_INVARIANT = {"mms", "zsn"}  # f(a*x + b) = f(x) for a > 0


def _rewrite(node: Node) -> Node:
    """One local OOS rule at this node, or the node itself."""
    if not node.args:
        return node
    name, inner = node.name, node.args[0]
    if name == "neg" and inner.name == "neg":
        return inner.args[0]
    if name == inner.name and name in _IDEMPOTENT:
        return inner
    if name in _AFFINE_INVARIANT and inner.name in _AFFINE_INVARIANT:
        return Node.op(name, inner.args[0])
    if name in ("sqrt", "sqr") and inner.name in ("sqrt", "sqr") and name != inner.name:
        return Node.op("abs", inner.args[0])
    if name == "exp" and inner.name == "log":
        return Node.op("add", Node.op("abs", inner.args[0]), Node.const(0.001))
    if name == "abs" and inner.name in ("sqr", "sqrt", "exp", "mms", "abs"):
        return inner
    if name in ("abs", "sqr", "sqrt", "log") and inner.name == "neg":
        return Node.op(name, inner.args[0])
    if name in ("sqr", "sqrt", "log") and inner.name == "abs":
        return Node.op(name, inner.args[0])
    return node


def oos(node: Node) -> Node:
    """Apply the OOS rules bottom-up until nothing changes."""
    done: dict[int, Node] = {}
    for n in node.postorder():
        rebuilt = Node(n.name, tuple(done[id(a)] for a in n.args), n.value) if n.args else n
        previous = None
        while previous != rebuilt:
            previous, rebuilt = rebuilt, _rewrite(rebuilt)
        done[id(n)] = rebuilt
    return done[id(node)]


def canonical(node: Node) -> Node:
    """OOS, then sympy's canonical algebra, then OOS again on the rebuilt tree."""
    return oos(from_sympy(to_sympy(oos(node))))


_MONOTONE_IN_VALUE = {"exp", "tanh", "mms", "zsn"}
_MONOTONE_IN_MAGNITUDE = {"sqrt", "sqr", "log", "pow"}


def _strip_root(node: Node) -> Node | None:
    """The tree without a rank-preserving map at its root, or None if there is none."""
    name = node.name
    if name in _MONOTONE_IN_VALUE or name == "div":
        return node.args[0]
    if name in _MONOTONE_IN_MAGNITUDE:
        return Node.op("abs", node.args[0])
    if name in ("mul", "add"):
        consts = [a for a in node.args if a.is_const]
        rest = [a for a in node.args if not a.is_const]
        if consts and len(rest) == 1 and (name == "add" or consts[0].value > 0):  # type: ignore[operator]
            return rest[0]
    if name == "neg" and node.args[0].args:
        stripped = _strip_root(node.args[0])
        if stripped is not None and stripped.name != "abs":
            return Node.op("neg", stripped)
    return None


def _common_power_root(node: Node) -> Node | None:
    """A nonnegative product |a|^p |b|^q ... ranks like its power 1/max(p, q, ...)."""
    expr = to_sympy(node)
    if not isinstance(expr, sympy.Mul) or not expr.is_nonnegative:
        return None
    coeff, factors = expr.as_coeff_mul()
    pairs = [f.as_base_exp() for f in factors]
    exponents = [e for _, e in pairs]
    if coeff <= 0 or not all(e.is_Rational and e > 0 for e in exponents):
        return None
    top = max(exponents)
    if top == 1 and coeff == 1:
        return None
    root = sympy.Mul(*(sympy.Abs(b) ** (e / top) for b, e in pairs))
    return oos(from_sympy(root))


def ranking_form(node: Node, canonical_tree: Node | None = None) -> Node:
    """Canonical tree with root maps that keep the order of scores removed (``canonical_tree``: the
    node's canonical form when already known, so sympy does not run for it again)."""
    current = canonical(node) if canonical_tree is None else canonical_tree
    while True:
        stripped = _strip_root(current)
        if stripped is None:
            stripped = _common_power_root(current)
        if stripped is None:
            return current
        current = canonical(stripped)
