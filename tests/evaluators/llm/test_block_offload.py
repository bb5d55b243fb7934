"""Block offload (one decoder block on the device at a time) computes what the whole model computes."""
from __future__ import annotations

import copy

import pytest
import torch

from evaluators.llm.blocks import capture_block_inputs
from evaluators.llm.blockwise import prune_oneshot as prune_blockwise
from evaluators.llm.layers import layers_by_block, prunable_layers
from evaluators.llm.offload import DeviceOperands, attach_offload, compute_blocks, offload_of
from evaluators.llm.operands import activation_operands, gradient_operand
from evaluators.llm.perplexity import perplexity, window_nll_sums
from evaluators.llm.prune import prune_oneshot, prune_sequential, restore, snapshot
from evaluators.llm.sparsegpt import sparsegpt_prune

from .tiny import tiny_models, tiny_windows

MODELS = tiny_models()


def wanda(ops):
    return ops["W"].abs() * ops["X"]


def pair(arch):
    whole = MODELS[arch]
    offloaded = copy.deepcopy(whole)
    attach_offload(offloaded, "cpu")
    return whole, offloaded


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_operands_and_perplexity_match_the_whole_model(arch):
    whole, offloaded = pair(arch)
    windows = tiny_windows()
    assert offload_of(whole) is None and offload_of(offloaded) is not None
    a = activation_operands(whole, prunable_layers(whole), windows)
    b = activation_operands(offloaded, prunable_layers(offloaded), windows)
    assert a.keys() == b.keys()
    for name in a:
        for op in a[name]:
            torch.testing.assert_close(b[name][op], a[name][op], rtol=1e-5, atol=1e-7)
    ga, gb = gradient_operand(whole, windows), gradient_operand(offloaded, windows)
    assert ga.keys() == gb.keys()
    for name in ga:
        torch.testing.assert_close(gb[name], ga[name], rtol=1e-4, atol=1e-6)
    sums_a, sums_b = window_nll_sums(whole, windows), window_nll_sums(offloaded, windows)
    assert sums_b == pytest.approx(sums_a, rel=1e-6)
    assert window_nll_sums(offloaded, windows, known=sums_b[:2]) == sums_b


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_pruning_gives_the_same_weights(arch):
    whole, offloaded = pair(arch)
    windows = tiny_windows()
    wl, ol = prunable_layers(whole), prunable_layers(offloaded)
    dense = snapshot(wl)
    ops = activation_operands(whole, wl, windows, hessian=False)
    prune_oneshot(wanda, wl, ops, 0.5, "row")
    prune_blockwise(offload_of(offloaded), wanda, ol, DeviceOperands(ops, "cpu"), 0.5, "row")
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(wl, ol))
    assert perplexity(offloaded, windows) == pytest.approx(perplexity(whole, windows), rel=1e-6)
    restore(wl, dense), restore(ol, dense)
    for model, layers in ((whole, wl), (offloaded, ol)):
        blocks = compute_blocks(model)
        hiddens, kwargs_list = capture_block_inputs(model, blocks, windows)
        prune_sequential(wanda, blocks, layers_by_block(layers), {}, hiddens, kwargs_list, 0.5, "row", ("W", "X"))
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(wl, ol))
    restore(wl, dense), restore(ol, dense)
    for model, layers in ((whole, wl), (offloaded, ol)):
        blocks = compute_blocks(model)
        hiddens, kwargs_list = capture_block_inputs(model, blocks, windows)
        sparsegpt_prune(blocks, layers_by_block(layers), hiddens, kwargs_list, 0.5, "2:4")
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(wl, ol))
    restore(wl, dense)


def test_blocks_live_on_the_cpu_and_one_moves_at_a_time():
    _, offloaded = pair("llama")
    offload = offload_of(offloaded)
    assert all(p.device.type == "cpu" for p in offloaded.parameters())
    assert offload.fetch(1) is offload.modules[1] and offload.current == 1
    offload.fetch(0)
    assert offload.current == 0
    offload.release()
    assert offload.current is None
    with pytest.raises(ValueError, match="ranks all layers"):
        from evaluators.granularity import parse_structure

        prune_blockwise(offload, wanda, prunable_layers(offloaded), {}, 0.5, parse_structure("global"))
