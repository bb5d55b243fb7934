"""Keep-masks (True = keep) at any granularity: prune exactly round(sparsity * groups) groups.

Scope of the comparison: ``"layer"`` (the lowest groups of the layer), ``"row"`` (in every row of
groups, when a row holds several) or global (``global_group_keep_masks``: one ranking of every
layer's groups; groups of different layers may differ in size, so the element sparsity is then
approximate and l1/l2 aggregates favour larger groups). Equal-size groups (every tiling here)
make the element sparsity of a layer exact whenever ``sparsity * groups`` is whole.

Ties are broken as in ``evaluators.masks``: among equal group scores, the group with the lower
flat index (row-major over the group grid, layers in mapping order) is pruned first. N:M is
delegated to ``evaluators.masks.keep_mask``. Conv scores (K x C x R x S) are ranked on their
K x (C*R*S) view and the mask comes back in the 4-D shape.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

# the exact, tie-deterministic selection primitives of the masks module (same package layer)
from evaluators.masks import _check_scores, _prune_lowest_flat, _prune_lowest_rows, check_sparsity, keep_mask

from .spec import Granularity, parse_granularity
from .tiles import aggregate_tiles, expand_tiles, tile_for

__all__ = ["SCOPES", "global_group_keep_masks", "group_keep_mask", "group_scores"]

SCOPES = ("layer", "row", "global")


def _as_2d(scores: Tensor, kernel_size: tuple[int, int] | None) -> tuple[Tensor, tuple[int, int] | None]:
    """A (out x in) view of 2-D or conv (4-D) scores, and the kernel size (R, S) for conv."""
    if scores.dim() == 4:
        return scores.reshape(scores.shape[0], -1), (int(scores.shape[2]), int(scores.shape[3]))
    if scores.dim() != 2:
        raise ValueError(f"scores must be 2-D (out x in) or 4-D (K x C x R x S), got shape {tuple(scores.shape)}")
    return scores, kernel_size


def _check(sparsity: float, gran: Granularity) -> float:
    """Sparsity as a float in [0, 1); an N:M granularity must be asked for at N/M."""
    return check_sparsity(sparsity, f"{gran.a}:{gran.b}" if gran.kind == "nm" else None)


def group_scores(scores: Tensor, granularity: str | Granularity, aggregate: str = "l2",
                 kernel_size: tuple[int, int] | None = None, role: str | None = None) -> tuple[Tensor, tuple[int, int]]:
    """(group score grid, tile) of a layer's element scores: one score per group."""
    gran = parse_granularity(granularity)
    flat, ks = _as_2d(_check_scores(scores), kernel_size)
    tile = tile_for(gran, tuple(flat.shape), ks, role)  # type: ignore[arg-type]
    grid = aggregate_tiles(flat, tile, aggregate)
    return (grid if grid is flat else _check_scores(grid, "group scores")), tile  # single elements: checked


def _select(grid: Tensor, sparsity: float, scope: str) -> Tensor:
    """Group keep-mask of one grid under a layer or row scope."""
    if scope == "layer":
        return _prune_lowest_flat(grid.reshape(-1), round(sparsity * grid.numel())).view(grid.shape)
    if scope == "row":
        if grid.shape[1] < 2:
            raise ValueError("scope 'row' needs several groups per row; use scope 'layer' for whole rows, heads or tall blocks")
        return _prune_lowest_rows(grid, round(sparsity * grid.shape[1]))
    if scope == "global":
        raise ValueError("scope 'global' spans several layers: use global_group_keep_masks(scores_by_layer, ...)")
    raise ValueError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")


def group_keep_mask(scores: Tensor, sparsity: float, granularity: str | Granularity, *, scope: str = "layer",
                    aggregate: str = "l2", kernel_size: tuple[int, int] | None = None,
                    role: str | None = None) -> Tensor:
    """Keep-mask (bool, shape of scores) pruning the lowest-scoring groups of one layer."""
    gran = parse_granularity(granularity)
    value = _check(sparsity, gran)
    if gran.kind == "nm":
        flat, _ = _as_2d(scores, kernel_size)
        return keep_mask(flat, value, f"{gran.a}:{gran.b}").view(scores.shape)
    grid, tile = group_scores(scores, gran, aggregate, kernel_size, role)
    return expand_tiles(_select(grid, value, scope), tile).view(scores.shape)


def global_group_keep_masks(scores: Mapping[str, Tensor], sparsity: float,
                            granularity: str | Granularity | Mapping[str, str | Granularity], *,
                            aggregate: str = "l2", kernel_sizes: Mapping[str, tuple[int, int]] | None = None,
                            roles: Mapping[str, str | None] | None = None) -> dict[str, Tensor]:
    """Keep-masks of several layers pruning exactly round(sparsity * all groups) under one ranking."""
    grans = {n: parse_granularity(granularity[n] if isinstance(granularity, Mapping) else granularity) for n in scores}
    if any(g.kind == "nm" for g in grans.values()):
        raise ValueError("N:M has no global form: every block of M prunes N")
    value = check_sparsity(sparsity)
    if not scores:
        return {}
    grids: dict[str, tuple[Tensor, tuple[int, int]]] = {}
    for name, s in scores.items():
        grids[name] = group_scores(s, grans[name], aggregate, (kernel_sizes or {}).get(name), (roles or {}).get(name))
    device = next(iter(grids.values()))[0].device
    flat = torch.cat([g.reshape(-1).to(device=device, dtype=torch.float64) for g, _ in grids.values()])
    keep = _prune_lowest_flat(flat, round(value * flat.numel()))
    parts = keep.split([g.numel() for g, _ in grids.values()])
    return {name: expand_tiles(part.view(g.shape), tile).view(scores[name].shape).to(scores[name].device)
            for (name, (g, tile)), part in zip(grids.items(), parts)}
