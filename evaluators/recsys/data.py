"""CTR tensors and their splits: by time (earlier interactions train, later test) or seeded random."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

SPLITS = ("time", "random")
GENRES = ("first", "multi")


@dataclass(frozen=True)
class CTRTable:
    """Every interaction, encoded (numpy): categorical codes, genre bag, dense features, label, time."""

    fields: tuple[str, ...]
    cardinalities: tuple[int, ...]
    x: np.ndarray
    bag: np.ndarray
    bag_cardinality: int
    dense: np.ndarray
    dense_names: tuple[str, ...]
    y: np.ndarray
    timestamp: np.ndarray
    rating: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def without_neutral(self, neutral: float = 3.0) -> "CTRTable":
        """The table without the rows rated ``neutral`` (RecBole's protocol drops rating 3)."""
        keep = self.rating != neutral
        return dataclasses.replace(self, x=self.x[keep], bag=self.bag[keep], dense=self.dense[keep],
                                   y=self.y[keep], timestamp=self.timestamp[keep], rating=self.rating[keep],
                                   info=dict(self.info, dropped_neutral=int((~keep).sum())))


@dataclass(frozen=True)
class Split:
    """Model inputs of some rows: x (n x fields, long), bag (n x L, long, 0 = padding), dense, y."""

    x: torch.Tensor
    bag: torch.Tensor
    dense: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.y)

    def take(self, index: torch.Tensor | slice) -> "Split":
        """The rows at index."""
        return Split(self.x[index], self.bag[index], self.dense[index], self.y[index])

    def inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x, bag, dense): what a model's forward takes."""
        return self.x, self.bag, self.dense

    def batches(self, size: int, generator: torch.Generator | None = None) -> Iterator["Split"]:
        """Mini-batches, shuffled by generator when given, in order otherwise."""
        order = torch.randperm(len(self), generator=generator) if generator is not None else None
        for start in range(0, len(self), size):
            yield self.take(order[start:start + size] if order is not None else slice(start, start + size))


@dataclass(frozen=True)
class CTRData:
    """Train / valid / test / calibration splits and the field layout the models need."""

    fields: tuple[str, ...]
    cardinalities: tuple[int, ...]
    bag_cardinality: int
    dense_names: tuple[str, ...]
    train: Split
    valid: Split
    test: Split
    calib: Split
    info: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> Split:
        """A split by name: train, valid, test or calib."""
        if name not in ("train", "valid", "test", "calib"):
            raise ValueError(f"unknown split {name!r}: expected train, valid, test or calib")
        return getattr(self, name)


def split_order(timestamp: np.ndarray, how: str, seed: int) -> np.ndarray:
    """Row order whose head trains and tail tests: by time (ties broken by seed) or a seeded shuffle."""
    rng = np.random.RandomState(seed)
    if how == "time":
        return np.lexsort((rng.permutation(len(timestamp)), timestamp))
    if how == "random":
        return rng.permutation(len(timestamp))
    raise ValueError(f"unknown split {how!r}: expected one of {', '.join(SPLITS)}")


def make_splits(table: CTRTable, how: str = "time", genres: str = "first", seed: int = 0,
                test_frac: float = 0.2, valid_frac: float = 0.1, calib_rows: int = 4096,
                drop_neutral: bool = False) -> CTRData:
    """Split a table: the last test_frac of the order is test, the valid_frac before it valid, the rest train.

    For ``how="time"`` this is a split at the timestamp quantile 1 - test_frac: every test
    interaction is at least as late as every train one. Calibration rows are a seeded sample of train.
    ``drop_neutral`` removes the rating-3 rows first (RecBole's CTR protocol).
    """
    if drop_neutral:
        table = table.without_neutral()
    if genres not in GENRES:
        raise ValueError(f"unknown genres mode {genres!r}: expected one of {', '.join(GENRES)}")
    if not (0 < test_frac < 1 and 0 <= valid_frac < 1 and test_frac + valid_frac < 1):
        raise ValueError(f"bad fractions test={test_frac}, valid={valid_frac}")
    keep = [i for i, f in enumerate(table.fields) if not (genres == "multi" and f == "genre")]
    x = torch.from_numpy(np.ascontiguousarray(table.x[:, keep]))
    bag = torch.from_numpy(table.bag if genres == "multi" else table.bag[:, :0].copy())
    full = Split(x, bag, torch.from_numpy(table.dense), torch.from_numpy(table.y))
    order = torch.from_numpy(split_order(table.timestamp, how, seed))
    n = len(order)
    n_test, n_valid = round(test_frac * n), round(valid_frac * n)
    train_idx = order[: n - n_test - n_valid]
    calib_pick = torch.from_numpy(np.random.RandomState(seed + 1).permutation(len(train_idx))[:calib_rows])
    info = dict(table.info, split=how, genres=genres, seed=seed, test_frac=test_frac, valid_frac=valid_frac,
                positives=float(table.y.mean()))
    if how == "time":
        info["test_from_timestamp"] = float(table.timestamp[order[n - n_test]])
    return CTRData(
        fields=tuple(table.fields[i] for i in keep),
        cardinalities=tuple(table.cardinalities[i] for i in keep),
        bag_cardinality=table.bag_cardinality if genres == "multi" else 0,
        dense_names=table.dense_names,
        train=full.take(train_idx), valid=full.take(order[n - n_test - n_valid: n - n_test]),
        test=full.take(order[n - n_test:]), calib=full.take(train_idx[calib_pick]), info=info)

