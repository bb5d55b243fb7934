"""A seeded synthetic CTR table (Zipf-distributed ids, labels from a hidden logistic model), for tests and scale runs.

Not MovieLens: use it where real data is not the point (unit tests, throughput at many ids).
"""
from __future__ import annotations

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
    return CTRTable(fields=tuple(f"f{i}" for i in range(len(cardinalities))), cardinalities=tuple(cardinalities),
                    x=np.stack(columns, axis=1).astype(np.int64), bag=bag.astype(np.int64),
                    bag_cardinality=bag_cardinality, dense=dense, dense_names=tuple(f"d{i}" for i in range(n_dense)),
                    y=y, timestamp=np.arange(rows, dtype=float), rating=np.where(y > 0, 5.0, 1.0),
                    info={"source": "synthetic", "seed": seed})
