"""The recommender's field layout as one global id space: field f's code c is id offset[f] + c.

Fields come first in order, then the multi-hot bag (code 0 of the bag is padding, never a feature
occurrence), so the full table has sum(cardinalities) + bag_cardinality rows."""
from __future__ import annotations

from dataclasses import dataclass

import torch


def check_ids(ids: torch.Tensor, limit: int | torch.Tensor, what: str = "ids") -> torch.Tensor:
    """``ids`` as int64; ValueError unless an integer tensor with 0 <= ids < limit (per last axis)."""
    ids = torch.as_tensor(ids)
    if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
        raise ValueError(f"{what} must be an integer tensor, got dtype {ids.dtype}")
    if ids.numel():
        if int(ids.min()) < 0:
            raise ValueError(f"{what} must be >= 0, got min {int(ids.min())}")
        if bool((ids >= limit).any()):
            raise ValueError(f"{what} out of range: every id must be below its cardinality {limit}")
    return ids.to(torch.int64)


@dataclass(frozen=True)
class FieldLayout:
    """Field names, per-field cardinalities and the bag cardinality (0: no bag)."""

    fields: tuple[str, ...]
    cardinalities: tuple[int, ...]
    bag_cardinality: int = 0

    def __post_init__(self) -> None:
        if len(self.fields) != len(self.cardinalities) or not self.fields:
            raise ValueError(f"need >= 1 field and one cardinality per field, got {self.fields} and "
                             f"{self.cardinalities}")
        if any(int(c) < 1 for c in self.cardinalities) or int(self.bag_cardinality) < 0:
            raise ValueError(f"cardinalities must be >= 1 and bag_cardinality >= 0, got "
                             f"{self.cardinalities} and {self.bag_cardinality}")

    @property
    def num_features(self) -> int:
        """Rows of the full table: every field code plus every bag code."""
        return sum(int(c) for c in self.cardinalities) + int(self.bag_cardinality)

    def offsets(self) -> torch.Tensor:
        """int64 offset of each field (then of the bag) in the global id space."""
        sizes = torch.tensor([0, *self.cardinalities], dtype=torch.int64)
        return sizes.cumsum(0)

    def global_ids(self, x: torch.Tensor, bag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids, valid) of shape (n, fields + bag width): global ids of every field code and bag
        entry; ``valid`` is False at bag padding (code 0, whose id is kept but never looked at)."""
        if x.dim() != 2 or x.shape[1] != len(self.fields):
            raise ValueError(f"x must be (n, {len(self.fields)}), got shape {tuple(x.shape)}")
        if bag.dim() != 2 or bag.shape[0] != x.shape[0] or (not self.bag_cardinality and bag.shape[1]):
            raise ValueError(f"bag must be (n, L) with L = 0 when there is no bag, got shape {tuple(bag.shape)}")
        offsets = self.offsets()
        x = check_ids(x, torch.tensor(self.cardinalities), "field codes")
        bag = check_ids(bag, max(1, self.bag_cardinality), "bag codes")
        ids = torch.cat([x + offsets[:-1], bag + offsets[-1]], dim=1)
        valid = torch.cat([torch.ones_like(x, dtype=torch.bool), bag > 0], dim=1)
        return ids, valid

    def counts(self, x: torch.Tensor, bag: torch.Tensor) -> torch.Tensor:
        """Occurrences of every global id in (x, bag), int64 of length ``num_features`` (padding not counted)."""
        ids, valid = self.global_ids(x, bag)
        return torch.bincount(ids[valid], minlength=self.num_features)
