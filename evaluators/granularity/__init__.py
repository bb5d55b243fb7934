"""Masks at any sparsity granularity (element, vector, block/kernel, filter/row, head, N:M) for any metric."""
from __future__ import annotations

from .group_masks import SCOPES, global_group_keep_masks, group_keep_mask, group_scores
from .spec import AGGREGATES, Granularity, check_aggregate, parse_granularity
from .structure import Structure, head_role, keep_masks, parse_structure
from .tiles import aggregate_tiles, expand_tiles, tile_for

__all__ = ["AGGREGATES", "SCOPES", "Granularity", "Structure", "aggregate_tiles", "check_aggregate",
           "expand_tiles", "global_group_keep_masks", "group_keep_mask", "group_scores", "head_role", "keep_masks",
           "parse_granularity", "parse_structure", "tile_for"]
