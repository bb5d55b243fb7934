"""Granularity masks on a tiny random Llama's prunable layers: heads by role, exact restore, storage."""
from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny():
    """A 2-block Llama (hidden 32, 4 heads of 8, 2 KV heads) with its layers and activation operands."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from evaluators.llm.layers import prunable_layers
    from evaluators.llm.operands import activation_operands

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(num_hidden_layers=2, hidden_size=32, intermediate_size=64,
                                         num_attention_heads=4, num_key_value_heads=2, vocab_size=64,
                                         bos_token_id=0, eos_token_id=0, pad_token_id=1)).eval()
    layers = prunable_layers(model)
    windows = torch.randint(2, 64, (2, 12), generator=torch.Generator().manual_seed(1))
    return model, layers, activation_operands(model, layers, windows, hessian=False)


@pytest.mark.parametrize("gran", ["element", "vector:4", "block:4", "2:4", "filter", "head:8", "vector:4@global"])
def test_llm_masks_structure_and_storage(tiny, gran: str) -> None:
    from evaluators.granularity import parse_structure
    from model_compression.granularity.llm import head_dim_of, layer_storage, llm_masks
    from primitives.builtins import builtin
    from primitives.compile import compile_metric

    model, layers, ops = tiny
    assert head_dim_of(model) == 8
    structure = parse_structure(gran)
    masks = llm_masks(compile_metric(builtin("wanda")), layers, ops, structure, 0.5)
    assert set(masks) == {layer.name for layer in layers}
    for layer in layers:
        keep = masks[layer.name]
        assert keep.shape == layer.shape
        if gran == "head:8" and layer.name.endswith("o_proj"):
            heads = keep.reshape(32, 4, 8).permute(1, 0, 2).reshape(4, -1)
            assert torch.equal(heads.all(-1), heads.any(-1)) and int((~heads.all(-1)).sum()) == 2
        elif gran == "head:8" and layer.name.endswith("k_proj"):  # 2 KV heads of 8 rows: one pruned
            assert torch.equal(keep.reshape(2, -1).all(-1), keep.reshape(2, -1).any(-1))
            assert int((~keep.reshape(2, -1).all(-1)).sum()) == 1
        elif not structure.is_global:
            assert int((~keep).sum()) == keep.numel() // 2
    natural, csr = layer_storage(masks, structure, 2)
    assert len(natural) == len(csr) == len(layers)


def test_llm_candidate_restores_weights(tiny) -> None:
    from evaluators.granularity import parse_structure
    from evaluators.llm.prune import snapshot
    from model_compression.granularity.llm import llm_candidate
    from primitives.builtins import builtin

    model, layers, ops = tiny

    class FakeTask:  # the three things llm_candidate reads from an LLMPruneTask
        class state:  # noqa: N801
            pass

        def perplexity(self) -> float:
            return float(sum(float(layer.weight.abs().sum()) for layer in layers))

    task = FakeTask()
    task.state.layers, task.state.operands, task.state.dense = layers, ops, snapshot(layers)
    dense = task.perplexity()
    res = llm_candidate(task, builtin("magnitude"), parse_structure("block:4"), 0.5)
    assert res["ok"] and res["quality"] < dense and res["actual_sparsity"] == pytest.approx(0.5)
    assert task.perplexity() == dense
    bad = llm_candidate(task, builtin("gblm"), parse_structure("block:4"), 0.5)  # no G operand
    assert not bad["ok"]
