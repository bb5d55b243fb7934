"""Per-layer input moments over calibration tokens, gathered by forward hooks that return None."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..layers import PrunableLayer


class InputMoments:
    """Float64 sums of one layer's input columns: tokens, sum x, sum x^2 and, when asked, X^T X."""

    def __init__(self, in_features: int, gram: bool, device: Any) -> None:
        import torch

        self.tokens = 0
        self.sequences = 0
        self.sum = torch.zeros(in_features, dtype=torch.float64, device=device)
        self.sumsq = torch.zeros(in_features, dtype=torch.float64, device=device)
        self.xtx = torch.zeros(in_features, in_features, dtype=torch.float32, device=device) if gram else None

    def add(self, inputs: Any) -> None:
        """Accumulate one forward call's input (batch x tokens x in, or tokens x in)."""
        x = inputs.detach().reshape(-1, inputs.shape[-1]).float()
        self.tokens += x.shape[0]
        self.sequences += inputs.shape[0] if inputs.dim() == 3 else 1
        self.sum += x.sum(0).double()
        self.sumsq += (x * x).sum(0).double()
        if self.xtx is not None:
            self.xtx += x.t() @ x

    @property
    def mean(self) -> Any:
        """Mean of each input column over all tokens (float32)."""
        return (self.sum / max(self.tokens, 1)).float()

    @property
    def var(self) -> Any:
        """Population variance of each input column over all tokens (float32)."""
        mean = self.sum / max(self.tokens, 1)
        return (self.sumsq / max(self.tokens, 1) - mean * mean).clamp_min(0).float()

    def hessian(self) -> Any:
        """SparseGPT's H = 2 X^T X / n_sequences (float32)."""
        if self.xtx is None:
            raise ValueError("these moments were gathered without X^T X")
        return self.xtx * (2.0 / max(self.sequences, 1))


@contextmanager
def gathering(layers: list[PrunableLayer], gram: bool = False) -> Iterator[dict[str, InputMoments]]:
    """Hooks filling one InputMoments per layer while the block they belong to runs."""
    moments = {layer.name: InputMoments(layer.shape[1], gram, layer.weight.device) for layer in layers}
    handles = []
    for layer in layers:
        def hook(module: Any, args: tuple, output: Any, _m: InputMoments = moments[layer.name]) -> None:
            _m.add(args[0])

        handles.append(layer.module.register_forward_hook(hook))
    try:
        yield moments
    finally:
        for handle in handles:
            handle.remove()
