"""Recording evaluations, the search's dedup queries and leaderboards."""
from __future__ import annotations

import math

import pytest

from registry import AmbiguousError, NotFoundError, RegistryError, settings_key

SHORT = {"task": "llm-prune", "model": "tiny", "dataset": "wiki", "sparsity": 0.5,
         "granularity": "row", "budget": "eval=8192tok,calib=16x512"}
LONG = {**SHORT, "budget": "eval=65536tok,calib=128x2048"}


def test_settings_key_is_stable_and_order_free():
    key = settings_key(SHORT)
    assert len(key) == 16 and int(key, 16) >= 0
    assert settings_key(dict(reversed(list(SHORT.items())))) == key
    assert settings_key(LONG) != key


def test_record_fills_columns_and_adds_the_metric(registry, parse):
    m = parse("mul(abs(W), X)")
    row = registry.record_evaluation(m, SHORT, 12.5, True, wall_s=3.0, device="cpu",
                                     versions={"torch": "2.5"})
    assert (row.metric_hash, row.task, row.model, row.dataset) == (m.hash, "llm-prune", "tiny", "wiki")
    assert (row.sparsity, row.granularity, row.budget) == (0.5, "row", SHORT["budget"])
    assert row.settings_key == settings_key(SHORT) and row.settings == SHORT
    assert (row.score, row.ok, row.wall_s, row.device) == (12.5, True, 3.0, "cpu")
    assert row.versions == {"torch": "2.5"}
    assert registry.get_metric(m.hash).id == row.metric_id


def test_granularity_column_falls_back_to_the_group(registry, parse):
    settings = {k: v for k, v in SHORT.items() if k != "granularity"}
    row = registry.record_evaluation(parse("W"), {**settings, "group": "vector:4@row"}, 1.0, True)
    assert row.granularity == "vector:4@row"
    assert registry.record_evaluation(parse("W"), settings, 1.0, True).granularity is None


def test_failures_and_nan(registry, parse):
    bad = registry.record_evaluation(parse("log(W)"), SHORT, math.inf, False, reason="nan scores")
    assert not bad.ok and bad.reason == "nan scores" and bad.score == math.inf
    assert registry.record_evaluation(parse("W"), SHORT, math.nan, True).score is None
    assert registry.best("llm-prune", direction="min") == []  # neither counts on the leaderboard


def test_record_by_reference_and_unknown_run(registry, parse):
    registry.add_metric(parse("W"), name="magnitude")
    assert registry.record_evaluation("magnitude", SHORT, 1.0, True).metric_hash == parse("W").hash
    with pytest.raises(NotFoundError):
        registry.record_evaluation("sqr(W)", SHORT, 1.0, True)
    with pytest.raises(RegistryError):
        registry.record_evaluation(parse("W"), SHORT, 1.0, True, run_id="no-such-run")
    assert len(registry.scored_hashes(settings_key(SHORT))) == 1  # the failed write left nothing


def test_scored_sets_and_find(registry, parse):
    key = settings_key(SHORT)
    wanda, scaled = parse("mul(abs(W), X)"), parse("mul(2, mul(abs(W), X))")
    registry.record_evaluation(wanda, SHORT, 10.0, True)
    registry.record_evaluation(wanda, SHORT, 9.0, True)
    registry.record_evaluation(parse("W"), LONG, 20.0, True)
    assert registry.scored_hashes(key) == {wanda.hash}
    assert registry.scored_rank_hashes(key) == {wanda.rank_hash}
    assert scaled.rank_hash == wanda.rank_hash and scaled.hash != wanda.hash
    assert registry.find_evaluation(wanda.hash, key).score == 9.0  # the latest
    assert registry.find_evaluation(scaled.hash, key) is None
    assert registry.find_evaluation(scaled.rank_hash, key, by_rank_hash=True).score == 9.0
    assert registry.find_evaluation(parse("W").hash, key) is None
    assert [e.score for e in registry.evaluations("mul(abs(W), X)")] == [10.0, 9.0]
    assert [e.metric_hash for e in registry.evaluations(key=settings_key(LONG))] == [parse("W").hash]
    assert len(registry.evaluations()) == 3 and registry.evaluations(run_id="none") == []


def _fill(registry, parse, settings, scores):
    for text, score in scores.items():
        registry.record_evaluation(parse(text), settings, score, True)


def test_leaderboard_min_and_max(registry, parse):
    _fill(registry, parse, SHORT, {"W": 30.0, "mul(abs(W), X)": 12.0, "add(W, X)": 20.0})
    registry.record_evaluation(parse("W"), SHORT, 25.0, True)  # best of two counts
    low = registry.best("llm-prune", direction="min")
    assert [(e.rank, e.metric.text, e.score) for e in low] == [
        (1, "mul(abs(W), X)", 12.0), (2, "add(W, X)", 20.0), (3, "W", 25.0)]
    assert low[2].evaluations == 2
    assert (low[0].hash, low[0].canonical, low[0].name) == (low[0].metric.hash, "mul(X, abs(W))", None)
    high = registry.best("llm-prune", direction="max", limit=2)
    assert [(e.metric.text, e.score) for e in high] == [("W", 30.0), ("add(W, X)", 20.0)]
    with pytest.raises(ValueError):
        registry.best("llm-prune", direction="up")


def test_budgets_are_never_mixed(registry, parse):
    _fill(registry, parse, SHORT, {"W": 30.0, "mul(abs(W), X)": 12.0})
    _fill(registry, parse, LONG, {"W": 5.0, "add(W, X)": 8.0})
    with pytest.raises(AmbiguousError, match="budgets are never mixed"):
        registry.best("llm-prune")
    short = registry.best("llm-prune", direction="min", budget=SHORT["budget"])
    assert [(e.metric.text, e.score) for e in short] == [("mul(abs(W), X)", 12.0), ("W", 30.0)]
    long_ = registry.best(settings=LONG, direction="min")
    assert [(e.metric.text, e.score) for e in long_] == [("W", 5.0), ("add(W, X)", 8.0)]
    assert registry.best(key=settings_key(LONG), direction="min") == long_
    groups = registry.settings_groups("llm-prune")
    assert {g.settings_key for g in groups} == {settings_key(SHORT), settings_key(LONG)}
    assert all(g.evaluations == 2 for g in groups)
    assert registry.best("cnn-prune") == []
    with pytest.raises(ValueError):
        registry.settings_groups(colour="red")
