"""The DEAP primitive set of a task, and conversion between DEAP trees and our ``Node``.

Operators come from ``primitives.language.OPERATORS``. ``pow`` needs a constant exponent, so it
enters the set as one unary primitive per allowed exponent (``pow_3`` is ``pow(x, 3)``).
Constants are optional terminals (``c_0_5`` is 0.5). DEAP's ``gp.compile`` is never used:
trees become ``Node`` and are compiled by ``primitives.compile``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from deap import gp

from primitives.language import CONSTANT_SECOND_ARG, OPERANDS, OPERATORS
from primitives.tree import Node, format_number


class PsetError(ValueError):
    """A tree that the primitive set cannot represent."""


def _const_name(prefix: str, value: float) -> str:
    """An identifier for a number: 0.5 -> prefix_0_5, 3 -> prefix_3."""
    return f"{prefix}_{format_number(value).replace('.', '_').replace('-', 'm').replace('+', '')}"


@dataclass
class MetricPset:
    """A DEAP primitive set plus what it takes to map its nodes back to the language."""

    pset: gp.PrimitiveSet
    operands: tuple[str, ...]
    operators: tuple[str, ...]
    pow_names: dict[str, float] = field(default_factory=dict)
    const_names: dict[str, float] = field(default_factory=dict)

    def describe(self) -> dict:
        """JSON-ready summary (recorded in the run config)."""
        return {"operands": list(self.operands), "operators": list(self.operators),
                "pow_exponents": sorted(self.pow_names.values()),
                "constants": sorted(self.const_names.values())}


def build_pset(operands: Sequence[str], operators: Iterable[str] | None = None,
               pow_exponents: Iterable[float] = (), constants: Iterable[float] = ()) -> MetricPset:
    """The primitive set over ``operands`` with every (or the named) operator of the language."""
    unknown = [o for o in operands if o not in OPERANDS]
    if unknown or not operands:
        raise PsetError(f"unknown or missing operands {unknown or list(operands)}; known: {', '.join(OPERANDS)}")
    names = tuple(operators) if operators is not None else tuple(OPERATORS)
    bad = [n for n in names if n not in OPERATORS]
    if bad:
        raise PsetError(f"unknown operators {bad}; known: {', '.join(OPERATORS)}")
    pset = gp.PrimitiveSet("metric", 0)
    used: list[str] = []
    for name in names:
        if name in CONSTANT_SECOND_ARG:
            continue  # added below, one primitive per exponent
        pset.addPrimitive(_placeholder(name), OPERATORS[name].arity, name=name)
        used.append(name)
    pow_names: dict[str, float] = {}
    if "pow" in names:
        for exponent in sorted({float(e) for e in pow_exponents}):
            if not exponent > 0:
                raise PsetError(f"pow exponents must be positive, got {exponent}")
            key = _const_name("pow", exponent)
            pset.addPrimitive(_placeholder(key), 1, name=key)
            pow_names[key] = exponent
        if pow_names:
            used.append("pow")
    for operand in operands:
        pset.addTerminal(operand, name=operand)
    const_names: dict[str, float] = {}
    for value in sorted({float(c) for c in constants}):
        if not value >= 0:
            raise PsetError(f"constants must be nonnegative, got {value}")
        key = _const_name("c", value)
        pset.addTerminal(value, name=key)
        const_names[key] = value
    return MetricPset(pset, tuple(operands), tuple(used), pow_names, const_names)


def _placeholder(name: str):
    """A callable DEAP stores for a primitive; never called (trees are compiled by us)."""
    def never(*args: object) -> None:
        raise RuntimeError(f"DEAP primitive {name!r} is not executable; compile the Node instead")
    never.__name__ = name
    return never


def to_node(tree: Sequence, mp: MetricPset) -> Node:
    """Our ``Node`` for a DEAP prefix list (PrimitiveTree), built without recursion."""
    stack: list[list] = []  # frames: [name, arity, args]
    result: Node | None = None
    for item in tree:
        if isinstance(item, gp.Primitive):
            stack.append([item.name, item.arity, []])
            continue
        node = _terminal_node(item, mp)
        while True:
            if not stack:
                if result is not None:
                    raise PsetError("DEAP tree has trailing nodes")
                result = node
                break
            frame = stack[-1]
            frame[2].append(node)
            if len(frame[2]) < frame[1]:
                break
            stack.pop()
            node = _call_node(frame[0], frame[2], mp)
    if result is None or stack:
        raise PsetError("incomplete DEAP tree")
    return result


def _terminal_node(item: gp.Terminal, mp: MetricPset) -> Node:
    name = item.name
    if name in mp.const_names:
        return Node.const(mp.const_names[name])
    if name in mp.operands:
        return Node.var(name)
    raise PsetError(f"terminal {name!r} is not in the primitive set")


def _call_node(name: str, args: list[Node], mp: MetricPset) -> Node:
    if name in mp.pow_names:
        return Node.op("pow", args[0], Node.const(mp.pow_names[name]))
    return Node.op(name, *args)


def from_node(node: Node, mp: MetricPset) -> gp.PrimitiveTree:
    """A DEAP PrimitiveTree for our ``Node``; ``PsetError`` if the set lacks one of its nodes."""
    mapping = mp.pset.mapping
    items: list = []
    stack: list[Node] = [node]
    while stack:
        n = stack.pop()
        if n.is_const:
            key = _const_name("c", n.value)  # type: ignore[arg-type]
            if key not in mp.const_names:
                value = format_number(n.value)  # type: ignore[arg-type]
                raise PsetError(f"constant {value} is not a terminal of this set")
            items.append(mapping[key])
        elif n.is_operand:
            if n.name not in mp.operands:
                raise PsetError(f"operand {n.name!r} is not available (task operands: {', '.join(mp.operands)})")
            items.append(mapping[n.name])
        elif n.name in CONSTANT_SECOND_ARG:
            key = _const_name("pow", n.args[1].value)  # type: ignore[arg-type]
            if not n.args[1].is_const or key not in mp.pow_names:
                raise PsetError(f"pow exponent {n.args[1]} is not in this set ({sorted(mp.pow_names.values())})")
            items.append(mapping[key])
            stack.append(n.args[0])
        else:
            if n.name not in mapping or n.name not in mp.operators:
                raise PsetError(f"operator {n.name!r} is not in this primitive set")
            items.append(mapping[n.name])
            stack.extend(reversed(n.args))
    return gp.PrimitiveTree(items)
