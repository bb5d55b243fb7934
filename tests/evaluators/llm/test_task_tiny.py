"""LLMPruneTask end to end on a tiny random Llama with a character tokenizer and the real corpora (fast)."""
from __future__ import annotations

import math

import pytest
import torch

from evaluators.base import Fitness, worst
from evaluators.llm.config import LLMTaskConfig
from evaluators.llm.corpora import PYTHON_DOCS
from evaluators.llm.task import LLMPruneTask
from primitives.builtins import builtin
from primitives.metric import Metric

from .tiny import tiny_model_folder

pytestmark = pytest.mark.skipif(not PYTHON_DOCS.is_dir(), reason="python3.11-doc not installed")


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    model = tiny_model_folder(root / "model")
    t = LLMPruneTask(model=model, calib_source="fortunes:wisdom", calib_windows=3, calib_length=32,
                     eval_tokens=256, eval_length=32, dtype="float32", device="cpu", cache_dir=str(root / "cache"))
    t.prepare()
    return t


def intact(task) -> bool:
    return all(torch.equal(layer.module.weight, task.state.dense[layer.name]) for layer in task.state.layers)


def test_worst_and_fitness():
    assert worst("min") == math.inf and worst("max") == 0.0
    fit = Fitness.failed("min", "why", 1.0, metric="x")
    assert not fit.ok and fit.value == math.inf and fit.details == {"metric": "x"}
    with pytest.raises(ValueError):
        worst("sideways")


def test_config_validation():
    assert LLMTaskConfig(group="2:4", sparsity=0.7).sparsity == 0.5  # N:M fixes the sparsity
    assert LLMTaskConfig(group=" ROW ").group == "row"
    for bad in ({"group": "diagonal"}, {"sparsity": 1.0}, {"mode": "lazy"}, {"mode": "sequential", "group": "global"}):
        with pytest.raises(ValueError):
            LLMTaskConfig(**bad)
    for count in ("eval_tokens", "calib_windows", "eval_batch"):
        with pytest.raises(ValueError, match=f"{count} must be >= 1"):
            LLMTaskConfig(**{count: -3})
    assert LLMTaskConfig(eval_tokens=None).eval_windows is None  # every window of the text
    for field in ("calib_source", "eval_source"):  # refused from the name, before any text or model loads
        with pytest.raises(ValueError, match="unknown text source 'nope'"):
            LLMTaskConfig(**{field: "reviews,nope"})


def test_operands_are_computed_on_first_use_then_read_from_disk(task):
    fresh = LLMPruneTask(task.config, cache_dir=str(task.state.root / "lazy"))
    fresh.prepare()
    store = fresh.state.store
    assert store.computed == [] and store.loaded == []  # prepare computes no operand
    fresh.score(builtin("wanda"))  # reads W and X: one forward pass (its input moments kept), no gradient, no X^T X
    assert store.computed == ["X", "Xs", "Y", "moments"]
    assert not any(store.path(kind).exists() for kind in ("G", "Hd", "XtX"))
    fresh.score(builtin("gblm"))
    assert store.computed == ["X", "Xs", "Y", "moments", "G"]
    again = LLMPruneTask(fresh.config)
    again.prepare()
    ops = again.state.operands_for(("X", "G"))
    assert again.state.store.loaded == ["X", "G"] and again.state.store.computed == []
    name = task.state.layers[0].name
    assert torch.equal(ops[name]["G"], store.values[name]["G"])
    assert task.state.calib.shape == (3, 32) and task.state.eval.shape == (8, 32)


@pytest.mark.parametrize("group", ["row", "layer", "global", "2:4"])
@pytest.mark.parametrize("mode", ["oneshot", "sequential"])
def test_builtins_score_and_restore(task, group, mode):
    if mode == "sequential" and group == "global":
        pytest.skip("global needs oneshot")
    variant = task.variant(group=group, mode=mode)
    for name in ("magnitude", "wanda", "gblm", "sparsegpt", "pruner_zero", "ria"):
        fit = variant.score(builtin(name))
        assert fit.ok, (name, fit.reason)
        assert fit.details["sparsity"] == pytest.approx(0.5, abs=1e-3) and fit.value > 0
        assert intact(task)


def test_failures_keep_weights(task, monkeypatch):
    fit = task.score(Metric.parse("sub(W, W)"))
    assert not fit.ok and "constant" in fit.reason and intact(task)
    import primitives.compile

    def exploding(metric):
        def fn(ops):
            raise RuntimeError("boom")
        return fn

    monkeypatch.setattr(primitives.compile, "compile_metric", exploding)
    fit = task.score(builtin("wanda"))
    assert not fit.ok and "boom" in fit.reason and fit.value == math.inf and intact(task)


def test_sparsegpt_reference_and_dense(task):
    dense = task.dense_perplexity()
    for group in ("layer", "2:4"):
        fit = task.variant(group=group).sparsegpt_perplexity()
        assert fit.ok and fit.details["sparsity"] >= 0.5 and intact(task)
    assert task.dense_perplexity() == dense


def test_settings(task):
    s = task.settings()
    assert s["dtype"] == "float32" and s["device"] == "cpu" and s["calib_source"] == "fortunes:wisdom"
    assert task.variant(group="2:4").settings()["sparsity"] == 0.5


@pytest.mark.parametrize("group", ["vector:4", "block:4", "filter", "head:8", "vector:4@row", "head:8@global"])
@pytest.mark.parametrize("mode", ["oneshot", "sequential"])
def test_granularities_prune_whole_groups(task, group, mode):
    from evaluators.granularity import parse_structure, tile_for
    from evaluators.granularity.structure import head_role
    from evaluators.llm.prune import structure_masks
    from primitives.compile import compile_metric

    structure = parse_structure(group)
    if mode == "sequential" and structure.is_global:
        with pytest.raises(ValueError, match="oneshot"):
            task.variant(group=group, mode=mode)
        return
    variant = task.variant(group=group, mode=mode)
    fit = variant.score(builtin("wanda"))
    assert fit.ok, fit.reason
    assert fit.details["sparsity"] == pytest.approx(0.5, abs=0.06 if structure.is_global else 1e-9)
    assert intact(task)
    masks = structure_masks(compile_metric(builtin("wanda")), task.state.layers, task.state.operands, 0.5, structure)
    for layer in task.state.layers:  # every tile of the granularity is kept or pruned as a whole
        keep = masks[layer.name].float()
        a, b = tile_for(structure.granularity, tuple(keep.shape), None, head_role(layer.name))
        tiles = keep.reshape(keep.shape[0] // a, a, keep.shape[1] // b, b).sum(dim=(1, 3))
        assert bool(((tiles == 0) | (tiles == a * b)).all()), layer.name


def test_granularity_settings_and_errors(task):
    assert "aggregate" not in task.settings()  # element groups: the aggregate cannot change a score
    grouped = task.variant(group="vector:4", aggregate="max").settings()
    assert grouped["group"] == "vector:4" and grouped["aggregate"] == "max"
    assert LLMTaskConfig(group="Vector:4 @ Row").group == "vector:4@row"
    for bad in ({"group": "head"}, {"group": "vector:0"}, {"group": "2:4@global"}, {"aggregate": "median"}):
        with pytest.raises(ValueError):
            LLMTaskConfig(**bad)
    with pytest.raises(ValueError, match="SparseGPT"):
        task.variant(group="filter").sparsegpt_perplexity()
