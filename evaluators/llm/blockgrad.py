"""G of an offloaded model: per-window weight gradients of the LM loss, one block on the device at a time.

The whole-model path backpropagates each window through a float32 copy of the whole model. Here
the same gradients come block-major: a float32 copy of everything outside the blocks (the blocks
swapped for replay stand-ins, so the copy is small) gives each window's block-0 input and, from the
last block's output, the loss gradient; a float32 copy of one block at a time runs forward over
every window (inputs kept in CPU memory), then backward from the last block to the first,
recomputing each block's forward from its stored input (activation checkpointing per block).
"""
from __future__ import annotations

import copy
from typing import Any

from evaluators.progress import track

from .blockwise import replaying, returns_tuple
from .blocks import capture_block_inputs
from .layers import PrunableLayer, layers_by_block, prunable_layers
from .offload import OFFLOAD_ATTRIBUTE, BlockOffload


def _first(out: Any) -> Any:
    return out[0] if isinstance(out, (tuple, list)) else out


def _block_copy(offload: BlockOffload, index: int, dtype: Any, layers: list[PrunableLayer]) -> tuple[Any, dict]:
    """A `dtype` copy of block ``index`` on the device, and its prunable modules by layer name (weights
    requiring grad, everything else frozen)."""
    offload.release()
    work = copy.deepcopy(offload.modules[index]).to(device=offload.device, dtype=dtype)
    for p in work.parameters():
        p.requires_grad_(False)
    start = f"{offload.prefix}.{index}."
    modules = {layer.name: work.get_submodule(layer.name.removeprefix(start)) for layer in layers}
    for module in modules.values():
        module.weight.requires_grad_(True)
    return work, modules


def gradient_operand(offload: BlockOffload, windows: Any, dtype: str = "float32", scale: float = 100.0) -> dict[str, Any]:
    """G = sqrt(sum over windows of (scale * dL/dW)^2), out x in, for every prunable layer; in CPU memory."""
    import torch

    work_dtype = getattr(torch, dtype)
    layers = prunable_layers(offload.model)
    by_block = {group[0].block: group for group in layers_by_block(layers)}
    acc: dict[str, Any] = {}
    with replaying(offload, returns_tuple(offload, windows)):
        shell = copy.deepcopy(offload.model).to(work_dtype)
    vars(shell).pop(OFFLOAD_ATTRIBUTE, None)
    shell_blocks = shell.get_submodule(offload.prefix)
    hiddens, kwargs_list = capture_block_inputs(shell, shell_blocks, windows)
    inputs = [[h.cpu() for h in hiddens]]
    with torch.no_grad():
        for index in track(range(len(offload)), "gradient: forward blocks"):
            work, _ = _block_copy(offload, index, work_dtype, by_block.get(index, []))
            inputs.append([_first(work(h.to(offload.device), **kw)).cpu() for h, kw in zip(inputs[-1], kwargs_list)])
            del work
    grads = []
    with torch.enable_grad():
        for row in range(windows.shape[0]):
            final = inputs[-1][row].to(offload.device).requires_grad_(True)
            shell_blocks[-1].output = final
            ids = windows[row:row + 1].to(offload.device)
            shell(input_ids=ids, labels=ids, use_cache=False).loss.backward()
            grads.append(final.grad)
        del shell
        for index in track(reversed(range(len(offload))), "gradient: backward blocks", total=len(offload)):
            group = by_block.get(index, [])
            work, modules = _block_copy(offload, index, work_dtype, group)
            block_acc = {layer.name: torch.zeros(layer.shape, dtype=torch.float32, device=offload.device)
                         for layer in group}
            for row, kw in enumerate(kwargs_list):
                hidden = inputs[index][row].to(offload.device).requires_grad_(index > 0)
                _first(work(hidden, **kw)).backward(grads[row])
                for layer in group:
                    grad = modules[layer.name].weight.grad
                    grad = (grad.t() if layer.transposed else grad).float() * scale
                    block_acc[layer.name] += grad * grad
                    modules[layer.name].weight.grad = None
                grads[row] = hidden.grad if index > 0 else None
            acc.update({name: a.sqrt_().cpu() for name, a in block_acc.items()})
            del work
    return {layer.name: acc[layer.name] for layer in layers}
