"""A task's ``group`` text as a Structure (granularity + scope), and head roles from layer names.

One text form serves every task's ``group`` field, a superset of ``evaluators.masks``' groups:

- ``row``, ``layer``, ``global``, ``2:4`` keep their masks.py meaning (elements compared per row,
  per layer, over all layers; N:M);
- a granularity (``element``, ``vector:4``, ``block:4``, ``kernel``, ``filter``, ``neuron``,
  ``head:64``) is compared per layer, optionally followed by ``@layer``, ``@row`` or ``@global``
  (``vector:4@row``, ``element@global``). Whole rows are ``filter`` or ``neuron`` here: the word
  ``row`` alone always means the masks.py per-row group.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from torch import Tensor

from evaluators.masks import check_sparsity, parse_group

from .group_masks import SCOPES, global_group_keep_masks, group_keep_mask
from .spec import Granularity, check_aggregate, parse_granularity

__all__ = ["Structure", "head_role", "keep_masks", "parse_structure"]

_ROWS = ("q_proj", "k_proj", "v_proj", "query", "key", "value", "c_attn", "qkv_proj", "Wqkv")
_COLS = ("o_proj", "out_proj", "attn.c_proj", "attention.dense", "attention.output.dense")


@dataclass(frozen=True)
class Structure:
    """What one comparison prunes: a granularity, a scope (layer, row, global) and an aggregate."""

    granularity: Granularity
    scope: str = "layer"
    aggregate: str = "l2"

    def __str__(self) -> str:
        """Canonical text; masks.py groups print as themselves ("row", "2:4")."""
        if self.granularity.kind == "nm":
            return str(self.granularity)
        if self.granularity.kind == "element":
            return self.scope
        return str(self.granularity) if self.scope == "layer" else f"{self.granularity}@{self.scope}"

    @property
    def is_global(self) -> bool:
        """True when one ranking spans every layer."""
        return self.scope == "global"

    @property
    def rows_independent(self) -> bool:
        """True when each output row's mask depends on that row's scores alone (per-row elements, N:M)."""
        return self.granularity.kind == "nm" or (self.granularity.kind == "element" and self.scope == "row")

    def group_range(self, scores: Tensor) -> tuple[Tensor, Tensor]:
        """(min, max) of each comparison group of single weights (per row, per N:M block) of a 2-D
        layer, or of the whole layer where groups hold several weights; NaN propagates into both."""
        gran = self.granularity
        if scores.dim() == 2 and gran.kind == "element" and self.scope == "row":
            return scores.amin(dim=1), scores.amax(dim=1)  # separately: several times faster than aminmax
        if scores.dim() == 2 and gran.kind == "nm" and scores.shape[1] % gran.b == 0:
            blocks = scores.reshape(scores.shape[0], -1, gran.b)
            return blocks.amin(dim=2), blocks.amax(dim=2)
        return scores.amin(), scores.amax()

    def check_sparsity(self, sparsity: float) -> float:
        """Sparsity as a float in [0, 1); an N:M structure must be asked for at N/M."""
        gran = self.granularity
        return check_sparsity(sparsity, str(gran) if gran.kind == "nm" else None)

    def keep_mask(self, scores: Tensor, sparsity: float, kernel_size: tuple[int, int] | None = None,
                  role: str | None = None) -> Tensor:
        """Keep-mask of one layer (not for global structures); role matters only for head granularities."""
        return group_keep_mask(scores, sparsity, self.granularity, scope=self.scope, aggregate=self.aggregate,
                               kernel_size=kernel_size, role=role)


def parse_structure(text: str | Structure, aggregate: str = "l2") -> Structure:
    """Parse a task's group text (see the module docstring); ValueError on anything else."""
    if isinstance(text, Structure):
        return text
    if not isinstance(text, str):
        raise ValueError(f"group must be a string such as 'row', '2:4' or 'vector:4', got {text!r}")  # noqa: TRY004
    agg = check_aggregate(aggregate)
    word = re.sub(r"\s+", "", text.lower())
    if "@" not in word and (word in ("row", "layer", "global") or ":" in word and word.replace(":", "").isdigit()):
        group = parse_group(word)  # the single-weight groups: one parser, evaluators.masks
        if group.kind == "nm":
            return Structure(Granularity("nm", group.n, group.m), "layer", agg)
        return Structure(Granularity("element"), group.kind, agg)
    body, at, scope = word.partition("@")
    scope = scope if at else "layer"
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r} in group {text!r}; use @layer, @row or @global")
    gran = parse_granularity(body)
    if gran.kind == "nm" and scope != "layer":
        raise ValueError(f"N:M group {text!r} takes no scope: every block of M prunes N")
    return Structure(gran, scope, agg)


def head_role(layer_name: str) -> str | None:
    """'rows' for attention q/k/v projections, 'cols' for the output projection, None otherwise."""
    if layer_name.rsplit(".", 1)[-1] in _ROWS:
        return "rows"
    if any(layer_name == c or layer_name.endswith("." + c) for c in _COLS):
        return "cols"
    return None


def keep_masks(scores: Mapping[str, Tensor], sparsity: float, group: str | Structure, aggregate: str = "l2",
               kernel_sizes: Mapping[str, tuple[int, int]] | None = None) -> dict[str, Tensor]:
    """Keep-masks of named layers for a task's group text: per layer or one global ranking; head roles from names."""
    structure = parse_structure(group, aggregate)
    roles = {name: head_role(name) for name in scores}
    kernels = kernel_sizes or {}
    if structure.is_global:
        return global_group_keep_masks(scores, sparsity, structure.granularity, aggregate=structure.aggregate,
                                       kernel_sizes=kernels, roles=roles)
    return {name: structure.keep_mask(s, sparsity, kernels.get(name), roles[name]) for name, s in scores.items()}
