"""Sequential mode and the weight-updating SparseGPT reference on SmolLM2; weights restored after each."""
from __future__ import annotations

import math

import pytest
import torch

from primitives.builtins import builtin

pytestmark = pytest.mark.slow


def weights_equal(task) -> bool:
    st = task.state
    return all(torch.equal(layer.module.weight, st.dense[layer.name]) for layer in st.layers)


def test_sequential_mode(small_task, dense_ppl):
    seq = small_task.variant(mode="sequential")
    fit = seq.score(builtin("wanda"))
    assert fit.ok and dense_ppl < fit.value < 10 * dense_ppl, fit.reason
    assert fit.details["sparsity"] == pytest.approx(0.5, abs=1e-9)
    assert weights_equal(small_task)


def test_sparsegpt_beats_wanda_on_calibration_reconstruction(small_task):
    """On the first blocks, SparseGPT's OBS update reconstructs each layer's calibration outputs better."""
    from evaluators.llm.blocks import run_block
    from evaluators.llm.prune import restore
    from evaluators.llm.sparsegpt import sparsegpt_prune
    from evaluators.masks import keep_mask

    st = small_task.state
    hiddens, kwargs_list = st.inputs()
    first = st.block_layers[:2]
    target = st.layers[0]  # q_proj of block 0: its inputs do not depend on pruning
    seen = []
    handle = target.module.register_forward_hook(lambda m, a, o: seen.append(a[0].reshape(-1, a[0].shape[-1]).float()))
    run_block(st.blocks[0], hiddens, kwargs_list)
    handle.remove()
    x = torch.cat(seen)
    w = st.dense[target.name].float()
    ref = x @ w.T
    try:
        sparsegpt_prune(st.blocks, first, hiddens, kwargs_list, 0.5, "2:4")
        for layer in (lay for block in first for lay in block):
            zero = layer.weight == 0
            assert bool((zero.reshape(zero.shape[0], -1, 4).sum(-1) >= 2).all())
        ours = x @ target.weight.float().T
    finally:
        restore(st.layers, st.dense)
    assert weights_equal(small_task)
    wanda = w * keep_mask(w.abs() * x.norm(dim=0, keepdim=True), 0.5, "2:4")
    assert float(((ours - ref) ** 2).sum()) < float(((x @ wanda.T - ref) ** 2).sum())


def test_sparsegpt_end_to_end_restores(small_task, dense_ppl):
    fit = small_task.variant(group="2:4").sparsegpt_perplexity()
    assert fit.ok and math.isfinite(fit.value) and fit.value > dense_ppl, fit.reason
    assert fit.details["sparsity"] >= 0.5
    assert weights_equal(small_task)
