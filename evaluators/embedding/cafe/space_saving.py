"""Space-Saving placement of a HotSketch: where ids new to their bucket go, on numpy views of the state.

Kept apart from the sketch's bookkeeping (scores, decay, promotion) because it is the one step that
must loop, and only over rounds (at most ``slots`` per insert), never per id."""
from __future__ import annotations

import numpy as np

_INF = float("inf")


def place_newcomers(ids: np.ndarray, scores: np.ndarray, hot: np.ndarray, rounds: int,
                    new_ids: np.ndarray, new_buckets: np.ndarray, new_scores: np.ndarray) -> float:
    """Place ids absent from their bucket into the (B x S) slot arrays ``ids``/``scores``/``hot`` in place.

    Per bucket, the ``rounds`` highest batch scores (ties: lower id) go in one per round, ascending (the
    biggest last, so it keeps the inherited score), into a free slot, else over the lowest non-hot slot,
    inheriting its score (Space-Saving). A bucket whose slots are all hot drops the newcomer.
    Returns the score dropped (over ``rounds``, or no slot)."""
    if new_ids.size == 0:
        return 0.0
    order = np.lexsort((new_ids, -new_scores, new_buckets))  # by bucket, then score (descending), then id
    i, b, a = new_ids[order], new_buckets[order], new_scores[order]
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    counts = np.diff(np.r_[starts, b.size])
    rank = np.arange(b.size) - np.repeat(starts, counts)
    step = np.repeat(np.minimum(counts, rounds), counts) - 1 - rank  # < 0: past the rounds, dropped
    dropped = float(a[step < 0].sum(dtype=np.float64))
    for r in range(int(step.max()) + 1):
        m = step == r  # at most one newcomer per bucket
        bb, ii, aa = b[m], i[m], a[m]
        key = np.where(ids[bb] < 0, -_INF, np.where(hot[bb] >= 0, _INF, scores[bb]))
        s = key.argmin(1)  # first minimum: deterministic
        ok = key[np.arange(bb.size), s] < _INF
        dropped += float(aa[~ok].sum(dtype=np.float64))
        bb, s = bb[ok], s[ok]
        ids[bb, s] = ii[ok]
        scores[bb, s] += aa[ok]
    return dropped
