"""Runs, lineage and run history."""
from __future__ import annotations

import pytest

from registry import NotFoundError

SETTINGS = {"task": "llm-prune", "model": "tiny", "sparsity": 0.5}


def test_run_lifecycle_and_resume(registry):
    run = registry.start_run("run-a", name="first", task="llm-prune", config={"pop": 8}, seed=1,
                             versions={"metricforge": "0.1"})
    assert (run.id, run.status, run.config, run.seed) == ("run-a", "running", {"pop": 8}, 1)
    assert run.host and run.finished_at is None
    done = registry.finish_run("run-a")
    assert done.status == "finished" and done.finished_at is not None
    resumed = registry.start_run("run-a", config={"ignored": True})
    assert resumed.status == "running" and resumed.finished_at is None
    assert resumed.config == {"pop": 8} and resumed.started_at == run.started_at
    assert registry.finish_run("run-a", status="failed").status == "failed"
    with pytest.raises(ValueError):
        registry.finish_run("run-a", status="paused")
    with pytest.raises(NotFoundError):
        registry.finish_run("nope")
    assert len(registry.start_run().id) == 32  # a uuid


def test_lineage_and_history(registry, parse):
    run = registry.start_run(task="llm-prune").id
    w, x = parse("W"), parse("X")
    child = parse("mul(abs(W), X)")
    seeds = [registry.add_lineage(m, [], "seed", run_id=run, generation=0) for m in (w, x)]
    assert seeds[0][0].parent_hash is None and seeds[0][0].child_hash == w.hash
    edges = registry.add_lineage(child, [w, x], "crossover", run_id=run, generation=1)
    assert [(e.parent_hash, e.operator) for e in edges] == [(w.hash, "crossover"), (x.hash, "crossover")]
    again = registry.add_lineage(child, [w, x], "crossover", run_id=run, generation=1)
    assert [e.id for e in again] == [e.id for e in edges]  # not doubled on resume
    for m, score in ((w, 30.0), (x, 40.0), (child, 12.0)):
        registry.record_evaluation(m, SETTINGS, score, True, run_id=run)
    registry.record_evaluation(parse("add(W, X)"), SETTINGS, 1.0, True)  # another run's
    hist = registry.history(run)
    assert hist.run.id == run
    assert [e.metric_hash for e in hist.evaluations] == [w.hash, x.hash, child.hash]
    assert len(hist.lineage) == 4 and hist.lineage[-1].generation == 1
    with pytest.raises(NotFoundError):
        registry.history("nope")
