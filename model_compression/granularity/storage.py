"""Bytes of a pruned layer in the natural sparse format of its granularity, against dense.

Formats (bit-packed index arrays, each rounded up to whole bytes; ``bits(n)`` = the minimal width
for the values 0..n-1, at least 1):

- ``dense``: out * in values;
- ``csr`` (element): nnz values + nnz column indices of bits(in) + (out + 1) row pointers of
  bits(nnz + 1);
- ``vector-csr`` / ``bsr`` (1 x k vectors, a x b blocks, conv kernels and kernel rows): the same
  with one column index per kept group: g kept groups hold g*a*b values, g indices of
  bits(in / b) and (out / a + 1) group-row pointers of bits(g + 1). With 1 x 3 vectors a third of
  CSR's column indices remain;
- ``dense-rows`` / ``dense-cols`` (filters, neurons, heads): a smaller dense matrix of the kept
  rows (columns) plus the list of their indices, bits(out) each (dropped when the neighbouring
  layer is shrunk to match: ``model_compression.granularity.shrink``);
- ``nm`` (N:M): the (M - N)/M kept values + bits(M) of position metadata per kept value (2 bits
  for 2:4, as in NVIDIA's sparse tensor cores).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor

from evaluators.granularity import Granularity, parse_granularity, tile_for

__all__ = ["Storage", "bits", "block_csr", "dense", "dense_lines", "natural_storage", "nm_storage"]


@dataclass(frozen=True)
class Storage:
    """Bytes of one stored matrix: values, indices (+ pointers, metadata), the index count, dense bytes."""

    format: str
    value_bytes: int
    index_bytes: int
    indices: int
    dense_bytes: int

    @property
    def total_bytes(self) -> int:
        """Values plus indices."""
        return self.value_bytes + self.index_bytes

    @property
    def ratio(self) -> float:
        """Total bytes over dense bytes."""
        return self.total_bytes / self.dense_bytes if self.dense_bytes else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict including the totals."""
        return {**asdict(self), "total_bytes": self.total_bytes, "ratio": self.ratio}


def bits(n: int) -> int:
    """Minimal bits to tell n values apart (0..n-1), at least 1."""
    return max(1, math.ceil(math.log2(max(int(n), 1))))


def _packed(count: int, width: int) -> int:
    """Bytes of count entries of width bits, bit-packed."""
    return (int(count) * int(width) + 7) // 8


def dense(shape: tuple[int, int], value_bytes: int) -> Storage:
    """Every value stored, no indices."""
    size = int(shape[0]) * int(shape[1]) * value_bytes
    return Storage("dense", size, 0, 0, size)


def block_csr(keep: Tensor, tile: tuple[int, int], value_bytes: int) -> Storage:
    """CSR over a x b tiles (tile (1, 1) is element CSR); the mask must be whole tiles."""
    a, b = tile
    out, inp = keep.shape
    groups = keep.reshape(out // a, a, inp // b, b)
    kept = groups.all(dim=3).all(dim=1)
    if not torch.equal(groups.any(dim=3).any(dim=1), kept):
        raise ValueError(f"mask is not made of whole {a} x {b} groups")
    g = int(kept.sum())
    fmt = "csr" if tile == (1, 1) else ("vector-csr" if a == 1 else "bsr")
    index = _packed(g, bits(inp // b)) + _packed(out // a + 1, bits(g + 1))
    return Storage(fmt, g * a * b * value_bytes, index, g, out * inp * value_bytes)


def dense_lines(keep: Tensor, value_bytes: int, axis: int = 0) -> Storage:
    """Kept rows (axis 0) or columns (axis 1) as a smaller dense matrix plus their index list."""
    lines = keep.any(dim=1 - axis)
    if not torch.equal(keep.all(dim=1 - axis), lines):
        raise ValueError("mask is not made of whole " + ("rows" if axis == 0 else "columns"))
    n, other = int(lines.sum()), keep.shape[1 - axis]
    return Storage("dense-rows" if axis == 0 else "dense-cols", n * other * value_bytes,
                   _packed(n, bits(keep.shape[axis])), n, keep.numel() * value_bytes)


def nm_storage(keep: Tensor, n: int, m: int, value_bytes: int) -> Storage:
    """Kept values plus bits(m) position metadata per kept value."""
    blocks = keep.reshape(-1, m)
    if not bool(((~blocks).sum(dim=1) == n).all()):
        raise ValueError(f"mask is not {n}:{m}")
    nnz = int(keep.sum())
    return Storage("nm", nnz * value_bytes, _packed(nnz, bits(m)), nnz, keep.numel() * value_bytes)


def natural_storage(keep: Tensor, granularity: str | Granularity, value_bytes: int = 4,
                    kernel_size: tuple[int, int] | None = None, role: str | None = None) -> Storage:
    """Storage of a keep-mask (2-D, or 4-D conv) in the natural format of its granularity."""
    gran = parse_granularity(granularity)
    if keep.dim() == 4:
        kernel_size = (int(keep.shape[2]), int(keep.shape[3]))
        keep = keep.reshape(keep.shape[0], -1)
    if gran.kind == "nm":
        return nm_storage(keep, gran.a, gran.b, value_bytes)
    tile = tile_for(gran, tuple(keep.shape), kernel_size, role)  # type: ignore[arg-type]
    if tile == (1, keep.shape[1]):
        return dense_lines(keep, value_bytes, 0)
    if tile[0] == keep.shape[0] and tile[0] > 1:
        return dense_lines(keep, value_bytes, 1)
    if tile[1] == keep.shape[1]:  # head rows: whole rows in groups of head_dim
        return dense_lines(keep, value_bytes, 0)
    return block_csr(keep, tile, value_bytes)


def element_csr(keep: Tensor, value_bytes: int = 4) -> Storage:
    """Element CSR of any mask (the format every granularity can fall back to)."""
    return block_csr(keep.reshape(keep.shape[0], -1), (1, 1), value_bytes)
