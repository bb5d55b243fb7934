"""Run a causal LM one decoder block at a time (sequential pruning, SparseGPT)."""
from __future__ import annotations

from typing import Any


def keyword_arguments(module: Any, args: tuple, kwargs: dict) -> tuple[Any, dict]:
    """(hidden states, every other argument by name) of a call to a block, positional ones included
    (GPT-2 passes its attention mask positionally)."""
    import inspect

    signature = getattr(module, "replayed_signature", None) or inspect.signature(module.forward)
    bound = signature.bind(*args, **kwargs)
    named: dict = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                raise ValueError(f"{type(module).__name__} takes extra positional arguments; cannot replay it")
        else:
            named[name] = value
    first = next(iter(signature.parameters))
    return named.pop(first), named


class _Stop(Exception):
    """Raised inside the first block to end the forward pass once its inputs are captured."""


def capture_block_inputs(model: Any, blocks: Any, windows: Any) -> tuple[list[Any], list[dict]]:
    """Hidden states and keyword arguments entering block 0, one entry per calibration window."""
    import torch

    hiddens: list[Any] = []
    kwargs_list: list[dict] = []

    def grab(module: Any, args: tuple, kwargs: dict) -> None:
        hidden, rest = keyword_arguments(module, args, kwargs)
        hiddens.append(hidden.detach())
        kwargs_list.append(rest)
        raise _Stop

    device = next(model.parameters()).device
    handle = blocks[0].register_forward_pre_hook(grab, with_kwargs=True)
    try:
        with torch.no_grad():  # not inference_mode: the gradient pass reuses these tensors under autograd
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
