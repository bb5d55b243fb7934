"""Deduplication never gives one metric another's score, even inside a ranking class."""
from __future__ import annotations

import pytest

from evaluators.digits.task import MLPPruneTask
from gp_engine.cache import CacheEntry, FitnessCache
from gp_engine.candidates import candidate
from gp_engine.config import SearchConfig
from gp_engine.loop import Search
from primitives.metric import Metric
from registry.store import Registry

SEVEN_SQUARES = "sqr(sqr(sqr(sqr(sqr(sqr(sqr(W)))))))"  # pow(W, 128): underflows to 0 in float32


def _scores(url: str, task: MLPPruneTask) -> dict[str, list]:
    with Registry.open(url) as reg:
        rows = reg.evaluations(key=None)
    return {canonical: [(e.score, e.ok, e.reason) for e in rows if e.metric_hash == Metric.parse(canonical).hash]
            for canonical in ("abs(W)", "pow(W, 128)")}


def test_seven_squares_never_poison_magnitude(tmp_path, registry_url):
    """The reproduction: magnitude and W^128 share a ranking class, but W^128 prunes differently."""
    magnitude, squares = Metric.parse("abs(W)"), Metric.parse(SEVEN_SQUARES)
    assert magnitude.rank_hash == squares.rank_hash and magnitude.hash != squares.hash
    truth = MLPPruneTask().score(magnitude)
    assert truth.ok and truth.value == pytest.approx(0.5110, abs=0.002)
    cfg = SearchConfig(population=12, generations=5, seed=5, seed_builtins=False,
                       seed_metrics=(SEVEN_SQUARES, "abs(W)"))
    with Search(cfg, tmp_path / "a", registry=registry_url) as s:
        s.run()
        assert s.dedup == "rank"
        entries = {e.hash: e for e in s.cache}
    assert entries[magnitude.hash].value == truth.value and entries[magnitude.hash].ok
    assert entries[squares.hash].value != truth.value
    recorded = _scores(registry_url, MLPPruneTask())
    assert [score for score, ok, _ in recorded["abs(W)"]] == [truth.value]
    assert all(score != truth.value for score, _, _ in recorded["pow(W, 128)"])
    # a later run on the same registry reads magnitude's own score
    later = SearchConfig(population=4, generations=0, seed=9, seed_builtins=False, seed_metrics=("abs(W)",))
    with Search(later, tmp_path / "b", registry=registry_url) as s2:
        result = s2.run()
        entry = next(e for e in s2.cache if e.hash == magnitude.hash)
    assert entry.source == "registry" and entry.value == truth.value
    assert result.counters["skipped_registry"] >= 1


def test_registry_reuses_a_class_score_only_from_its_representative(tmp_path):
    settings = {"task": "t", "sparsity": 0.5}
    with Registry.open(tmp_path / "r.db") as reg:
        reg.record_evaluation(Metric.parse(SEVEN_SQUARES), settings, 0.2226, True)
        key = reg.evaluations()[0].settings_key
        rank = Metric.parse("abs(W)").rank_hash
        assert reg.find_evaluation(rank, key, by_rank_hash=True) is None, "W^128 must not stand for magnitude"
        reg.record_evaluation(Metric.parse("abs(W)"), settings, 0.5110, True)
        assert reg.find_evaluation(rank, key, by_rank_hash=True).score == 0.5110


def test_candidates_are_keyed_by_their_own_hash():
    member = candidate(SEVEN_SQUARES, Metric.parse(SEVEN_SQUARES).tree, "rank")
    rep = candidate("abs(W)", Metric.parse("abs(W)").tree, "rank")
    assert member.key == member.metric.hash and member.class_key == rep.key == rep.class_key
    assert rep.representative and not member.representative


def test_an_older_checkpoint_entry_of_another_member_is_not_reused():
    """Checkpoints from before keyed a class by rank_hash, holding whichever member came first."""
    magnitude, squares = Metric.parse("abs(W)"), Metric.parse(SEVEN_SQUARES)
    old = CacheEntry(magnitude.rank_hash, squares.hash, squares.canonical, 3, 0.2226, True, None, 0.1,
                     "evaluated", 0)
    cache = FitnessCache.from_json([old.to_json()])
    assert cache.get_for(magnitude.hash, magnitude.hash) is None  # same key, another metric's score
    mine = CacheEntry(magnitude.hash, magnitude.hash, "abs(W)", 2, 0.5110, True, None, 0.1, "evaluated", 1,
                      rank_hash=magnitude.rank_hash)
    cache.add(mine)
    assert cache.get_for(magnitude.hash, magnitude.hash) == mine
    assert cache.has_class(magnitude.rank_hash)


@pytest.mark.parametrize("formula,group", [("rowsum(abs(W))", "row"), ("abs(W)", "2:4")])
def test_tied_scores_fail_the_candidate_with_the_share_ties_decide(formula, group):
    fit = MLPPruneTask(group=group, sparsity=0.5).score(Metric.parse(formula))
    if formula == "abs(W)":
        assert fit.ok  # a real ranking: few ties
        return
    assert not fit.ok and "ties decide 100% of the mask (limit 50%)" in fit.reason
