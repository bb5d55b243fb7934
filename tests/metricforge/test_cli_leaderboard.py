"""Leaderboards rank in the task's own direction: accuracy (mlp-prune) highest first, perplexity
(llm-prune) lowest first; failed evaluations show their reason."""
from __future__ import annotations

import json

import pytest

from primitives.metric import Metric
from registry import Registry

ACCURACY = {"task": "mlp-prune", "model": "digits-mlp", "sparsity": 0.9, "group": "row"}
PERPLEXITY = {"task": "llm-prune", "model": "smollm2-135m", "sparsity": 0.5, "group": "row", "eval_tokens": 2048}
SCORES = {"abs(W)": 0.51, "mul(abs(W), X)": 0.73, "mul(abs(W), G)": 0.78}


@pytest.fixture
def filled(cli):
    with Registry.open(str(cli.db)) as reg:
        for text, accuracy in SCORES.items():
            reg.record_evaluation(Metric.parse(text), ACCURACY, accuracy, True)
            reg.record_evaluation(Metric.parse(text), PERPLEXITY, 100 * accuracy, True)
        reg.record_evaluation(Metric.parse("log(W)"), ACCURACY, 0.0, False, reason="scores not finite (3 NaN, 0 inf)")
    return cli


def ranked(result) -> list[str]:
    assert result.code == 0, result.err
    return [row["metric"]["text"] for row in json.loads(result.out)]


def test_accuracy_task_ranks_the_highest_first(filled):
    assert ranked(filled("registry", "best", "--task", "mlp-prune", "--json")) == [
        "mul(abs(W), G)", "mul(abs(W), X)", "abs(W)"]


def test_perplexity_task_ranks_the_lowest_first(filled):
    assert ranked(filled("registry", "best", "--task", "llm-prune", "--json")) == [
        "abs(W)", "mul(abs(W), X)", "mul(abs(W), G)"]


def test_direction_without_task_comes_from_the_one_task_matching(filled):
    assert ranked(filled("registry", "best", "--sparsity", "0.9", "--json"))[0] == "mul(abs(W), G)"
    both = filled("registry", "best")
    assert both.code == 2 and both.err.startswith("error: evaluations of 2 tasks match") and "--task" in both.err


def test_an_explicit_direction_is_checked(filled):
    assert ranked(filled("registry", "best", "--task", "mlp-prune", "--direction", "min", "--json"))[0] == "abs(W)"
    bad = filled("registry", "best", "--task", "mlp-prune", "--direction", "up")
    assert bad.code == 2 and "--direction 'up': use min or max" in bad.err


def test_registry_best_has_no_silent_default(tmp_path):
    with Registry.open(str(tmp_path / "r.db")) as reg:
        reg.record_evaluation(Metric.parse("W"), ACCURACY, 0.5, True)
        with pytest.raises(ValueError, match="needs the task's direction"):
            reg.best("mlp-prune")
        assert [e.score for e in reg.best("mlp-prune", direction="max")] == [0.5]


def test_failed_evaluations_show_their_reason(filled):
    shown = filled("registry", "show", "log(W)")
    assert shown.code == 0 and "scores not finite (3 NaN, 0 inf)" in shown.out


@pytest.mark.parametrize("option, value, problem", [("--sparsity", "2", "less than or equal to 1"),
                                                    ("--limit", "0", "greater than or equal to 1")])
def test_filters_out_of_range_are_refused_in_one_line(filled, option, value, problem):
    result = filled("registry", "best", "--task", "mlp-prune", option, value)
    assert result.code == 2 and f"Invalid value for '{option}'" in result.err and problem in result.err
    assert "Traceback" not in result.err
