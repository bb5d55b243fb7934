"""``Metric``: a parsed formula with its canonical text, stable hashes and JSON form."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

from primitives import safe_json
from primitives.grammar import MAX_DEPTH, MetricSyntaxError, parse
from primitives.language import OPERATORS, SCORE_OPERANDS
from primitives.simplify import canonical, ranking_form
from primitives.tree import Node, format_number, to_text


def text_hash(text: str) -> str:
    """First 16 hex digits of sha256: the stable identity of a canonical text."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Metric:
    """A metric formula. Equal canonical forms mean equal ``hash``; equal rankings equal ``rank_hash``."""

    tree: Node
    name: str | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, text: str, operands: Iterable[str] | None = None, name: str | None = None) -> "Metric":
        """A metric from formula text; a formula that reads no operand is refused (its scores are constant)."""
        return cls(require_operand(parse(text, operands)), name)

    @classmethod
    def from_canonical(cls, text: str, name: str | None = None, operands: Iterable[str] | None = None) -> "Metric":
        """A metric from canonical text this program made itself (the search sends it to its workers):
        parsed by the grammar, and taken as its own canonical form, so sympy does not run again. A
        canonical form may read no operand (sub(W, W) is 0): the task then fails it as it would in-process."""
        metric = cls(parse(text, operands), name)
        metric.__dict__["canonical_tree"] = metric.tree  # the cached_property's slot
        return metric

    @property
    def text(self) -> str:
        return to_text(self.tree)

    @cached_property
    def canonical_tree(self) -> Node:
        return canonical(self.tree)

    @cached_property
    def canonical(self) -> str:
        return to_text(self.canonical_tree)

    @cached_property
    def hash(self) -> str:
        return text_hash(self.canonical)

    @cached_property
    def ranking(self) -> str:
        return to_text(ranking_form(self.tree, self.canonical_tree))

    @cached_property
    def rank_hash(self) -> str:
        return text_hash(self.ranking)

    @property
    def operands(self) -> tuple[str, ...]:
        return self.canonical_tree.operands()

    @property
    def complexity(self) -> int:
        return self.canonical_tree.size()

    def to_dict(self) -> dict[str, Any]:
        return {"format": "metricforge.metric/1", "text": self.text, "canonical": self.canonical,
                "hash": self.hash, "name": self.name, "tree": tree_to_json(self.tree)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Metric":
        """Rebuild from ``to_json`` output; the tree is validated node by node, never evaluated."""
        try:
            data = safe_json.loads(text)
        except safe_json.JSONInputError as exc:
            raise MetricSyntaxError(str(exc)) from None
        if not isinstance(data, dict) or "tree" not in data:
            raise MetricSyntaxError("JSON metric must be an object with a 'tree' field")
        metric = cls(require_operand(tree_from_json(data["tree"])),
                     data.get("name") if isinstance(data.get("name"), str) else None)
        expected = data.get("hash")
        if expected is not None and expected != metric.hash:
            raise MetricSyntaxError(f"hash mismatch: file says {expected}, tree gives {metric.hash}")
        return metric


def require_operand(tree: Node) -> Node:
    """The tree, if it reads at least one operand (W, X, ...); a formula of numbers alone is refused."""
    if not tree.operands():
        raise MetricSyntaxError(f"formula {to_text(tree)[:80]} uses no operand (such as W or X): "
                                "its scores would be one constant")
    return tree


def tree_to_json(node: Node) -> Any:
    """Nested JSON: numbers for constants, strings for operands, {"op", "args"} for calls."""
    built: dict[int, Any] = {}
    for n in node.postorder():
        if n.is_const:
            built[id(n)] = n.value
        elif n.is_operand:
            built[id(n)] = n.name
        else:
            built[id(n)] = {"op": n.name, "args": [built[id(a)] for a in n.args]}
    return built[id(node)]


def tree_from_json(data: Any, depth: int = 0, operands: tuple[str, ...] = SCORE_OPERANDS) -> Node:
    """Validate and rebuild a JSON tree (depth-limited like the text grammar) reading only ``operands``."""
    if depth > MAX_DEPTH:
        raise MetricSyntaxError(f"JSON tree nests deeper than {MAX_DEPTH} levels")
    if isinstance(data, bool):
        raise MetricSyntaxError("JSON tree: booleans are not metric values")
    if isinstance(data, (int, float)):
        if data != data or data in (float("inf"), float("-inf")) or data < 0:
            raise MetricSyntaxError(f"JSON tree: constant {data!r} must be a finite nonnegative number")
        return parse(format_number(float(data)))  # the grammar's float32 range check
    if isinstance(data, str):
        if data not in operands:
            raise MetricSyntaxError(f"JSON tree: unknown operand {data!r}")
        return Node.var(data)
    if isinstance(data, dict) and set(data) == {"op", "args"} and isinstance(data["args"], list):
        op = data["op"]
        if op not in OPERATORS:
            raise MetricSyntaxError(f"JSON tree: unknown operator {op!r}")
        args = [tree_from_json(a, depth + 1, operands) for a in data["args"]]
        return parse(to_text(Node.op(op, *args)), operands)  # re-checks arity and constant arguments
    raise MetricSyntaxError(f"JSON tree: unexpected node {str(data)[:60]!r}")
