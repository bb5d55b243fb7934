"""The immutable expression tree shared by parsing, simplification, compilation and export."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Node:
    """One node: an operator applied to ``args``, an operand (no args) or a constant."""

    name: str
    args: tuple["Node", ...] = ()
    value: float | None = None

    @staticmethod
    def op(name: str, *args: "Node") -> "Node":
        return Node(name, tuple(args))

    @staticmethod
    def var(name: str) -> "Node":
        return Node(name)

    @staticmethod
    def const(value: float) -> "Node":
        return Node("#", (), float(value))

    @property
    def is_const(self) -> bool:
        return self.value is not None

    @property
    def is_operand(self) -> bool:
        return self.value is None and not self.args

    def postorder(self) -> Iterator["Node"]:
        """Children before parents, without recursion (trees may be deep)."""
        stack: list[tuple[Node, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded or not node.args:
                yield node
                continue
            stack.append((node, True))
            for child in reversed(node.args):
                stack.append((child, False))

    def size(self) -> int:
        return sum(1 for _ in self.postorder())

    def depth(self) -> int:
        depths: dict[int, int] = {}
        for node in self.postorder():
            depths[id(node)] = 1 + max((depths[id(a)] for a in node.args), default=0)
        return depths[id(self)]

    def operands(self) -> tuple[str, ...]:
        return tuple(sorted({n.name for n in self.postorder() if n.is_operand}))


def format_number(value: float) -> str:
    """Shortest stable text for a constant: 2 -> '2', 0.5 -> '0.5', 1e-3 -> '0.001'."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def to_text(node: Node) -> str:
    """Canonical prefix text of a tree, built without recursion."""
    texts: dict[int, str] = {}
    for n in node.postorder():
        if n.is_const:
            texts[id(n)] = format_number(n.value)  # type: ignore[arg-type]
        elif n.is_operand:
            texts[id(n)] = n.name
        else:
            texts[id(n)] = f"{n.name}({', '.join(texts[id(a)] for a in n.args)})"
    return texts[id(node)]
