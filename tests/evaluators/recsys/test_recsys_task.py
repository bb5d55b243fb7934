"""recsys-prune: pruning lowers AUC, failures are reported with a reason, weights always come back exactly."""
import math

import pytest
import torch

from evaluators.base import Fitness
from evaluators.recsys.config import RecsysTaskConfig
from evaluators.recsys.task import RecsysPruneTask
from primitives.metric import Metric

SMALL = dict(epochs=1, hidden=(64, 32), emb_dim=8, calib_rows=1024)


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    t = RecsysPruneTask(sparsity=0.9, cache_dir=str(tmp_path_factory.mktemp("recsys-cache")), **SMALL)
    t.prepare()
    return t


def weights(task):
    return {k: v.clone() for k, v in task.state.model.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_settings_and_operands(task):
    s = task.settings()
    assert s["task"] == "recsys-prune" and s["sparsity"] == 0.9 and "cache_dir" not in s
    assert task.direction == "max" and set(task.operands) >= {"W", "G", "X"}
    assert set(task.state.all_operands["mlp.0"]) == {"W", "G", "X", "Xs", "Y", "Hd"}
    assert task.state.all_operands["mlp.0"]["X"].shape == (1, task.state.model.mlp[0].in_features)
    assert set(task.state.all_operands["embeddings.tables.user_id"]) == {"W", "G"}
    assert RecsysPruneTask(prune_embeddings=True).operands == ("W", "G")


def test_magnitude_at_90_lowers_auc_and_restores(task):
    before = weights(task)
    dense = task.dense_metrics()["auc"]
    fit = task.score(Metric.parse("abs(W)"))
    assert fit.ok and fit.reason is None and fit.value < dense - 0.005
    assert fit.details["sparsity"] == pytest.approx(0.9, abs=1e-3)
    assert same(before, weights(task))


def test_finetune_and_variants_restore_exactly(task):
    before = weights(task)
    fit = task.variant(finetune_steps=20, group="row").score("wanda")
    assert fit.ok and "before_finetune" in fit.details
    assert same(before, weights(task))
    assert task.variant(group="global").score("magnitude").ok


@pytest.mark.parametrize("formula, reason", [
    ("log(sub(W, W))", "constant scores"),
    ("mul(abs(W), gnorm)", "not provided"),
])
def test_failed_metrics_have_reasons(task, formula, reason):
    before = weights(task)
    fit = task.score(Metric.parse(formula))
    assert not fit.ok and reason in fit.reason and fit.value == 0.0
    assert same(before, weights(task))


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_scores_fail(task, monkeypatch, bad):
    monkeypatch.setattr("primitives.compile.compile_metric",
                        lambda m: (lambda ops: torch.full_like(ops["W"], bad)))
    fit = task.score(Metric.parse("abs(W)"))
    assert not fit.ok and ("NaN" in fit.reason or "inf" in fit.reason)


def test_exception_after_pruning_restores_weights(task, monkeypatch):
    before = weights(task)

    def boom(*args, **kwargs):
        assert float((task.state.model.mlp[0].weight == 0).float().mean()) > 0.8  # pruned when it broke
        raise RuntimeError("evaluation exploded")

    monkeypatch.setattr("evaluators.recsys.train.evaluate", boom)
    fit = task.score(Metric.parse("abs(W)"))
    assert isinstance(fit, Fitness) and not fit.ok and "evaluation exploded" in fit.reason
    assert same(before, weights(task))


def test_dense_model_comes_from_cache(task):
    again = RecsysPruneTask(sparsity=0.5, cache_dir=task.config.cache_dir, **SMALL)
    again.prepare()
    assert same(weights(task), weights(again)) and again.dense_metrics() == task.dense_metrics()


def test_bad_settings_fail_early():
    with pytest.raises(ValueError, match="model"):
        RecsysTaskConfig(model="fm")
    with pytest.raises(ValueError):
        RecsysTaskConfig(group="2:4", sparsity=0.9)
    with pytest.raises(ValueError, match="unknown recsys-prune option"):
        RecsysPruneTask.from_options({"sparsity": 0.5, "colour": "red"})


def test_guarded_turns_an_exception_into_a_failed_fitness():
    def boom(start: float) -> Fitness:
        raise KeyError("missing operand")

    failed = Fitness.guarded("max", boom, "mul(W, G)")
    assert not failed.ok and failed.value == 0.0 and failed.reason == "KeyError: 'missing operand'"
    assert Fitness.guarded("min", lambda start: Fitness(1.5)).value == 1.5


@pytest.mark.parametrize("group", ["filter", "neuron@global", "head:8", "layer"])
def test_every_granularity_of_the_group_grammar_prunes(task, group):
    pruned = task.variant(group=group, sparsity=0.5)
    fit = pruned.score(Metric.parse("mul(abs(W), X)"))
    assert fit.ok and abs(fit.details["sparsity"] - 0.5) < 0.05, (group, fit)


def test_a_group_that_does_not_tile_a_layer_fails_with_the_reason(task):
    fit = task.variant(group="vector:4", sparsity=0.5).score(Metric.parse("abs(W)"))  # 67 inputs
    assert not fit.ok and "to split into 1 x 4 groups" in fit.reason
