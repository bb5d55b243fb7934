"""Run a causal LM one decoder block at a time (sequential pruning, SparseGPT)."""
from __future__ import annotations

from typing import Any


class _Stop(Exception):
    """Raised inside the first block to end the forward pass once its inputs are captured."""


def capture_block_inputs(model: Any, blocks: Any, windows: Any) -> tuple[list[Any], list[dict]]:
    """Hidden states and keyword arguments entering block 0, one entry per calibration window."""
    import torch

    hiddens: list[Any] = []
    kwargs_list: list[dict] = []

    def grab(module: Any, args: tuple, kwargs: dict) -> None:
        hidden = args[0] if args else kwargs.pop("hidden_states")
        hiddens.append(hidden.detach())
        kwargs_list.append({k: v for k, v in kwargs.items() if k != "hidden_states"})
        raise _Stop

    device = next(model.parameters()).device
    handle = blocks[0].register_forward_pre_hook(grab, with_kwargs=True)
    try:
        with torch.inference_mode():
            for row in range(windows.shape[0]):
                try:
                    model(input_ids=windows[row:row + 1].to(device), use_cache=False)
                except _Stop:
                    pass
    finally:
        handle.remove()
    return hiddens, kwargs_list


def run_block(block: Any, hiddens: list[Any], kwargs_list: list[dict]) -> list[Any]:
    """Outputs of one block for every stored input (these feed the next block)."""
    import torch

    outs = []
    with torch.inference_mode():
        for hidden, kwargs in zip(hiddens, kwargs_list):
            out = block(hidden, **kwargs)
            outs.append((out[0] if isinstance(out, (tuple, list)) else out).detach())
    return outs
