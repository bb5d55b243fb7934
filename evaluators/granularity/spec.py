"""Granularity strings: what one pruned group of weights is.

Text forms (case-insensitive):

| text | kind | a group is |
|---|---|---|
| ``element`` | element | one weight (0-D, fine-grained) |
| ``vector:4`` / ``1x4`` | vector | 1 x k consecutive inputs of a row; bare ``vector`` on a conv: one kernel row (1 x S) |
| ``block:4`` / ``block:2x8`` / ``4x4`` | block | a k x k (or a x b) tile of the (out x in) matrix |
| ``kernel`` | kernel | one R x S kernel of a conv (2-D); on a linear layer it needs a size (``block:k``) |
| ``filter`` / ``neuron`` | filter | a whole conv filter or linear output row (3-D) |
| ``head:64`` | head | the head_dim rows of one attention head in q/k/v, its columns in o; rows elsewhere |
| ``2:4`` | nm | N of every M consecutive inputs pruned (the sparsity is N/M) |

``row`` is not a granularity: in the one group grammar (``evaluators.granularity.structure``, the
text every task's ``group`` takes) it is the per-row comparison of single weights, and a whole row
is ``filter`` or ``neuron``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["AGGREGATES", "Granularity", "parse_granularity"]

KINDS = ("element", "vector", "block", "kernel", "filter", "head", "nm")
AGGREGATES = ("l1", "l2", "max", "mean")
_ALIASES = {"element": "element", "unstructured": "element", "fine": "element", "kernel": "kernel",
            "filter": "filter", "neuron": "filter", "vector": "vector"}
_NM = re.compile(r"^(\d+):(\d+)$")
_WORD_ARG = re.compile(r"^(vector|block|head|kernel):(\d+)(?:x(\d+))?$")
_TILE = re.compile(r"^(\d+)x(\d+)$")


@dataclass(frozen=True)
class Granularity:
    """A parsed granularity: kind plus its sizes (a x b tile for vector/block, head_dim, N:M)."""

    kind: str
    a: int = 0  # tile rows (block), head_dim (head), N (nm)
    b: int = 0  # tile columns (vector, block), M (nm)

    def __str__(self) -> str:
        """The canonical text form."""
        if self.kind == "vector":
            return f"vector:{self.b}" if self.b else "vector"
        if self.kind == "block":
            return f"block:{self.a}" if self.a == self.b else f"block:{self.a}x{self.b}"
        if self.kind == "head":
            return f"head:{self.a}"
        if self.kind == "nm":
            return f"{self.a}:{self.b}"
        return self.kind

    @property
    def dims(self) -> int:
        """Mao et al.'s dimension of a group: 0 element, 1 vector/N:M, 2 kernel/block, 3 filter/head."""
        return {"element": 0, "vector": 1, "nm": 1, "block": 2, "kernel": 2, "filter": 3, "head": 3}[self.kind]

    @property
    def sparsity(self) -> float | None:
        """The fixed sparsity N/M of an N:M granularity, None otherwise."""
        return self.a / self.b if self.kind == "nm" else None


def _positive(value: int, text: str) -> int:
    """value when >= 1, ValueError quoting text otherwise."""
    if value < 1:
        raise ValueError(f"bad granularity {text!r}: sizes must be >= 1")
    return value


def parse_granularity(text: str | Granularity) -> Granularity:
    """Parse a granularity string (see the module table); ValueError on anything else."""
    if isinstance(text, Granularity):
        return text
    if not isinstance(text, str):
        raise ValueError(f"granularity must be a string such as 'element' or 'vector:4', got {text!r}")  # noqa: TRY004
    word = re.sub(r"\s+", "", text.lower())
    if word in _ALIASES:
        return Granularity(_ALIASES[word])
    if _NM.match(word) is not None:
        from evaluators.masks import parse_group  # N:M is the masks' group, parsed in one place

        group = parse_group(word)
        return Granularity("nm", group.n, group.m)
    if (m := _TILE.match(word)) is not None:
        a, b = _positive(int(m.group(1)), text), _positive(int(m.group(2)), text)
        return Granularity("vector", 1, b) if a == 1 else Granularity("block", a, b)
    if (m := _WORD_ARG.match(word)) is not None:
        kind, first, second = m.group(1), _positive(int(m.group(2)), text), m.group(3)
        if kind == "vector" and second is None:
            return Granularity("vector", 1, first)
        if kind in ("block", "kernel"):
            return Granularity("block", first, _positive(int(second), text) if second else first)
        if kind == "head" and second is None:
            return Granularity("head", first)
    raise ValueError(f"unknown granularity {text!r}: expected element, vector[:k], block:k, block:AxB, kernel, "
                     "filter (or neuron), head:HEAD_DIM or N:M such as 2:4")


def check_aggregate(name: str) -> str:
    """The aggregate name lower-cased when known (l1, l2, max, mean); ValueError otherwise."""
    word = str(name).strip().lower()
    if word not in AGGREGATES:
        raise ValueError(f"unknown aggregate {name!r}; use one of {', '.join(AGGREGATES)}")
    return word
