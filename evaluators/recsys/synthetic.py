"""A seeded synthetic CTR table (Zipf-distributed ids, labels from a hidden logistic model), for tests and scale runs.

Not MovieLens: use it where real data is not the point (unit tests, throughput at many ids).
``synthetic_table`` is the small one of the unit tests; ``zipf_ctr(ZipfCTRSpec(...))`` builds millions of
rows over ~1M ids in seconds (vectorised inverse-CDF sampling) and also returns the planted logit.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from evaluators.recsys.data import CTRTable


def synthetic_table(rows: int = 2000, cardinalities: tuple[int, ...] = (50, 30, 5), n_dense: int = 2,
                    bag_cardinality: int = 6, bag_width: int = 3, zipf: float = 1.2, seed: int = 0) -> CTRTable:
    """Categorical codes 1..K-1 drawn Zipf-like per field; y ~ Bernoulli(sigmoid(hidden score))."""
    rng = np.random.RandomState(seed)
    columns, logit = [], np.zeros(rows)
    for card in cardinalities:
        ranks = np.arange(1, card)
        p = ranks ** -zipf / np.sum(ranks ** -zipf)
        codes = rng.choice(ranks, size=rows, p=p)
        effect = rng.normal(0, 1.0, size=card)
        columns.append(codes)
        logit += effect[codes]
    dense = rng.normal(size=(rows, n_dense)).astype(np.float32)
    logit += dense @ rng.normal(size=n_dense)
    bag = rng.randint(0, bag_cardinality, size=(rows, bag_width)) if bag_cardinality else np.zeros((rows, 0), int)
    y = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit + logit.mean()))).astype(np.float32)
    return _table(cardinalities, columns, bag, bag_cardinality, dense, y, {"source": "synthetic", "seed": seed})


def _table(cardinalities: tuple[int, ...], columns: list[np.ndarray], bag: np.ndarray, bag_cardinality: int,
           dense: np.ndarray, y: np.ndarray, info: dict) -> CTRTable:
    """A CTRTable of generated columns: fields f0.., dense d0.., timestamps 0..rows-1, ratings 5 / 1 by label."""
    return CTRTable(fields=tuple(f"f{i}" for i in range(len(cardinalities))), cardinalities=tuple(cardinalities),
                    x=np.stack(columns, axis=1).astype(np.int64), bag=bag.astype(np.int64),
                    bag_cardinality=bag_cardinality, dense=dense,
                    dense_names=tuple(f"d{i}" for i in range(dense.shape[1])), y=y,
                    timestamp=np.arange(len(y), dtype=float), rating=np.where(y > 0, 5.0, 1.0), info=info)


@dataclass(frozen=True)
class ZipfCTRSpec:
    """A planted CTR world at scale: fields of Zipf-distributed ids and a logistic click model.

    Occurrences of field codes 1..card-1 follow a Zipf law over ranks (``exponent``), truncated at the
    cardinality; ranks are relabelled by a seeded permutation so an id's value says nothing about its
    frequency (no structure for quotient-remainder to exploit). Click logit = per-id effects
    N(0, effect_std) summed over fields + a rank-``interaction_rank`` product between fields 0 and 1 of
    std ``interaction_std`` + dense features, shifted to a ``positive_rate`` base rate."""

    rows: int = 2_000_000
    cardinalities: tuple[int, ...] = (250_001,) * 4
    exponent: float = 1.1
    effect_std: float = 0.5
    interaction_std: float = 0.5
    interaction_rank: int = 4
    n_dense: int = 2
    dense_std: float = 0.3
    positive_rate: float = 0.25
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rows < 1 or len(self.cardinalities) < 2 or min(self.cardinalities) < 2:
            raise ValueError(f"need rows >= 1 and >= 2 fields of cardinality >= 2, got {self.rows} rows, "
                             f"cardinalities {self.cardinalities}")
        if not (self.exponent > 0 and 0 < self.positive_rate < 1 and self.interaction_rank >= 1):
            raise ValueError("need exponent > 0, 0 < positive_rate < 1 and interaction_rank >= 1")


def zipf_codes(rng: np.random.Generator, rows: int, card: int, exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """(codes, code of each rank): ``rows`` codes in 1..card-1 by inverse-CDF sampling of a Zipf law over
    ranks 1..card-1 (vectorised: one searchsorted), ranks mapped to codes by a seeded permutation."""
    cdf = np.cumsum(np.arange(1, card, dtype=np.float64) ** -exponent)
    rank = np.searchsorted(cdf / cdf[-1], rng.random(rows), side="right").clip(max=card - 2)
    code_of_rank = rng.permutation(card - 1) + 1
    return code_of_rank[rank], code_of_rank


def zipf_ctr(spec: ZipfCTRSpec = ZipfCTRSpec()) -> tuple[CTRTable, np.ndarray]:
    """The spec's table (no bag; timestamps 0..rows-1) and the planted click logit of every row.

    Two tables of the same spec are identical; ~2 s for 2M rows x 4 fields of 250k ids."""
    rng = np.random.default_rng(spec.seed)
    columns, logit = [], np.zeros(spec.rows)
    for card in spec.cardinalities:
        codes, _ = zipf_codes(rng, spec.rows, card, spec.exponent)
        columns.append(codes)
        logit += rng.normal(0.0, spec.effect_std, size=card)[codes]
    scale = np.sqrt(spec.interaction_std / np.sqrt(spec.interaction_rank))  # the dot product has std interaction_std
    u, v = (rng.normal(0.0, scale, size=(c, spec.interaction_rank)) for c in spec.cardinalities[:2])
    logit += np.einsum("nk,nk->n", u[columns[0]], v[columns[1]])
    dense = rng.normal(size=(spec.rows, spec.n_dense)).astype(np.float32)
    logit += dense @ rng.normal(0.0, spec.dense_std, size=spec.n_dense)
    lo, hi = -30.0, 30.0  # intercept for the base rate, by bisection
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.mean(1 / (1 + np.exp(-(logit + mid)))) < spec.positive_rate else (lo, mid)
    logit += (lo + hi) / 2
    y = (rng.random(spec.rows) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    table = _table(spec.cardinalities, columns, np.zeros((spec.rows, 0), np.int64), 0, dense, y,
                   {"source": "synthetic-zipf", **asdict(spec)})
    return table, logit
