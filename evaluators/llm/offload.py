"""Block offload: a model larger than the device, one decoder block on the device at a time.

As the SparseGPT and Wanda code do for 65B models, everything outside the decoder blocks
(embeddings, final norm, lm_head, rotary tables) lives on the compute device and the blocks stay
in CPU memory; a block is moved to the device when it is needed and back when the next one is.
Every pass then runs block-major: all windows through block 0, then through block 1, and so on
(blockwise.py, blockgrad.py), so each block crosses to the device once per pass. On a CPU-only
machine the moves are no-ops and the passes compute exactly what the whole-model path computes.

``attach_offload(model, device)`` marks a model for this mode; the operand, perplexity and
pruning functions look for the mark with ``offload_of(model)``.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .layers import find_blocks

OFFLOAD_ATTRIBUTE = "_metricforge_block_offload"


class BlockOffload:
    """The decoder blocks of a model as a sequence whose item access brings that block to the device
    (and sends the previous one back): code that walks blocks in order needs no change."""

    def __init__(self, model: Any, device: Any) -> None:
        import torch

        self.model, self.device = model, torch.device(device)
        self.prefix, self.modules = find_blocks(model)
        self.current: int | None = None
        self.returns_tuple: bool | None = None  # blocks' output type, probed on first use (blockwise.py)
        self.resident_bytes = self.peak_bytes = 0  # parameter and buffer bytes on the device (no activations)
        kinds = set(getattr(model.config, "layer_types", None) or ())
        if len(kinds) > 1:
            raise ValueError(f"block offload replays block 0's attention mask in every block; this model mixes "
                             f"layer kinds {sorted(kinds)}: run it with offload 'none'")
        self._place()

    def _place(self) -> None:
        """Blocks to the CPU, every other parameter and buffer to the device (never the whole model at once)."""
        self.modules.to("cpu")
        inside = self.prefix + "."
        for name, module in self.model.named_modules():
            if name == self.prefix or name.startswith(inside):
                continue
            for key, param in module._parameters.items():
                if param is not None and param.device != self.device:
                    param.data = param.data.to(self.device)
            for key, buf in module._buffers.items():
                if buf is not None and buf.device != self.device:
                    module._buffers[key] = buf.to(self.device)
        self.resident_bytes = self.peak_bytes = _tensor_bytes(self.model, skip=self.prefix)

    def __len__(self) -> int:
        return len(self.modules)

    def __iter__(self) -> Iterator[Any]:
        """The blocks where they are (no move): for discovery, not for running them."""
        return iter(self.modules)

    def __getitem__(self, index: int) -> Any:
        return self.fetch(index)

    def fetch(self, index: int) -> Any:
        """Block ``index`` on the device; the block there before goes back to the CPU."""
        if self.current != index:
            self.release()
            self.modules[index].to(self.device)
            self.current = index
            self.peak_bytes = max(self.peak_bytes, self.resident_bytes + _tensor_bytes(self.modules[index]))
        return self.modules[index]

    def release(self) -> None:
        """Send the block on the device back to the CPU."""
        if self.current is not None:
            self.modules[self.current].to("cpu")
            self.current = None


def _tensor_bytes(module: Any, skip: str | None = None) -> int:
    """Bytes of the distinct parameters and buffers of a module, leaving out those under ``skip``."""
    seen: dict[int, int] = {}
    for name, tensor in [*module.named_parameters(remove_duplicate=False), *module.named_buffers()]:
        if skip is None or not (name == skip or name.startswith(skip + ".")):
            seen[id(tensor)] = tensor.numel() * tensor.element_size()
    return sum(seen.values())


class DeviceOperands(Mapping):
    """Operands kept in CPU memory, each layer's moved to the device when it is read."""

    def __init__(self, operands: Mapping[str, Mapping[str, Any]], device: Any) -> None:
        self.operands, self.device = operands, device

    def __getitem__(self, name: str) -> dict[str, Any]:
        return {op: t.to(self.device) for op, t in self.operands[name].items()}

    def __iter__(self) -> Iterator[str]:
        return iter(self.operands)

    def __len__(self) -> int:
        return len(self.operands)


def attach_offload(model: Any, device: Any) -> BlockOffload:
    """Put a (CPU-loaded) model in block-offload mode on ``device``."""
    offload = BlockOffload(model, device)
    setattr(model, OFFLOAD_ATTRIBUTE, offload)
    return offload


def offload_of(model: Any) -> BlockOffload | None:
    """The model's BlockOffload, or None when it runs whole on one device."""
    return getattr(model, OFFLOAD_ATTRIBUTE, None)


def compute_blocks(model: Any) -> Any:
    """The decoder blocks to run in order: the offload sequence in block mode, else the ModuleList."""
    return offload_of(model) or find_blocks(model)[1]
