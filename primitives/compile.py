"""Compile a metric tree into a torch callable by walking it once into a straight-line program.

Identical subtrees are computed once (RIA uses |W| four times). No ``eval``: the program is a
list of (operator function, argument slots) steps.
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch

from primitives.language import OPERATORS
from primitives.metric import Metric
from primitives.torch_ops import TORCH_OPS
from primitives.tree import Node

ScoreFn = Callable[[Mapping[str, torch.Tensor]], torch.Tensor]

_MISSING = set(OPERATORS) - set(TORCH_OPS)
if _MISSING:
    raise ImportError(f"operators without a torch implementation: {sorted(_MISSING)}")


def _program(tree: Node) -> list[tuple[str, object, tuple[int, ...]]]:
    slots: dict[tuple, int] = {}
    slot_of: dict[int, int] = {}
    program: list[tuple[str, object, tuple[int, ...]]] = []
    for node in tree.postorder():
        args = tuple(slot_of[id(a)] for a in node.args)
        key = (node.name, node.value, args)
        if key not in slots:
            slots[key] = len(program)
            if node.is_const:
                program.append(("const", node.value, ()))
            elif node.is_operand:
                program.append(("operand", node.name, ()))
            else:
                program.append(("call", TORCH_OPS[node.name], args))
        slot_of[id(node)] = slots[key]
    return program


def compile_tree(tree: Node, like: str = "W", dtype: torch.dtype = torch.float32) -> ScoreFn:
    """A function from operand tensors to ``dtype`` values broadcast to the shape of the operand ``like``
    (scores: float32 in the shape of ``W``; an allocation formula: one float64 value per unit)."""
    program = _program(tree)

    def score(operands: Mapping[str, torch.Tensor]) -> torch.Tensor:
        reference = operands[like]
        values: list[torch.Tensor] = []
        for kind, payload, args in program:
            if kind == "const":
                values.append(torch.tensor(payload, dtype=dtype, device=reference.device))
            elif kind == "operand":
                if payload not in operands:
                    raise KeyError(f"metric needs operand {payload!r}, which this task does not provide")
                values.append(operands[payload].to(dtype))  # type: ignore[index]
            else:
                values.append(payload(*(values[i] for i in args)))  # type: ignore[operator]
        return torch.broadcast_to(values[-1], reference.shape)

    return score


def compile_metric(metric: Metric | Node) -> ScoreFn:
    """Compile a ``Metric`` (its canonical tree, so equal hashes score equally) or a bare tree."""
    return compile_tree(metric.canonical_tree if isinstance(metric, Metric) else metric)
