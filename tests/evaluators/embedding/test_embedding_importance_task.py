"""The embedding-importance task on real MovieLens-100k (a few training steps): scores, clean failures,
settings, registration, and a tiny search that records in a temporary registry."""
from __future__ import annotations

import math

import pytest

from evaluators.embedding.task import EmbeddingImportanceTask
from gp_engine.config import SearchConfig
from gp_engine.loop import Search
from evaluators.tasks import TASKS, TaskSpec, build_task

FAST = {"max_steps": 12, "epochs": 1, "seeds": [3]}


@pytest.fixture(scope="module")
def task() -> EmbeddingImportanceTask:
    task = EmbeddingImportanceTask(**FAST)
    task.prepare()
    return task


def test_registered_and_built_from_options():
    assert "embedding-importance" in TASKS
    built = build_task(TaskSpec("embedding-importance", {"ratio": 0.02, **FAST}))
    assert isinstance(built, EmbeddingImportanceTask) and built.config.ratio == 0.02
    with pytest.raises(ValueError, match="unknown embedding-importance option"):
        build_task(TaskSpec("embedding-importance", {"sparsity": 0.5}))
    with pytest.raises(ValueError, match="ratio"):
        EmbeddingImportanceTask(ratio=0.0)


def test_settings_hold_everything_that_changes_the_score(task):
    settings = task.settings()
    for key in ("task", "model", "method", "ratio", "threshold", "hot_fraction", "decay_every", "seeds", "epochs",
                "max_steps", "eval_split", "batch_size", "lr", "emb_dim", "hidden", "recency_decay", "sketch"):
        assert key in settings, key
    assert settings["sketch"]["slots"] == 4 and settings["eval_split"] == "valid"
    assert EmbeddingImportanceTask(**{**FAST, "hot_fraction": 0.2}).settings() != settings


@pytest.mark.parametrize("formula", ["gnorm", "mul(gnorm, sqrt(enorm))", "add(perr, recency)", "freq"])
def test_scores_a_metric(task, formula):
    fit = task.score(formula)
    assert fit.ok and 0.5 < fit.value < 1 and fit.wall_s > 0, fit.reason
    (seed,) = fit.details.values()
    assert seed["steps"] == 12 and seed["hot_used"] > 0 and math.isclose(fit.value, seed["auc"])


@pytest.mark.parametrize("formula, reason", [("mul(W, gnorm)", "operand(s) W"), ("add(1, 2)", "uses no operand"),
                                             ("sqr(exp(mul(gnorm, 100)))", "non-finite"),
                                             ("tanh(mul(freq, 1000000000))", "constant scores"),
                                             ("mul(gnorm,", "MetricSyntaxError")])
def test_bad_metrics_fail_cleanly(task, formula, reason):
    fit = task.score(formula)
    assert not fit.ok and fit.value == 0.0 and reason in fit.reason


def test_tiny_search_records_in_a_registry(tmp_path):
    from registry import Registry

    cfg = SearchConfig(task="embedding-importance", task_options={**FAST, "max_steps": 4}, population=4,
                       generations=1, seed=0, seed_builtins=False, seed_metrics=("gnorm", "freq"), max_size=9)
    with Search(cfg, tmp_path / "run", registry=str(tmp_path / "r.db")) as search:
        result = search.run()
    assert result.generation == 1 and result.counters["evaluated"] >= 4
    with Registry.open(tmp_path / "r.db") as reg:
        board = reg.best("embedding-importance", key=result.settings_key, direction="max")
        assert board and 0.5 < board[0].score < 1
        assert {e.metric.canonical for e in board} >= {"gnorm", "freq"}


def test_operands_option_narrows_what_a_metric_may_use(task):
    local = EmbeddingImportanceTask(**FAST, operands=["gnorm", "enorm", "gdot", "perr"])
    local._state = task.state  # same data and seeds: share the prepared splits
    assert local.operands == ("gnorm", "enorm", "gdot", "perr") and local.settings()["operands"] == list(local.operands)
    assert "operands" not in task.settings()  # every operand: the key of searches made before the option
    fit = local.score("mul(freq, gnorm)")
    assert not fit.ok and "operand(s) freq" in fit.reason
    with pytest.raises(ValueError, match="operands must be among"):
        EmbeddingImportanceTask(operands=["W"])
