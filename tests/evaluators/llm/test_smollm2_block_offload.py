"""Block offload on SmolLM2-135M: the same operands, masks and perplexity as the whole-model path."""
from __future__ import annotations

import pytest
import torch

from primitives.builtins import builtin

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def offloaded(small_task, tmp_path_factory):
    """The small task with one decoder block on the device at a time, its operands computed afresh."""
    from evaluators.llm.task import LLMPruneTask

    task = LLMPruneTask(small_task.config, offload="blocks", cache_dir=str(tmp_path_factory.mktemp("offload")))
    task.prepare()
    assert task.state.offload is not None and not task.state.cache_hit
    return task


def patterns(task, metric):
    with task.pruned(metric) as _:
        return {layer.name: (layer.weight != 0).clone() for layer in task.state.layers}


def test_operands_match(small_task, offloaded):
    whole, blocks = small_task.state.operands, offloaded.state.operands
    for layer in small_task.state.layers:
        mine = blocks[layer.name]
        for op, value in whole[layer.name].items():
            torch.testing.assert_close(mine[op].to(value.device), value, rtol=1e-4, atol=1e-6, msg=f"{layer.name} {op}")


@pytest.mark.parametrize("name, mode", [("wanda", "oneshot"), ("magnitude", "oneshot"), ("gblm", "oneshot"),
                                        ("wanda", "sequential")])
def test_same_masks_and_perplexity(small_task, offloaded, name, mode):
    whole, blocks = small_task.variant(mode=mode), offloaded.variant(mode=mode)
    metric = builtin(name)
    a, b = patterns(whole, metric), patterns(blocks, metric)
    assert all(torch.equal(a[k], b[k]) for k in a)
    fa, fb = whole.score(metric), blocks.score(metric)
    assert fa.ok and fb.ok and fb.value == pytest.approx(fa.value, rel=1e-4)


def test_dense_and_sparsegpt_perplexity(small_task, offloaded):
    assert offloaded.dense_perplexity() == pytest.approx(small_task.dense_perplexity(), rel=1e-4)
    fa, fb = small_task.sparsegpt_perplexity(), offloaded.sparsegpt_perplexity()
    assert fa.ok and fb.ok and fb.value == pytest.approx(fa.value, rel=1e-4)
    assert all(torch.equal(layer.module.weight, offloaded.state.dense[layer.name]) for layer in offloaded.state.layers)
