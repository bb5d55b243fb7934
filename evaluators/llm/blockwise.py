"""Block-major passes of an offloaded model: operands, one-shot pruning and perplexity, one block on the device.

Each pass captures the hidden states entering block 0 for every window (the blocks do not run),
sends them through the blocks in order, one block on the device at a time, and for perplexity
finishes with the model's own code after the blocks (final norm, lm_head, logit soft-capping):
the blocks are swapped for replay stand-ins that hand back the stored last hidden state, so no
architecture-specific head code is written here. Imported only where torch is in use.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from torch import nn

from evaluators.granularity import Structure, parse_structure
from evaluators.progress import track

from .blocks import capture_block_inputs, run_block
from .layers import PrunableLayer, layers_by_block
from .offload import BlockOffload, DeviceOperands
from .stats import collecting


class _Replay(nn.Module):
    """Stand-in for a decoder block: passes its input on, or (the last one) returns a stored output."""

    def __init__(self, block: Any, as_tuple: bool) -> None:
        import inspect

        super().__init__()
        self.as_tuple, self.output = as_tuple, None
        self.replayed_signature = inspect.signature(block.forward)  # how block arguments are named

    def forward(self, hidden_states: Any, *args: Any, **kwargs: Any) -> Any:
        out = hidden_states if self.output is None else self.output
        return (out,) if self.as_tuple else out


@contextlib.contextmanager
def replaying(offload: BlockOffload, as_tuple: bool) -> Iterator[_Replay]:
    """The model with every block replaced by a pass-through and the last by a replay; yields the last."""
    offload.release()
    originals = list(offload.modules)
    stubs = [_Replay(block, as_tuple) for block in originals]
    try:
        for i, stub in enumerate(stubs):
            offload.modules[i] = stub
        yield stubs[-1]
    finally:
        for i, block in enumerate(originals):
            offload.modules[i] = block


def returns_tuple(offload: BlockOffload, windows: Any) -> bool:
    """Whether the model's blocks return a tuple (older transformers) rather than a tensor; probed once."""
    import torch

    if offload.returns_tuple is None:
        hiddens, kwargs_list = capture_block_inputs(offload.model, offload.modules, windows[:1])
        with torch.inference_mode():
            out = offload.fetch(0)(hiddens[0], **kwargs_list[0])
        offload.returns_tuple = isinstance(out, (tuple, list))
    return offload.returns_tuple


def through_blocks(offload: BlockOffload, windows: Any, label: str) -> tuple[list[Any], list[dict], bool]:
    """Hidden states leaving the last block for every window, the block arguments, and whether blocks
    return tuples; block-major."""
    as_tuple = returns_tuple(offload, windows)
    hiddens, kwargs_list = capture_block_inputs(offload.model, offload.modules, windows)
    for index in track(range(len(offload)), f"{label}: blocks"):
        hiddens = run_block(offload.fetch(index), hiddens, kwargs_list)
    offload.release()
    return hiddens, kwargs_list, as_tuple


def window_nll_sums(offload: BlockOffload, windows: Any, known: Sequence[float] = ()) -> list[float]:
    """Per-window next-token NLL sums, as perplexity.window_nll_sums computes them with the whole model."""
    import torch

    from .nll import token_nll

    sums = [float(v) for v in known[:windows.shape[0]]]
    todo = windows[len(sums):]
    if todo.shape[0] == 0:
        return sums
    finals, _, as_tuple = through_blocks(offload, todo, "evaluation")
    with replaying(offload, as_tuple) as last, torch.inference_mode():
        for row, final in enumerate(finals):
            last.output = final
            sums.append(float(token_nll(offload.model, todo[row:row + 1].to(offload.device)).sum()))
    return sums


def calibrate(offload: BlockOffload, layers: list[PrunableLayer], windows: Any, gram: bool
              ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, Any], dict[str, int]]:
    """operands.calibrate block-major, each block's sums taken to CPU memory: layer -> X, Xs, Y; layer ->
    mean, var of its inputs; layer -> X^T X (with ``gram``); layer -> sequences seen."""
    hiddens, kwargs_list = capture_block_inputs(offload.model, offload.modules, windows)
    by_block = {group[0].block: group for group in layers_by_block(layers)}
    ops: dict[str, dict[str, Any]] = {}
    moments: dict[str, dict[str, Any]] = {}
    grams: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for index in track(range(len(offload)), "operands" + (", X^T X" if gram else "") + ": blocks"):
        block = offload.fetch(index)
        with collecting(by_block.get(index, []), gram) as stats:
            hiddens = run_block(block, hiddens, kwargs_list)
        for name, s in stats.items():
            ops[name] = {k: t.cpu() for k, t in s.operands(hd=False).items()}
            moments[name] = {k: t.cpu() for k, t in s.moments().items()}
            counts[name] = s.sequences
            if s.xtx is not None:
                grams[name] = s.xtx.cpu()
    offload.release()
    return ops, moments, grams, counts


def prune_oneshot(offload: BlockOffload, fn: Any, layers: list[PrunableLayer], operands: Mapping[str, Any],
                  sparsity: float, group: str | Structure) -> tuple[int, int]:
    """prune.prune_oneshot one block at a time on the device; (pruned, total)."""
    from .prune import prune_oneshot as prune_layers

    structure = parse_structure(group)
    if structure.is_global:
        raise ValueError(f"group {structure} ranks all layers at once; block offload prunes per layer or row")
    device_ops = operands if isinstance(operands, DeviceOperands) else DeviceOperands(operands, offload.device)
    pruned = total = 0
    for group in track(layers_by_block(layers), "pruning: blocks"):
        offload.fetch(group[0].block)
        p, t = prune_layers(fn, group, {layer.name: device_ops[layer.name] for layer in group
                                        if layer.name in device_ops}, sparsity, structure)
        pruned, total = pruned + p, total + t
    offload.release()
    return pruned, total
