"""Running float32 sums of each layer's inputs and outputs, gathered by forward hooks (never all activations)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .blocks import run_block
from .layers import PrunableLayer

LayerOperands = dict[str, dict[str, Any]]  # layer name -> operand name -> float32 tensor (no W)

PERCDAMP = 0.01  # SparseGPT's damping: 1% of the mean Hessian diagonal


class _InputMemo:
    """Products of the last input seen, reused by layers fed the same tensor (q/k/v, gate/up)."""

    def __init__(self) -> None:
        self.last: Any = None
        self.sumsq: Any = None
        self.xtx: Any = None

    def products(self, inputs: Any, hessian: bool) -> tuple[Any, Any]:
        """(sum of squared columns, X^T X or None) of an input, in float32."""
        if inputs is not self.last or (hessian and self.xtx is None):
            x = inputs.detach().reshape(-1, inputs.shape[-1]).float()
            self.last, self.sumsq, self.xtx = inputs, (x * x).sum(0), (x.t() @ x if hessian else None)
        return self.sumsq, self.xtx


class LayerStats:
    """Sums over calibration tokens for one layer: squared input columns, X^T X, squared output rows."""

    def __init__(self, in_features: int, out_features: int, hessian: bool, device: Any) -> None:
        import torch

        self.sumsq_in = torch.zeros(in_features, dtype=torch.float32, device=device)
        self.sumsq_out = torch.zeros(out_features, dtype=torch.float32, device=device)
        self.xtx = torch.zeros(in_features, in_features, dtype=torch.float32, device=device) if hessian else None
        self.sequences = 0

    def add(self, inputs: Any, outputs: Any, memo: _InputMemo | None = None) -> None:
        """Accumulate one forward call; a 3-D input counts its batch size in sequences."""
        self.sequences += inputs.shape[0] if inputs.dim() == 3 else 1
        sumsq, xtx = (memo or _InputMemo()).products(inputs, self.xtx is not None)
        y = outputs.detach().reshape(-1, outputs.shape[-1]).float()
        self.sumsq_in += sumsq
        self.sumsq_out += (y * y).sum(0)
        if self.xtx is not None:
            self.xtx += xtx

    def hessian(self) -> Any:
        """SparseGPT's H = 2 X^T X / n_sequences (float32), dead columns set to 1 on the diagonal."""
        import torch

        if self.xtx is None:
            raise ValueError("these statistics were gathered without the Hessian")
        h = self.xtx * (2.0 / max(self.sequences, 1))
        dead = torch.diag(h) == 0
        h[dead, dead] = 1.0
        return h

    def operands(self) -> dict[str, Any]:
        """X (1 x in), Xs (1 x in), Y (out x 1) and, with a Hessian, Hd (1 x in); all float32."""
        out = {"X": self.sumsq_in.sqrt().unsqueeze(0),
               "Xs": (self.sumsq_in / max(self.sequences, 1)).unsqueeze(0),
               "Y": self.sumsq_out.sqrt().unsqueeze(1)}
        if self.xtx is not None:
            out["Hd"] = inverse_diagonal(self.hessian()).unsqueeze(0)
        return out


def damped_inverse(h: Any, percdamp: float = PERCDAMP) -> Any:
    """(H + percdamp * mean(diag H) * I)^-1 through Cholesky, computed in float64."""
    import torch

    h64 = h.double().clone()
    h64.diagonal().add_(percdamp * h64.diagonal().mean())
    return torch.cholesky_inverse(torch.linalg.cholesky(h64))


def inverse_diagonal(h: Any, percdamp: float = PERCDAMP) -> Any:
    """diag of the damped inverse Hessian, float32."""
    return damped_inverse(h, percdamp).diagonal().float()


@contextmanager
def collecting(layers: list[PrunableLayer], hessian: bool) -> Iterator[dict[str, LayerStats]]:
    """Attach hooks (returning None, so outputs are untouched) that fill one LayerStats per layer."""
    stats: dict[str, LayerStats] = {}
    memo = _InputMemo()
    handles = []
    for layer in layers:
        out_f, in_f = layer.shape
        stats[layer.name] = LayerStats(in_f, out_f, hessian, layer.weight.device)

        def hook(module: Any, args: tuple, output: Any, _s: LayerStats = stats[layer.name]) -> None:
            _s.add(args[0], output, memo)

        handles.append(layer.module.register_forward_hook(hook))
    try:
        yield stats
    finally:
        memo.last = memo.sumsq = memo.xtx = None
        for handle in handles:
            handle.remove()


def block_operands(block: Any, layers: list[PrunableLayer], hiddens: list[Any], kwargs_list: list[dict],
                   hessian: bool) -> LayerOperands:
    """X, Xs, Y (and Hd) of one block's layers from the inputs that reach it (sequential mode)."""
    with collecting(layers, hessian) as stats:
        run_block(block, hiddens, kwargs_list)
    return {name: s.operands() for name, s in stats.items()}
