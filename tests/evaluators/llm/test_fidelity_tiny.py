"""Reduced evaluation budgets and per-window losses of the LLM task (tiny random Llama, real text)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from data_efficiency.units import output_matrix, units_of
from evaluators.llm.corpora import PYTHON_DOCS
from evaluators.llm.task import LLMPruneTask
from primitives.builtins import builtin

from .tiny import tiny_model_folder

pytestmark = pytest.mark.skipif(not PYTHON_DOCS.is_dir(), reason="python3.11-doc not installed")


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-fidelity")
    t = LLMPruneTask(model=tiny_model_folder(root / "model"), calib_source="fortunes:wisdom", calib_windows=3,
                     calib_length=32, eval_tokens=256, eval_length=32, dtype="float32", device="cpu",
                     cache_dir=str(root / "cache"))
    t.prepare()
    return t


def test_budget_options_round_to_whole_windows(task):
    assert task.budget_options(0.125) == {"eval_tokens": 32}
    assert task.budget_options(0.01) == {"eval_tokens": 32}  # at least one window
    assert task.budget_options(0.5) == {"eval_tokens": 128}


def test_reduced_variant_scores_like_a_fresh_task_on_the_leading_windows(task):
    wanda = builtin("wanda")
    small = task.variant(eval_tokens=64)
    assert small._state is task._state and small.evaluation_windows().shape == (2, 32)
    fresh = LLMPruneTask(task.config, eval_tokens=64)
    assert small.score(wanda).value == pytest.approx(fresh.score(wanda).value, rel=1e-6)
    assert small.settings()["eval_tokens"] == 64 and small.settings() != task.settings()
    with pytest.raises(ValueError, match="first windows"):
        task.variant(eval_tokens=512)  # more windows than the shared state holds


def test_window_losses_add_up_to_the_task_perplexity(task):
    units = units_of(task)
    assert units.count == 8 and units.tokens_per_unit == 32 and units.direction == "min"
    metrics = [builtin("magnitude"), builtin("wanda")]
    matrix = output_matrix(units, metrics)
    assert matrix.shape == (2, 8)
    for row, metric in zip(matrix, metrics):
        assert math.exp(row.mean()) == pytest.approx(task.score(metric).value, rel=1e-4)
    leading = units.aggregate(matrix, np.arange(2))
    assert leading[1] == pytest.approx(task.variant(eval_tokens=64).score(metrics[1]).value, rel=1e-4)
    assert all(np.array_equal(layer.module.weight, task.state.dense[layer.name]) for layer in task.state.layers)


def test_promoted_metric_reuses_masks_and_screened_windows_for_the_same_perplexity(task):
    ria = builtin("ria")
    fresh = LLMPruneTask(task.config).score(ria)  # a task of its own: nothing screened
    assert "reused_windows" not in fresh.details
    screened = task.variant(eval_tokens=96).score(ria)
    assert len(task.state.screened) >= 1 and "reused_windows" not in screened.details
    promoted = task.score(ria)
    assert promoted.details["reused_windows"] == 3
    assert promoted.value == fresh.value  # same masks, same per-window sums: bit for bit
    assert promoted.details["sparsity"] == fresh.details["sparsity"]
    assert all(np.array_equal(layer.module.weight, task.state.dense[layer.name]) for layer in task.state.layers)


def test_screening_memo_keeps_only_reduced_budgets_and_evicts_oldest(task):
    from evaluators.llm.screening import Screened, ScreeningMemo

    before = len(task.state.screened)
    task.score(builtin("magnitude"))  # the full budget leaves nothing behind
    assert len(task.state.screened) == before
    memo = ScreeningMemo(capacity=2)
    for i in range(3):
        memo.put((i,), Screened({}, ()))
    assert len(memo) == 2 and memo.get((0,)) is None and memo.get((2,)) is not None
