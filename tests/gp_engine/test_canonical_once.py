"""The search canonicalises each candidate once: the key, the map and the worker reuse that form."""
from __future__ import annotations

from typing import Any

import pytest
import torch

import primitives.metric as metric_module
from evaluators.base import Fitness, Task
from gp_engine.candidates import candidate
from gp_engine.maps.base import score_text
from gp_engine.maps.inprocess import InProcessMap
from primitives.compile import compile_metric
from primitives.grammar import parse
from primitives.metric import Metric


class MeanScoreTask(Task):
    """Scores a metric by the mean of its scores on fixed operands (uses operands and the compiled tree)."""

    name, direction, operands = "mean-score", "max", ("W", "X")

    def settings(self) -> dict[str, Any]:
        return {"task": self.name}

    def prepare(self) -> None:
        gen = torch.Generator().manual_seed(0)
        self.values = {"W": torch.randn(4, 6, generator=gen), "X": torch.rand(1, 6, generator=gen)}

    def score(self, metric: Metric) -> Fitness:
        assert set(metric.operands) <= set(self.operands)
        return Fitness(float(compile_metric(metric)(self.values).mean()), details={"operands": list(metric.operands)})


@pytest.fixture
def canonical_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = metric_module.canonical

    def counted(node: Any) -> Any:
        calls.append(str(node))
        return real(node)

    monkeypatch.setattr(metric_module, "canonical", counted)
    return calls


@pytest.mark.parametrize("dedup", ["hash", "rank"])
def test_candidate_key_and_in_process_score_run_sympy_once(canonical_calls: list[str], dedup: str) -> None:
    c = candidate("mul(X, neg(neg(abs(W))))", parse("mul(X, neg(neg(abs(W))))"), dedup)
    assert c.metric is not None and c.key in (c.metric.hash, c.metric.rank_hash)
    (fit,) = InProcessMap(MeanScoreTask()).evaluate([c.metric])
    assert fit.ok and fit.details == {"operands": ["W", "X"]}  # the task's details reach the search
    assert len(canonical_calls) == 1


def test_a_worker_takes_the_canonical_text_as_it_is(canonical_calls: list[str]) -> None:
    task = MeanScoreTask()
    task.prepare()
    text = Metric.parse("mul(abs(W), X)").canonical
    canonical_calls.clear()
    fit = score_text(task, text)
    assert fit.ok and canonical_calls == []
    assert Metric.from_canonical(text).hash == Metric.parse(text).hash
