"""Groups as equal tiles of the 2-D (out x in) view: tile size per granularity, aggregation, expansion.

Every granularity except N:M is a tiling of the layer's (out x in) matrix into equal a x b tiles
(a conv weight K x C x R x S is seen as K x (C*R*S), the order of ``F.unfold``'s columns):

| granularity | tile (a, b) |
|---|---|
| element | (1, 1) |
| vector:k (linear) / vector (conv kernel row) | (1, k) / (1, S) |
| block:a x b | (a, b) |
| kernel (conv) | (1, R*S): one R x S kernel is R*S consecutive columns of one row |
| filter / row / neuron | (1, in) |
| head:d | (d, in) on q/k/v (role "rows"), (out, d) on o (role "cols"), (1, in) elsewhere |

A group's score is an aggregate of its elements' scores: ``l1`` (sum of |s|), ``l2``
(sqrt(sum s^2)), ``max`` or ``mean`` (both keep the sign). l1 and l2 are norms, so they drop the
sign of signed metrics; a one-element group keeps its raw score under every aggregate. Sums are
taken in float64, so large scores do not overflow.
"""
from __future__ import annotations

from torch import Tensor

from .spec import Granularity, check_aggregate

__all__ = ["aggregate_tiles", "expand_tiles", "tile_for"]

ROLES = ("rows", "cols")


def tile_for(gran: Granularity, shape: tuple[int, int], kernel_size: tuple[int, int] | None = None,
             role: str | None = None) -> tuple[int, int]:
    """The (a, b) tile of one group for a 2-D (out x in) layer; ValueError when it does not apply."""
    out, inp = int(shape[0]), int(shape[1])
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be 'rows', 'cols' or None, got {role!r}")
    if gran.kind == "element":
        tile = (1, 1)
    elif gran.kind == "vector":
        if gran.b:
            tile = (1, gran.b)
        elif kernel_size is not None:
            tile = (1, int(kernel_size[1]))
        else:
            raise ValueError("granularity 'vector' on a linear layer needs a width, e.g. 'vector:4'")
    elif gran.kind == "block":
        tile = (gran.a, gran.b)
    elif gran.kind == "kernel":
        if kernel_size is None:
            raise ValueError("granularity 'kernel' applies to conv layers; on a linear layer use 'block:k'")
        tile = (1, int(kernel_size[0]) * int(kernel_size[1]))
    elif gran.kind == "filter":
        tile = (1, inp)
    elif gran.kind == "head":
        tile = {"rows": (gran.a, inp), "cols": (out, gran.a)}.get(role or "", (1, inp))
    else:
        raise ValueError(f"granularity {gran} is not a tiling (N:M is handled by evaluators.masks)")
    if out % tile[0] or inp % tile[1]:
        raise ValueError(f"granularity {gran} needs a layer of shape {out} x {inp} to split into "
                         f"{tile[0]} x {tile[1]} groups")
    return tile


def _tiles(scores: Tensor, tile: tuple[int, int]) -> Tensor:
    """View scores (out x in) as (out/a, in/b, a*b): one row of elements per group."""
    a, b = tile
    out, inp = scores.shape
    return scores.reshape(out // a, a, inp // b, b).permute(0, 2, 1, 3).reshape(out // a, inp // b, a * b)


def aggregate_tiles(scores: Tensor, tile: tuple[int, int], aggregate: str = "l2") -> Tensor:
    """Group scores (out/a x in/b) of element scores (out x in) under an aggregate."""
    how = check_aggregate(aggregate)
    if tile == (1, 1):
        return scores
    groups = _tiles(scores.double(), tile)
    if how == "l1":
        return groups.abs().sum(dim=-1)
    if how == "l2":
        return groups.square().sum(dim=-1).sqrt()
    if how == "max":
        return groups.amax(dim=-1)
    return groups.mean(dim=-1)


def expand_tiles(group_keep: Tensor, tile: tuple[int, int]) -> Tensor:
    """Element mask (out x in) from a group mask (out/a x in/b); single elements' mask as it is."""
    a, b = tile
    if tile == (1, 1):
        return group_keep
    return group_keep.repeat_interleave(a, dim=0).repeat_interleave(b, dim=1)
