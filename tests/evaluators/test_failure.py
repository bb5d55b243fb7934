"""The one failure rule: Fitness.guarded with ScoreError, the operand and score checks, weight restore."""
from __future__ import annotations

import math

import pytest
import torch

from evaluators.base import Fitness, ScoreError
from evaluators.failure import check_operands, check_scores, restore, snapshot


def test_guarded_turns_every_failure_into_a_worst_fitness_with_one_reason() -> None:
    def score_error(start: float) -> Fitness:
        raise ScoreError("layer fc1: constant scores within every row group")

    def crash(start: float) -> Fitness:
        raise KeyError("missing operand")

    fit = Fitness.guarded("min", score_error, metric="abs(W)")
    assert (fit.ok, fit.value, fit.reason) == (False, math.inf, "layer fc1: constant scores within every row group")
    assert fit.details == {"metric": "abs(W)"}
    fit = Fitness.guarded("max", crash)
    assert (fit.ok, fit.value, fit.reason) == (False, 0.0, "KeyError: 'missing operand'")
    fit = Fitness.guarded("min", lambda start: Fitness(math.nan, True, None, 1.5, {"sparsity": 0.5}))
    assert not fit.ok and fit.reason == "non-finite fitness nan" and fit.details == {"sparsity": 0.5}
    assert Fitness.guarded("max", lambda start: Fitness(0.9)).value == 0.9


def test_operand_check_names_what_is_missing() -> None:
    check_operands(("W", "X"), ("W", "X", "G"), "llm-prune")
    with pytest.raises(ScoreError, match=r"operand\(s\) gnorm not provided by recsys-prune \(available: W, G\)"):
        check_operands(("W", "gnorm"), ("W", "G"), "recsys-prune")
    with pytest.raises(ScoreError, match=r"operand\(s\) none"):
        check_operands((), ("gnorm",), "embedding-importance", need_one=True)


def test_score_check_finite_then_constant_per_group() -> None:
    check_scores("fc", torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(ScoreError, match=r"fc: non-finite scores \(1 NaN, 1 inf of 4\)"):
        check_scores("fc", torch.tensor([[math.nan, 2.0], [math.inf, 4.0]]))
    rows = torch.tensor([[1.0, 1.0], [3.0, 3.0]])
    check_scores("fc", rows)  # the layer ranks its rows
    low, high = torch.aminmax(rows, dim=1)
    with pytest.raises(ScoreError, match="fc: constant scores within every row group"):
        check_scores("fc", rows, low, high, "row")
    check_scores("fc", torch.ones(2, 2), group=None)  # global groups: constancy is judged over all layers


def test_snapshot_restores_bit_for_bit() -> None:
    layer = torch.nn.Linear(4, 3)
    saved = snapshot(layer.state_dict())
    before = {k: v.clone() for k, v in layer.state_dict().items()}
    with torch.no_grad():
        layer.weight.mul_(0)
        layer.bias.add_(1)
    restore(layer.state_dict(), saved)
    assert all(torch.equal(layer.state_dict()[k], before[k]) for k in before)
