"""MovieLens-100k splits together with the timestamp of every training row (time-decay needs row ages)."""
from __future__ import annotations

import functools

import numpy as np

from evaluators.recsys.data import CTRData, split_order
from evaluators.recsys.movielens import load_movielens

TEST_FRAC, VALID_FRAC = 0.2, 0.1


@functools.lru_cache(maxsize=4)
def load_rows(split: str, seed: int) -> tuple[CTRData, np.ndarray]:
    """The split (as ``load_movielens``) and the timestamps (seconds) of its training rows, row-aligned.

    ``make_splits`` keeps no timestamps, so the training order is recomputed with the same
    ``split_order`` and checked against the training labels.
    """
    from evaluators.recsys.movielens import load_table

    data = load_movielens(split=split, seed=seed, test_frac=TEST_FRAC, valid_frac=VALID_FRAC)
    table = load_table()
    order = split_order(table.timestamp, split, seed)[:len(data.train)]
    if not np.array_equal(table.y[order], data.train.y.numpy()):
        raise RuntimeError("training-row timestamps do not line up with the training split")
    return data, table.timestamp[order]
