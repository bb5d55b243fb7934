"""Downsampling strategies: exact keep rates and weights, the calibration correction, time-decay's recency,
and train()'s per-row sample weights."""
import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from data_efficiency.downsample import (STRATEGIES, corrected_logits, decay_probabilities, downsample, negatives,
                                        time_decay, uniform)
from evaluators.recsys.data import make_splits
from evaluators.recsys.models import ModelConfig, build_model
from evaluators.recsys.synthetic import synthetic_table
from evaluators.recsys.train import TrainConfig, WeightedSplit, bce_loss, predict, seed_everything, train


@pytest.mark.parametrize("rows, rate", [(1000, 0.1), (1001, 0.37), (70000, 0.05), (10, 1.0)])
def test_uniform_keeps_exactly_round_rate_n_distinct_rows(rows, rate):
    s = uniform(rows, rate, seed=3)
    assert len(s.index) == round(rate * rows) and len(np.unique(s.index)) == len(s.index)
    assert np.all(np.diff(s.index) > 0) and s.weight is None and s.rate == len(s.index) / rows
    assert np.array_equal(s.index, uniform(rows, rate, seed=3).index)
    assert rate == 1.0 or not np.array_equal(s.index, uniform(rows, rate, seed=4).index)


def test_negatives_keeps_every_positive_and_weights_negatives_by_inverse_rate():
    y = (np.random.default_rng(0).random(5000) < 0.3).astype(np.float32)
    n_neg = int((y == 0).sum())
    s = negatives(y, 0.25, seed=1)
    kept = y[s.index]
    assert (kept == 1).sum() == (y == 1).sum() and (kept == 0).sum() == round(0.25 * n_neg)
    assert s.rate == round(0.25 * n_neg) / n_neg
    assert np.all(s.weight[kept == 1] == 1.0) and np.allclose(s.weight[kept == 0], n_neg / round(0.25 * n_neg))
    assert s.weight[kept == 0].sum() == pytest.approx(n_neg)  # weighted negatives stand for all of them


def test_correction_recovers_the_base_rate_exactly_for_an_intercept_only_model():
    positives, negs, rate = 300.0, 700.0, 0.2
    p_kept = positives / (positives + rate * negs)  # the unweighted MLE on the downsampled rows
    fixed = corrected_logits(np.array([math.log(p_kept / (1 - p_kept))]), rate)
    assert 1 / (1 + math.exp(-fixed[0])) == pytest.approx(positives / (positives + negs), abs=1e-12)


def test_correction_recalibrates_a_logistic_model_trained_on_downsampled_negatives():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40000, 2))
    y = (rng.random(40000) < 1 / (1 + np.exp(-(-1.0 + x @ np.array([1.5, -1.0]))))).astype(float)
    s = negatives(y, 0.1, seed=0)
    plain = LogisticRegression(C=1e6).fit(x[s.index], y[s.index])
    weighted = LogisticRegression(C=1e6).fit(x[s.index], y[s.index], sample_weight=s.weight)
    raw = plain.decision_function(x)
    mean_p = {name: float(np.mean(1 / (1 + np.exp(-z)))) for name, z in
              [("raw", raw), ("fixed", corrected_logits(raw, s.rate)), ("weighted", weighted.decision_function(x))]}
    assert mean_p["raw"] > y.mean() + 0.2  # uncorrected: badly over-predicts clicks
    assert mean_p["fixed"] == pytest.approx(y.mean(), abs=0.01)
    assert mean_p["weighted"] == pytest.approx(y.mean(), abs=0.01)


def test_time_decay_probabilities_hit_the_target_and_favour_recent_rows():
    timestamp = np.sort(np.random.default_rng(0).uniform(0, 100 * 86400, 20000))
    age = (timestamp.max() - timestamp) / 86400
    p = decay_probabilities(age, 0.3, tau=10.0)
    assert p.mean() == pytest.approx(0.3, abs=1e-9) and p.max() == 1.0 and np.all(np.diff(p) >= 0)
    s = time_decay(timestamp, 0.3, seed=0, tau_days=10.0)
    assert abs(len(s.index) - 6000) < 3 * math.sqrt((p * (1 - p)).sum())
    assert np.median(timestamp[s.index]) > np.quantile(timestamp, 0.75)
    assert len(time_decay(timestamp, 1.0, seed=0).index) == len(timestamp)


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.01, float("nan")])
def test_a_keep_rate_outside_zero_one_is_refused(rate):
    with pytest.raises(ValueError, match="keep fraction must be in"):
        downsample("uniform", np.zeros(10), np.zeros(10), rate, 0)


def test_an_unknown_strategy_is_refused():
    assert STRATEGIES == ("uniform", "negatives", "time-decay")
    with pytest.raises(ValueError, match="unknown strategy 'random'"):
        downsample("random", np.zeros(10), np.zeros(10), 0.5, 0)


@pytest.fixture(scope="module")
def data():
    return make_splits(synthetic_table(rows=1500, seed=0), "random", "multi", seed=0, calib_rows=256)


def test_weighted_bce_is_the_mean_of_weight_times_loss(data):
    batch = data.train.take(slice(0, 64))
    w = torch.linspace(0, 2, 64)
    logits = torch.randn(64)
    each = torch.nn.functional.binary_cross_entropy_with_logits(logits, batch.y, reduction="none")
    weighted = WeightedSplit(batch.x, batch.bag, batch.dense, batch.y, w)
    assert bce_loss(logits, weighted).item() == pytest.approx((w * each).mean().item(), rel=1e-6)
    assert isinstance(weighted.take(slice(0, 5)), WeightedSplit)
    assert torch.equal(weighted.take([1, 3]).weight, w[[1, 3]])


def _trained(data, weight=None):
    seed_everything(0)
    model = build_model(ModelConfig("deepfm", emb_dim=4, hidden=(16, 8)), data)
    train(model, data.train, TrainConfig(epochs=2, batch_size=128, lr=1e-2), sample_weight=weight)
    return model


def test_unit_weights_train_identically_and_zero_weights_remove_rows(data):
    plain = _trained(data)
    ones = _trained(data, torch.ones(len(data.train)))
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), ones.state_dict().values()))
    positives_only = _trained(data, data.train.y.clone())  # negatives weigh 0: only clicks are ever seen
    p_plain = torch.sigmoid(predict(plain, data.valid)).mean().item()
    assert torch.sigmoid(predict(positives_only, data.valid)).mean().item() > max(0.8, p_plain + 0.3)
    with pytest.raises(ValueError, match="sample_weight has shape"):
        train(plain, data.train, TrainConfig(epochs=1), sample_weight=torch.ones(3))
