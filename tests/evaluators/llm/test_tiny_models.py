"""Layer discovery, operands, pruning, restore and SparseGPT on tiny random GPT-2, OPT, Llama, Qwen2, Phi and
Gemma models."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm.blocks import capture_block_inputs, run_block
from evaluators.llm.layers import find_blocks, layers_by_block, prunable_layers
from evaluators.llm.operands import (
    activation_operands,
    gradient_operand,
    load_operands,
    save_operands,
)
from evaluators.llm.perplexity import perplexity
from evaluators.llm.prune import (
    ScoreError,
    prune_oneshot,
    prune_sequential,
    restore,
    snapshot,
)
from evaluators.llm.sparsegpt import sparsegpt_prune

from .tiny import tiny_models, tiny_windows

MODELS = tiny_models()
EXPECTED = {
    "gpt2": {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"},
    "opt": {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "fc1", "fc2"},
    "llama": {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
              "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"},
    "phi": {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.dense", "mlp.fc1", "mlp.fc2"},
}
EXPECTED["qwen2"] = EXPECTED["gemma"] = EXPECTED["llama"]


def wanda(ops):
    return ops["W"].abs() * ops["X"]


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_discovery_is_generic(arch):
    model = MODELS[arch]
    layers = prunable_layers(model)
    prefix, blocks = find_blocks(model)
    assert len(blocks) == 2 and len(layers_by_block(layers)) == 2
    for block in (0, 1):
        names = {l.name.removeprefix(f"{prefix}.{block}.") for l in layers if l.block == block}
        assert names == EXPECTED[arch]
    assert not any("lm_head" in l.name or "emb" in l.name for l in layers)
    for layer in layers:  # W is out x in for Linear and Conv1D alike, and shares storage
        out_f, in_f = layer.shape
        x = torch.randn(3, in_f)
        assert layer.module(x).shape[-1] == out_f
        assert layer.weight.data_ptr() == layer.module.weight.data_ptr()


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_operands_shapes_and_values(arch, tmp_path):
    model, windows = MODELS[arch], tiny_windows()
    layers = prunable_layers(model)
    ops = activation_operands(model, layers, windows)
    for name, g in gradient_operand(model, windows).items():
        ops[name]["G"] = g
    for layer in layers:
        out_f, in_f = layer.shape
        o = ops[layer.name]
        assert o["X"].shape == (1, in_f) and o["Xs"].shape == (1, in_f) and o["Hd"].shape == (1, in_f)
        assert o["Y"].shape == (out_f, 1) and o["G"].shape == (out_f, in_f)
        assert all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in o.values())
        torch.testing.assert_close(o["Xs"] * windows.shape[0], o["X"] ** 2)
        assert (o["Hd"] > 0).all() and (o["G"] >= 0).all() and o["G"].sum() > 0
    path = tmp_path / "ops.safetensors"
    save_operands(path, ops, {"k": "v"})
    back = load_operands(path)
    assert all(torch.equal(back[n][k], ops[n][k]) for n in ops for k in ops[n])


def test_x_matches_direct_computation():
    model, windows = MODELS["llama"], tiny_windows()
    layer = prunable_layers(model)[0]
    seen = []
    handle = layer.module.register_forward_hook(lambda m, a, o: seen.append(a[0].detach().reshape(-1, a[0].shape[-1])))
    with torch.inference_mode():
        for row in windows:
            model(input_ids=row[None])
    handle.remove()
    x = torch.cat(seen)
    ops = activation_operands(model, [layer], windows)[layer.name]
    torch.testing.assert_close(ops["X"][0], x.norm(dim=0))
    h = 2 * x.T @ x / windows.shape[0]
    h += 0.01 * h.diagonal().mean() * torch.eye(h.shape[0])
    torch.testing.assert_close(ops["Hd"][0], torch.linalg.inv(h.double()).diagonal().float(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("arch", sorted(MODELS))
@pytest.mark.parametrize("group", ["row", "layer", "2:4", "global"])
def test_prune_exact_sparsity_and_restore(arch, group):
    model, windows = MODELS[arch], tiny_windows()
    layers = prunable_layers(model)
    ops = activation_operands(model, layers, windows, hessian=False)
    dense = snapshot(layers)
    before = perplexity(model, windows)
    pruned, total = prune_oneshot(wanda, layers, ops, 0.5, group)
    assert pruned == total // 2 or group != "global"
    for layer in layers:
        w = layer.weight
        if group == "row":
            assert ((w == 0).sum(1) >= w.shape[1] // 2).all()
        if group == "2:4":
            assert ((w.reshape(w.shape[0], -1, 4) == 0).sum(-1) >= 2).all()
    assert perplexity(model, windows) != before
    restore(layers, dense)
    assert all(torch.equal(l.module.weight, dense[l.name]) for l in layers)
    assert perplexity(model, windows) == before


def test_bad_scores_rejected():
    model = MODELS["opt"]
    layers = prunable_layers(model)
    for fn, word in [(lambda o: o["W"] * float("nan"), "non-finite"), (lambda o: o["W"] * 0, "constant"),
                     (lambda o: o["W"][:1, :2], "do not fit")]:
        with pytest.raises(ScoreError, match=word):
            prune_oneshot(fn, layers, {}, 0.5, "row")


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_block_runner_reproduces_the_model(arch):
    model, windows = MODELS[arch], tiny_windows()
    blocks = find_blocks(model)[1]
    hiddens, kwargs_list = capture_block_inputs(model, blocks, windows)
    for block in blocks:
        hiddens = run_block(block, hiddens, kwargs_list)
    seen = []
    handle = blocks[-1].register_forward_hook(lambda m, a, o: seen.append(o[0] if isinstance(o, tuple) else o))
    with torch.inference_mode():
        for row in windows:
            model(input_ids=row[None], use_cache=False)
    handle.remove()
    for ours, theirs in zip(hiddens, seen):
        torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_sequential_and_sparsegpt_restore(arch):
    model, windows = MODELS[arch], tiny_windows()
    layers = prunable_layers(model)
    blocks = find_blocks(model)[1]
    dense = snapshot(layers)
    hiddens, kwargs_list = capture_block_inputs(model, blocks, windows)
    pruned, total = prune_sequential(wanda, blocks, layers_by_block(layers), {}, hiddens, kwargs_list, 0.5, "row",
                                     ("W", "X"))
    assert pruned == total // 2
    restore(layers, dense)
    for group, check in [("layer", None), ("2:4", 4)]:
        pruned, total = sparsegpt_prune(blocks, layers_by_block(layers), hiddens, kwargs_list, 0.5, group)
        assert pruned >= total // 2
        if check:
            for layer in layers:
                w = layer.weight
                assert ((w.reshape(w.shape[0], -1, 4) == 0).sum(-1) >= 2).all()
        restore(layers, dense)
    assert all(torch.equal(l.module.weight, dense[l.name]) for l in layers)


@pytest.mark.parametrize("arch", sorted(MODELS))
def test_layer_report_lists_every_weight_matrix(arch):
    from evaluators.llm.layers import layer_report

    model = MODELS[arch]
    report = layer_report(model)
    matrices = {name for name, m in model.named_modules() if m._parameters.get("weight") is not None
                and m._parameters["weight"].dim() >= 2}
    assert {e.name for e in report} == matrices
    pruned = [e for e in report if e.pruned]
    assert [e.name for e in pruned] == [l.name for l in prunable_layers(model)]
    assert {e.kind for e in pruned} == ({"Conv1D (stored in x out)"} if arch == "gpt2" else {"Linear"})
    for entry, layer in zip(pruned, prunable_layers(model)):
        assert entry.shape == layer.shape and entry.block == layer.block
    left = [e for e in report if not e.pruned]
    assert left and all(e.note == "outside the decoder blocks" and e.block is None for e in left)


def test_an_unsupported_matrix_inside_a_block_is_reported_not_skipped(caplog):
    from transformers import LlamaConfig, LlamaForCausalLM

    from evaluators.llm.layers import layer_report

    model = LlamaForCausalLM(LlamaConfig(num_hidden_layers=2, hidden_size=32, intermediate_size=64,
                                         num_attention_heads=4, num_key_value_heads=2, vocab_size=96))
    model.model.layers[1].mlp.extra = torch.nn.Conv1d(8, 8, 3)
    with caplog.at_level("WARNING", logger="evaluators.llm.layers"):
        report = layer_report(model)
    extra = next(e for e in report if e.name.endswith("mlp.extra"))
    assert not extra.pruned and extra.kind == "Conv1d" and extra.block == 1 and extra.note == "not a linear layer"
    assert "model.layers.1.mlp.extra" in caplog.text
