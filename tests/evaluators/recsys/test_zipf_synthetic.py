"""The scale generator ``zipf_ctr``: seeded, ids in range, Zipf-skewed, frequency unrelated to the id, labels
from the planted logit."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from evaluators.recsys.synthetic import ZipfCTRSpec, zipf_codes, zipf_ctr

SMALL = ZipfCTRSpec(rows=20_000, cardinalities=(2_001, 1_001, 501), seed=3)


def test_same_spec_same_table_other_seed_other_table():
    (a, la), (b, lb) = zipf_ctr(SMALL), zipf_ctr(SMALL)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and np.array_equal(la, lb)
    assert np.array_equal(a.dense, b.dense) and a.info == b.info and a.info["seed"] == 3
    c, _ = zipf_ctr(ZipfCTRSpec(rows=20_000, cardinalities=(2_001, 1_001, 501), seed=4))
    assert not np.array_equal(a.x, c.x)


def test_million_ids_in_range_and_skewed():
    """The study's layout (4 x 250,000 ids) at 200k rows: every code in 1..card-1, most of the range drawn,
    and the occurrences as skewed as the truncated Zipf law says."""
    spec = ZipfCTRSpec(rows=200_000, seed=0)
    table, logit = zipf_ctr(spec)
    assert table.x.shape == (200_000, 4) and table.bag.shape == (200_000, 0) and sum(table.cardinalities) == 1_000_004
    assert table.x.min() >= 1 and all(table.x[:, f].max() < c for f, c in enumerate(table.cardinalities))
    assert all(table.x[:, f].max() > 240_000 for f in range(4))  # the relabelling spreads codes over the range
    ranks = np.arange(1, 250_001, dtype=np.float64) ** -spec.exponent
    p = ranks / ranks.sum()
    for f in range(4):
        counts = np.sort(np.bincount(table.x[:, f]))[::-1]
        assert counts[0] / 200_000 == pytest.approx(p[0], rel=0.05)  # the top id: ~13% of the rows
        assert counts[:100].sum() / 200_000 == pytest.approx(p[:100].sum(), rel=0.03)
        assert 20_000 < (counts > 0).sum() < 60_000  # a long tail, mostly unseen at this many rows
    assert abs(table.y.mean() - spec.positive_rate) < 0.01 and np.isfinite(logit).all()


def test_codes_follow_the_law_and_frequency_is_not_the_id():
    rng = np.random.default_rng(0)
    codes, code_of_rank = zipf_codes(rng, 100_000, 51, 1.2)
    assert codes.min() >= 1 and codes.max() <= 50 and sorted(code_of_rank) == list(range(1, 51))
    p = np.arange(1, 51, dtype=np.float64) ** -1.2
    seen = np.bincount(codes, minlength=51)[code_of_rank] / 100_000  # frequency of each rank
    assert np.abs(seen - p / p.sum()).max() < 0.005
    assert not np.array_equal(code_of_rank, np.arange(1, 51))  # rank 1 is not code 1


def test_labels_come_from_the_planted_logit():
    table, logit = zipf_ctr(ZipfCTRSpec(rows=50_000, cardinalities=(1_001, 1_001), seed=1))
    assert roc_auc_score(table.y, logit) > 0.7
    p = 1 / (1 + np.exp(-logit))
    assert abs(table.y.mean() - p.mean()) < 0.01 and abs(p.mean() - 0.25) < 1e-3


@pytest.mark.parametrize("bad", [dict(rows=0), dict(cardinalities=(100,)), dict(cardinalities=(100, 1)),
                                 dict(exponent=0.0), dict(positive_rate=1.0), dict(interaction_rank=0)])
def test_bad_specs_are_refused(bad):
    with pytest.raises(ValueError):
        ZipfCTRSpec(**bad)
