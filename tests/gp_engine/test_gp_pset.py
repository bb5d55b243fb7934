"""Primitive set: every operator present, Node <-> DEAP round trips, clear errors."""
from __future__ import annotations

import random

import pytest
from deap import gp

from gp_engine.pset import PsetError, build_pset, from_node, to_node
from primitives.builtins import BUILTINS, builtin
from primitives.grammar import parse
from primitives.language import OPERATORS
from primitives.tree import to_text


def test_every_operator_with_its_arity():
    mp = build_pset(("W", "G", "X"), pow_exponents=(0.5, 3))
    for name, op in OPERATORS.items():
        if name == "pow":
            assert {mp.pset.mapping[k].arity for k in mp.pow_names} == {1}
        else:
            assert mp.pset.mapping[name].arity == op.arity
    assert set(mp.pow_names.values()) == {0.5, 3.0}


@pytest.mark.parametrize("name", [n for n in BUILTINS if n != "sparsegpt"])
def test_builtins_round_trip(name):
    mp = build_pset(("W", "G", "X"))
    tree = builtin(name).tree
    deap_tree = from_node(tree, mp)
    assert to_node(deap_tree, mp) == tree
    assert str(deap_tree) == to_text(tree)  # DEAP's own printing matches our text form


def test_random_trees_round_trip_with_pow_and_constants():
    mp = build_pset(("W", "G", "X", "Y"), pow_exponents=(0.5, 3), constants=(0.5, 2))
    random.seed(3)
    for _ in range(300):
        deap_tree = gp.PrimitiveTree(gp.genHalfAndHalf(mp.pset, 1, 6))
        node = to_node(deap_tree, mp)
        assert list(from_node(node, mp)) == list(deap_tree)
        assert parse(to_text(node)) == node  # the text form re-parses to the same tree


def test_pow_and_constant_nodes():
    mp = build_pset(("W", "X"), pow_exponents=(3,), constants=(0.5,))
    node = parse("pow(add(W, 0.5), 3)")
    assert to_node(from_node(node, mp), mp) == node


def test_unrepresentable_trees_are_errors():
    mp = build_pset(("W", "X"))
    with pytest.raises(PsetError, match="operand 'G'"):
        from_node(parse("mul(W, G)"), mp)
    with pytest.raises(PsetError, match="pow"):
        from_node(parse("pow(W, 3)"), mp)
    with pytest.raises(PsetError, match="constant"):
        from_node(parse("add(W, 1)"), mp)
    with pytest.raises(PsetError):
        build_pset(("W", "nope"))


def test_deep_tree_converts_without_recursion():
    mp = build_pset(("W",))
    node = parse("W")
    for _ in range(60):
        node = type(node).op("abs", node)
    assert to_node(from_node(node, mp), mp) == node
