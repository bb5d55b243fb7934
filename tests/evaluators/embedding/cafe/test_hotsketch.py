"""HotSketch (CAFE): exactness without collisions, Space-Saving behaviour, hot rows, decay, input checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from evaluators.embedding.cafe import ExactCounter, HotSketch

NO_DECAY = 1e9  # threshold so high that no decay happens on these streams


def dyadic_stream(rng: np.random.Generator, pool: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n occurrences of ids from ``pool`` with quarter-integer scores (float32 sums stay exact)."""
    return rng.choice(pool, size=n), rng.integers(0, 8, size=n) / 4.0


def batches(ids: np.ndarray, scores: np.ndarray, size: int):
    for i in range(0, ids.size, size):
        yield torch.from_numpy(ids[i:i + size]), torch.from_numpy(scores[i:i + size]).float()


def reference_insert(sk: HotSketch, ids: np.ndarray, scores: np.ndarray) -> None:
    """The documented placement rule, one id at a time in plain Python (no hot rows, no decay)."""
    totals: dict[int, float] = {}
    for i, s in zip(ids.tolist(), scores.tolist()):
        totals[i] = totals.get(i, 0.0) + s
    bucket = dict(zip(totals, sk.bucket_of(torch.tensor(list(totals))).tolist()))
    new: dict[int, list[tuple[float, int]]] = {}
    for i in sorted(totals):
        row = sk.ids[bucket[i]].tolist()
        if i in row:
            sk.scores[bucket[i], row.index(i)] += totals[i]
        else:
            new.setdefault(bucket[i], []).append((-totals[i], i))
    for b, cands in new.items():
        for neg, i in reversed(sorted(cands)[:sk.rounds]):  # kept top `rounds`, placed ascending
            row, sc = sk.ids[b].tolist(), sk.scores[b].tolist()
            s = row.index(-1) if -1 in row else min(range(sk.S), key=lambda j: (sc[j], j))
            sk.ids[b, s], sk.scores[b, s] = i, sc[s] if row[s] >= 0 else 0.0
            sk.scores[b, s] += -neg


def test_exact_when_every_id_has_a_slot():
    rng = np.random.default_rng(0)
    pool = rng.choice(2**40, size=40, replace=False)  # high bits exercise the hash's upper half
    sk = HotSketch(64, 4, threshold=NO_DECAY, seed=3)
    assert np.bincount(sk.bucket_of(torch.from_numpy(pool)).numpy()).max() <= 4  # no bucket overflows
    ids, scores = dyadic_stream(rng, pool, 5000)
    exact = ExactCounter()
    for bi, bs in batches(ids, scores, 97):
        assert sk.insert(bi, bs).dropped_score == 0.0
        exact.insert(bi.numpy(), bs.numpy())
    got = sk.score_of(torch.from_numpy(pool)).tolist()
    assert got == [exact.totals.get(int(i), 0.0) for i in pool]
    assert sk.topk(10)[0].tolist() == exact.topk(10)
    assert float(sk.scores.double().sum()) == float(scores.sum())


@pytest.mark.parametrize("rounds", [1, 4, 6])
def test_vectorised_placement_matches_python_reference(rounds):
    rng = np.random.default_rng(1)
    pool = np.arange(300) * 7919
    sk = HotSketch(16, 4, threshold=NO_DECAY, rounds=rounds, seed=1)
    ref = HotSketch(16, 4, threshold=NO_DECAY, rounds=rounds, seed=1)
    ids, scores = dyadic_stream(rng, pool, 4000)
    for bi, bs in batches(ids, scores, 250):
        sk.insert(bi, bs)
        reference_insert(ref, bi.numpy(), bs.numpy())
        assert torch.equal(sk.ids, ref.ids) and torch.equal(sk.scores, ref.scores)


def zipf_ids(rng: np.random.Generator, n: int, features: int, a: float) -> np.ndarray:
    p = np.arange(1, features + 1, dtype=float) ** -a
    return rng.permutation(features)[rng.choice(features, size=n, p=p / p.sum())]


def test_zipf_topk_recall_and_space_saving_lower_bound():
    rng = np.random.default_rng(2)
    ids = zipf_ids(rng, 200_000, 2000, 1.05)
    sk, exact = HotSketch(128, 4, threshold=NO_DECAY, seed=0), ExactCounter()
    since: dict[int, float] = {}  # true total of each stored id since it was (last) inserted
    for bi, bs in batches(ids, np.ones(ids.size), 4096):
        sk.insert(bi, bs)
        exact.insert(bi.numpy(), bs.numpy())
        u, c = np.unique(bi.numpy(), return_counts=True)
        batch = dict(zip(u.tolist(), c.tolist()))
        stored = set(sk.ids[sk.ids >= 0].tolist())
        since = {i: since.get(i, 0.0) + batch.get(i, 0) for i in stored}
        got = sk.score_of(torch.tensor(sorted(stored))).tolist()
        assert all(g >= since[i] for g, i in zip(got, sorted(stored)))  # Space-Saving: never under
    recall = {k: len(set(exact.topk(k)) & set(sk.topk(k)[0].tolist())) / k for k in (50, 100)}
    # 512 slots for 2000 features. Measured on this stream (seed 2): 0.98 and 0.88; seeds 2..7 gave
    # 0.96..1.0 and 0.85..0.89 (recall@200 falls to ~0.73: 4 slots per bucket of ~16 features).
    assert recall[50] >= 0.94 and recall[100] >= 0.8


def test_hot_rows_distinct_bounded_and_reported_once():
    rng = np.random.default_rng(3)
    sk = HotSketch(64, 4, hot_rows=5, threshold=10.0, decay_every=1e12, seed=0)
    promoted: list[int] = []
    for _ in range(30):
        ids = torch.from_numpy(rng.integers(0, 20, size=16))
        rep = sk.insert(ids, torch.ones(16))
        promoted += rep.promoted_ids.tolist()
        hot = sk.hot[sk.hot >= 0]
        assert hot.numel() <= 5 and hot.unique().numel() == hot.numel()
        assert sk.query(rep.promoted_ids).tolist() == rep.promoted_rows.tolist()
        assert rep.evicted_ids.numel() == 0
    assert len(promoted) == len(set(promoted)) == 5
    assert (sk.score_of(torch.tensor(promoted)) >= 10).all()
    assert sorted(sk.query(torch.tensor(promoted)).tolist()) == [0, 1, 2, 3, 4]
    assert sk.query(torch.tensor([10**12])).tolist() == [-1]


def test_highest_scores_win_scarce_rows_and_all_hot_bucket_drops_newcomers():
    sk = HotSketch(1, 2, hot_rows=1, threshold=1.0, decay_every=1e12)
    rep = sk.insert(torch.tensor([5, 6, 6]), torch.tensor([2.0, 1.5, 1.5]))
    assert rep.promoted_ids.tolist() == [6] and rep.promoted_rows.tolist() == [0]
    sk = HotSketch(1, 2, hot_rows=2, threshold=1.0, decay_every=1e12)
    sk.insert(torch.tensor([1, 2]), torch.tensor([5.0, 5.0]))
    rep = sk.insert(torch.tensor([3]), torch.tensor([7.0]))
    assert rep.dropped_score == 7.0 and sk.score_of(torch.tensor([3])).item() == 0.0


def test_decay_evicts_cold_hot_ids_and_reuses_their_rows():
    sk = HotSketch(2, 4, hot_rows=4, threshold=1.0)  # decay every 10*B*T = 20 of inserted score
    rep = sk.insert(torch.tensor([1, 2]), torch.tensor([1.0078125, 5.0]))
    assert rep.promoted_ids.tolist() == [2, 1] and rep.promoted_rows.tolist() == [0, 1]
    rep = sk.insert(torch.tensor([3]), torch.tensor([13.9921875]))  # total now 20: one decay
    assert rep.decays == 1
    assert rep.evicted_ids.tolist() == [1] and rep.evicted_rows.tolist() == [1]
    assert rep.promoted_ids.tolist() == [3] and rep.promoted_rows.tolist() == [1]  # freed row reused
    got = sk.score_of(torch.tensor([1, 2, 3]))
    assert torch.allclose(got, torch.tensor([1.0078125, 5.0, 13.9921875]) * 0.99)
    assert sk.query(torch.tensor([1, 2, 3])).tolist() == [-1, 0, 1]
    rep = sk.insert(torch.tensor([2]), torch.tensor([45.0]))  # 45 more: two decays at once
    assert rep.decays == 2 and float(sk.since_decay) == pytest.approx(5.0)
    assert sk.score_of(torch.tensor([2])).item() == pytest.approx((5.0 * 0.99 + 45.0) * 0.99**2, rel=1e-6)


def test_repeated_ids_in_one_batch_equal_one_by_one_without_replacement():
    rng = np.random.default_rng(4)
    pool = np.arange(30) * 1000003
    one, many = (HotSketch(64, 4, hot_rows=64, threshold=20.0, seed=5) for _ in range(2))
    assert np.bincount(one.bucket_of(torch.from_numpy(pool)).numpy()).max() <= 4  # nothing replaced
    ids, scores = dyadic_stream(rng, pool, 600)
    assert scores.sum() < 10 * 64 * 20.0  # no decay
    one.insert(torch.from_numpy(ids), torch.from_numpy(scores))
    for i, s in zip(ids, scores):
        many.insert(torch.tensor([i]), torch.tensor([s]))
    assert torch.equal(one.score_of(torch.from_numpy(pool)), many.score_of(torch.from_numpy(pool)))
    hot_one, hot_many = (set(sk.ids[sk.hot >= 0].tolist()) for sk in (one, many))
    assert hot_one == hot_many and len(hot_one) > 0  # the same ids are hot (rows may differ by order)


def test_deterministic_given_seed():
    ids = torch.from_numpy(zipf_ids(np.random.default_rng(5), 20_000, 3000, 1.1))
    a, b, c = (HotSketch(32, 4, hot_rows=8, threshold=30.0, seed=s) for s in (7, 7, 8))
    for sk in (a, b, c):
        sk.insert(ids, torch.ones(ids.numel()))
    assert torch.equal(a.ids, b.ids) and torch.equal(a.scores, b.scores) and torch.equal(a.hot, b.hot)
    assert not torch.equal(a.bucket_of(ids), c.bucket_of(ids))


@pytest.mark.parametrize("ids, scores, match", [
    ([1, 2, 3], [1.0, 1.0], "one per id"),
    ([1, 2], [1.0, -1.0], "finite and >= 0"),
    ([1, 2], [1.0, float("nan")], "finite and >= 0"),
    ([1.0, 2.0], [1.0, 1.0], "integer"),
    ([[1, 2]], [1.0, 1.0], "1-D"),
    ([1, -2], [1.0, 1.0], ">= 0"),
    ([1, 2], [True, False], "real numbers"),
])
def test_bad_batches_raise(ids, scores, match):
    with pytest.raises(ValueError, match=match):
        HotSketch(4).insert(torch.tensor(ids), torch.tensor(scores))


@pytest.mark.parametrize("kwargs, match", [
    ({"buckets": 0}, "buckets"), ({"buckets": 4, "slots": 0}, "slots"), ({"buckets": 2.5}, "buckets"),
    ({"buckets": True}, "buckets"), ({"buckets": 4, "hot_rows": -1}, "hot_rows"),
    ({"buckets": 4, "threshold": 0.0}, "threshold"), ({"buckets": 4, "decay": 1.5}, "decay"),
    ({"buckets": 4, "rounds": 0}, "rounds"),
])
def test_bad_sizes_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HotSketch(**kwargs)
    with pytest.raises(ValueError, match="integer"):
        HotSketch(4).query(torch.tensor([0.5]))


@pytest.mark.parametrize("b, s, h", [(1, 1, 0), (64, 4, 10), (1000, 3, 77)])
def test_memory_within_budget(b, s, h):
    sk = HotSketch(b, s, hot_rows=h, threshold=2.0)
    budget = b * s * (8 + 4 + 4) + h + 8  # slots, free-row mask, float64 score since the last decay
    assert sk.memory_bytes() <= budget
    ids = torch.from_numpy(zipf_ids(np.random.default_rng(6), 5000, 500, 1.1))
    sk.insert(ids, torch.ones(ids.numel()))
    sk.insert(torch.empty(0, dtype=torch.int64), torch.empty(0))  # an empty batch is a no-op
    assert sk.memory_bytes() <= budget
