"""Operands of every prunable layer from one calibration pass (X, Xs, Y; Hd from the same pass's Gram
matrices, kept with the input moments for the proxy and recipes) and per-sequence backward (G)."""
from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from evaluators.progress import track

from .layers import PrunableLayer, prunable_layers
from .stats import InputStatistics, LayerOperands, block_operands, collecting, hd_of  # noqa: F401 - re-exported

log = logging.getLogger(__name__)
OPERANDS = ("W", "G", "X", "Xs", "Hd", "Y")
OPERANDS_VERSION = 2  # 2: one cache file per operand kind
GRAD_SCALE = 100.0  # GBLM / Pruner-Zero scale the gradient by 100 before squaring
GRAM = "XtX"  # cache name of the input Gram matrices (reconstruction fitness, OBS, LS; not a metric operand)
MOMENTS = "moments"  # cache name of the input columns' mean and variance (DSnoT; not a metric operand)


def calibrate(model: Any, layers: list[PrunableLayer], windows: Any,
              gram: bool = False) -> tuple[LayerOperands, InputStatistics]:
    """One calibration pass of the dense model (one window per forward pass, or block-major when offloaded):
    X, Xs, Y of every layer, and its input statistics: the moments of its input columns and, with
    ``gram``, its Gram matrix X^T X (layers of a block that read one input share one tensor)."""
    import torch

    from .offload import offload_of

    offload = offload_of(model)
    if offload is not None:  # one block on the device at a time
        from .blockwise import calibrate as blockwise_calibrate

        ops, moments, grams, counts = blockwise_calibrate(offload, layers, windows, gram)
    else:
        what = "X, Xs, Y" + (", X^T X" if gram else "")
        with collecting(layers, gram) as stats, torch.inference_mode():
            _calibration_pass(model, windows, f"operands {what}: calibration windows")
        ops = {name: s.operands(hd=False) for name, s in stats.items()}
        moments = {name: s.moments() for name, s in stats.items()}
        grams = {name: s.xtx for name, s in stats.items()} if gram else {}
        counts = {name: s.sequences for name, s in stats.items()}
    odd = sorted(name for name, n in counts.items() if n != windows.shape[0])
    if odd:  # every supported architecture runs each layer once per window
        log.warning("%d layers (%s first) did not see one sequence per calibration window; their Hessian "
                    "still divides by the %d windows", len(odd), odd[0], windows.shape[0])
    return ops, InputStatistics(windows.shape[0], moments, share_equal(grams, layers))


def hessian_diagonals(inputs: InputStatistics, device: Any = None) -> LayerOperands:
    """layer -> {"Hd": tensor} from its Gram matrix, the inverse computed once per shared Gram matrix on
    ``device`` (default: the Gram matrix's own) and returned beside it (one tensor per layer)."""
    out: LayerOperands = {}
    done: dict[int, Any] = {}
    for name, g in track(list(inputs.grams.items()), "operand Hd: inverse Hessians per layer"):
        if id(g) not in done:
            done[id(g)] = hd_of(g.to(device or g.device), inputs.sequences).to(g.device)
            out[name] = {"Hd": done[id(g)]}
        else:
            out[name] = {"Hd": done[id(g)].clone()}  # a file of operands stores no shared tensors
    return out


def activation_operands(model: Any, layers: list[PrunableLayer], windows: Any, hessian: bool = True) -> LayerOperands:
    """X, Xs, Y (and Hd, from the pass's Gram matrices) of every layer from the dense model."""
    from .offload import offload_of

    ops, inputs = calibrate(model, layers, windows, gram=hessian)
    if hessian:
        offload = offload_of(model)
        for name, hd in hessian_diagonals(inputs, offload.device if offload is not None else None).items():
            ops[name].update(hd)
    return ops


def _calibration_pass(model: Any, windows: Any, label: str) -> None:
    """Run the model over the calibration windows, one window per forward pass (hooks gather the sums)."""
    device = next(model.parameters()).device
    for row in track(range(windows.shape[0]), label):
        model(input_ids=windows[row:row + 1].to(device), use_cache=False)


def share_equal(tensors: dict[str, Any], layers: list[PrunableLayer]) -> dict[str, Any]:
    """layer -> tensor with equal tensors of one block replaced by one of them (memory kept once)."""
    import torch

    from .layers import layers_by_block

    out: dict[str, Any] = {}
    for block in layers_by_block([layer for layer in layers if layer.name in tensors]):
        kept: list[Any] = []
        for layer in block:
            t = tensors[layer.name]
            same = next((k for k in kept if k.shape == t.shape and torch.equal(k, t)), None)
            if same is None:
                kept.append(t)
            out[layer.name] = t if same is None else same
    return out


def gradient_operand(model: Any, windows: Any, dtype: str = "float32") -> dict[str, Any]:
    """G = sqrt(sum over windows of (100 dL/dW)^2), out x in, from a copy of the model in `dtype`."""
    import torch

    from .offload import offload_of

    if offload_of(model) is not None:  # one block on the device at a time
        from .blockgrad import gradient_operand as blockwise_gradient

        return blockwise_gradient(offload_of(model), windows, dtype, GRAD_SCALE)

    work = copy.deepcopy(model).to(getattr(torch, dtype))
    work.train(False)
    for p in work.parameters():
        p.requires_grad_(False)
    layers = prunable_layers(work)
    for layer in layers:
        layer.module.weight.requires_grad_(True)
    acc = {layer.name: torch.zeros(layer.shape, dtype=torch.float32, device=layer.weight.device) for layer in layers}
    device = next(work.parameters()).device
    with torch.enable_grad():
        for row in track(range(windows.shape[0]), "operand G: gradient pass (backward per window)"):
            ids = windows[row:row + 1].to(device)
            work(input_ids=ids, labels=ids, use_cache=False).loss.backward()
            for layer in layers:
                grad = layer.module.weight.grad
                grad = (grad.t() if layer.transposed else grad).float() * GRAD_SCALE
                acc[layer.name] += grad * grad
                layer.module.weight.grad = None
    del work
    return {name: a.sqrt_() for name, a in acc.items()}


def compute_operands(model: Any, layers: list[PrunableLayer], windows: Any, grad_dtype: str = "float32") -> LayerOperands:
    """All operands but W for every layer (one-shot: everything from the dense model)."""
    ops = activation_operands(model, layers, windows, hessian=True)
    for name, g in gradient_operand(model, windows, grad_dtype).items():
        ops[name]["G"] = g
    return ops


def model_fingerprint(model: Any) -> str:
    """sha256 of the model class, config and every tensor's name, dtype, shape and bytes."""
    import torch

    digest = hashlib.sha256(type(model).__name__.encode())
    digest.update(model.config.to_json_string(use_diff=False).encode())
    for name, tensor in model.state_dict().items():
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:24]


def operand_key(model_id: str, windows: Any, settings: dict[str, Any]) -> str:
    """Cache key from the model fingerprint, the exact calibration tokens and the settings."""
    tokens = hashlib.sha256(windows.cpu().numpy().tobytes()).hexdigest()
    blob = json.dumps({"v": OPERANDS_VERSION, "model": model_id, "tokens": tokens, **settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def save_operands(path: Path, ops: LayerOperands, meta: dict[str, str]) -> None:
    """Write operands to a safetensors file atomically."""
    from safetensors.torch import save_file

    flat = {f"{layer}/{op}": t.detach().contiguous().cpu() for layer, d in ops.items() for op, t in d.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    save_file(flat, str(tmp), metadata=meta)
    tmp.replace(path)


def save_grams(path: Path, grams: dict[str, Any], meta: dict[str, str]) -> None:
    """Write layer -> Gram matrix with each shared tensor once; the layers sharing it go in the metadata."""
    first: dict[int, str] = {}
    aliases = {name: first.setdefault(id(g), name) for name, g in grams.items()}
    unique = {name: {GRAM: grams[name]} for name in first.values()}
    save_operands(path, unique, {**meta, "aliases": json.dumps(aliases, sort_keys=True)})


def load_grams(path: Path, device: Any = "cpu") -> dict[str, Any]:
    """Read what save_grams wrote: layer -> Gram matrix, layers that shared one sharing it again."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        aliases = json.loads((fh.metadata() or {})["aliases"])
    stored = load_operands(path, device)
    return {name: stored[source][GRAM] for name, source in aliases.items()}


def load_operands(path: Path, device: Any = "cpu") -> LayerOperands:
    """Read operands written by save_operands (safetensors: no pickle)."""
    from safetensors.torch import load_file

    ops: LayerOperands = {}
    for key, tensor in load_file(str(path), device=str(device)).items():
        layer, _, op = key.rpartition("/")
        ops.setdefault(layer, {})[op] = tensor
    return ops
