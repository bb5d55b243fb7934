"""The generation loop: dedup, reproducibility, bad candidates, resume after a crash."""
from __future__ import annotations

import pytest

from primitives.metric import Metric

from gp_engine.config import SearchConfig
from gp_engine.loop import Search
from gp_helpers import CountingTask, CrashAfter, RaisingTask
from gp_snapshot import assert_no_duplicates, registry_state, run_state

SMALL = dict(population=12, generations=3, seed=7)


def test_seed_reproducible(tmp_path):
    states = []
    for name in ("a", "b"):
        with Search(SearchConfig(**SMALL), tmp_path / name, registry=str(tmp_path / f"{name}.db")) as s:
            s.run()
        states.append((run_state(tmp_path / name), registry_state(str(tmp_path / f"{name}.db"), tmp_path / name)))
    assert states[0] == states[1]
    assert states[0][0]["counters"]["evaluated"] > SMALL["population"]


def test_scored_hash_costs_nothing(tmp_path, registry_url):
    task = CountingTask()
    with Search(SearchConfig(**SMALL, dedup="hash"), tmp_path / "r", registry=registry_url, task=task) as s:
        result = s.run()
    calls = task.calls
    assert len(calls) == len(set(calls)), "a canonical form was scored twice"
    assert result.counters["skipped_cache"] > 0
    assert len(calls) == result.counters["evaluated"] - sum(1 for e in s.cache if e.source == "constant")
    # A second run on the same registry and settings scores its seeds from the registry for free.
    task2 = CountingTask()
    with Search(SearchConfig(**SMALL, dedup="hash"), tmp_path / "r2", registry=registry_url, task=task2) as s2:
        result2 = s2.run()
    assert result2.counters["skipped_registry"] >= 5  # the built-in seeds at least
    assert not set(task2.calls) & set(calls)


def test_rank_dedup_scores_each_class_member_as_itself(tmp_path, registry_url):
    task = CountingTask()
    cfg = SearchConfig(population=6, generations=0, seed=1, seed_builtins=False,
                       seed_metrics=("mul(abs(W), X)", "sqr(mul(W, X))", "sqrt(mul(abs(W), X))", "abs(W)"))
    with Search(cfg, tmp_path / "r", registry=registry_url, task=task) as s:
        assert s.dedup == "rank"  # row groups lie inside one layer
        s.run()
    wanda = Metric.parse("mul(abs(W), X)")
    assert {Metric.parse(t).rank_hash for t in cfg.seed_metrics[:3]} == {wanda.rank_hash}
    assert len([c for c in task.calls if Metric.parse(c).rank_hash == wanda.rank_hash]) == 3, \
        "members of one ranking class can prune differently in float32: each is scored as itself"
    assert "abs(W)" in task.calls
    assert len(task.calls) == len(set(task.calls))
    entries = {e.canonical: e for e in s.cache}
    assert {e.key for e in entries.values()} == {e.hash for e in entries.values()}


def test_bad_candidates_never_stop_the_run(tmp_path, registry_url):
    cfg = SearchConfig(population=12, generations=3, seed=3,
                       seed_metrics=("tanh(mul(abs(W), X))", "mul(abs(W), G)", "sub(W, W)"))
    with Search(cfg, tmp_path / "r", registry=registry_url, task=RaisingTask()) as s:
        result = s.run()
    assert result.generation == 3
    failed = {e.canonical: e.reason for e in s.cache if not e.ok}
    assert any("boom" in r for r in failed.values())
    assert any("non-finite" in r for r in failed.values())
    assert any("constant" in r for r in failed.values())
    assert all(e.value == 0.0 for e in s.cache if not e.ok)  # worst("max") is recorded
    assert result.hall_of_fame and result.hall_of_fame[0].ok



@pytest.mark.parametrize("crash_after", [25, 31])
def test_resume_after_crash_mid_generation(tmp_path, crash_after):
    cfg = SearchConfig(population=16, generations=4, seed=11)
    whole = tmp_path / "whole"
    with Search(cfg, whole, registry=str(tmp_path / "whole.db")) as s:
        s.run()
    run, url = tmp_path / "crashed", str(tmp_path / "crashed.db")
    task = CountingTask()
    with Search(cfg, run, registry=url, task=task, eval_map=CrashAfter(task, crash_after)) as s:
        with pytest.raises(SystemExit):
            s.run()
        crashed_at = s.generation
    task2 = CountingTask()
    with Search.resume(run, task=task2) as s:
        s.run()
    assert 0 <= crashed_at < cfg.generations
    assert s.history[crashed_at + 1]["restored"] > 0, "the crash should land mid-generation"
    assert run_state(run) == run_state(whole)
    assert registry_state(url, run) == registry_state(str(tmp_path / "whole.db"), whole)
    assert_no_duplicates(url, run)
    assert not set(task2.calls) & set(task.calls), "a recorded evaluation was scored again"
    constants = sum(1 for e in s.cache if e.source == "constant")
    assert len(task.calls) + len(task2.calls) == s.counters["evaluated"] - constants


def test_rerun_with_other_settings_is_refused(tmp_path, registry_url):
    with Search(SearchConfig(**SMALL), tmp_path / "r", registry=registry_url) as s:
        s.run()
    with pytest.raises(ValueError, match="different search"):
        Search(SearchConfig(**{**SMALL, "seed": 8}), tmp_path / "r", registry=registry_url)
    with Search(SearchConfig(**{**SMALL, "generations": 4}), tmp_path / "r", registry=registry_url) as s:
        assert s.run().generation == 4  # more generations extend the run


def test_foreign_or_tampered_checkpoints_are_rejected(tmp_path, registry_url):
    import json

    from gp_engine.checkpoint import CheckpointError

    run = tmp_path / "r"
    with Search(SearchConfig(**SMALL), run, registry=registry_url) as s:
        s.run()
    ckpt = run / "checkpoint.json"
    good = json.loads(ckpt.read_text())
    for change in ({"population": [{"text": "__import__('os').system('true')", "key": "x"}]},
                   {"population": [{"text": "mul(W, G)", "key": good["population"][0]["key"]}]},
                   {"run_id": "someone-else"}):
        ckpt.write_text(json.dumps({**good, **change}))
        with pytest.raises(CheckpointError):
            Search.resume(run, registry=registry_url, generations=4).run()
    ckpt.write_text("{not json")
    with pytest.raises(CheckpointError):
        Search.resume(run, registry=registry_url).run()
