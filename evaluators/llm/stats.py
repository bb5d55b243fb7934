"""Running sums of each layer's inputs and outputs over calibration tokens, gathered by forward hooks
(never all activations): the one accumulator behind the operands, the Gram matrices of the
reconstruction proxy, SparseGPT's Hessians and the recipes' post-mask steps."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .blocks import run_block
from .layers import PrunableLayer

LayerOperands = dict[str, dict[str, Any]]  # layer name -> operand name -> float32 tensor (no W)

PERCDAMP = 0.01  # SparseGPT's damping: 1% of the mean Hessian diagonal


class _InputMemo:
    """Products of the last input seen, reused by layers fed the same tensor (q/k/v, gate/up)."""

    def __init__(self) -> None:
        self.last: Any = None
        self.sum: Any = None
        self.sumsq: Any = None
        self.xtx: Any = None

    def products(self, inputs: Any, hessian: bool) -> tuple[Any, Any, Any]:
        """(sums of the columns and of their squares, X^T X or None) of an input, in float32."""
        if inputs is not self.last or (hessian and self.xtx is None):
            x = inputs.detach().reshape(-1, inputs.shape[-1]).float()
            self.last, self.sum, self.sumsq = inputs, x.sum(0), (x * x).sum(0)
            self.xtx = x.t() @ x if hessian else None
        return self.sum, self.sumsq, self.xtx


def hessian_of(xtx: Any, sequences: int, dead_to_one: bool = True) -> Any:
    """SparseGPT's H = 2 X^T X / n_sequences (a new float32 tensor); with ``dead_to_one``, columns that
    never saw a nonzero input get 1 on the diagonal."""
    import torch

    h = xtx * (2.0 / max(sequences, 1))
    if dead_to_one:
        dead = torch.diag(h) == 0
        h[dead, dead] = 1.0
    return h


class LayerStats:
    """Sums over calibration tokens for one layer: input columns and their squares (float64, each call's
    float32 sums added), X^T X when asked, squared output rows; token and sequence counts."""

    def __init__(self, in_features: int, out_features: int, hessian: bool, device: Any) -> None:
        import torch

        self.sum_in = torch.zeros(in_features, dtype=torch.float64, device=device)
        self.sumsq_in = torch.zeros(in_features, dtype=torch.float64, device=device)
        self.sumsq_out = torch.zeros(out_features, dtype=torch.float32, device=device)
        self.xtx = torch.zeros(in_features, in_features, dtype=torch.float32, device=device) if hessian else None
        self.sequences = 0
        self.tokens = 0

    def add(self, inputs: Any, outputs: Any, memo: _InputMemo | None = None) -> None:
        """Accumulate one forward call; a 3-D input counts its batch size in sequences."""
        self.sequences += inputs.shape[0] if inputs.dim() == 3 else 1
        self.tokens += inputs.numel() // inputs.shape[-1]
        total, sumsq, xtx = (memo or _InputMemo()).products(inputs, self.xtx is not None)
        y = outputs.detach().reshape(-1, outputs.shape[-1]).float()
        self.sum_in += total
        self.sumsq_in += sumsq
        self.sumsq_out += (y * y).sum(0)
        if self.xtx is not None:
            self.xtx += xtx

    @property
    def mean(self) -> Any:
        """Mean of each input column over all tokens (float32)."""
        return (self.sum_in / max(self.tokens, 1)).float()

    @property
    def var(self) -> Any:
        """Population variance of each input column over all tokens (float32)."""
        mean = self.sum_in / max(self.tokens, 1)
        return (self.sumsq_in / max(self.tokens, 1) - mean * mean).clamp_min(0).float()

    def hessian(self) -> Any:
        """SparseGPT's H = 2 X^T X / n_sequences (float32), dead columns set to 1 on the diagonal."""
        if self.xtx is None:
            raise ValueError("these statistics were gathered without the Hessian")
        return hessian_of(self.xtx, self.sequences)

    def operands(self, hd: bool = True) -> dict[str, Any]:
        """X (1 x in), Xs (1 x in), Y (out x 1) and, with ``hd`` and a Hessian, Hd (1 x in); all float32."""
        out = {"X": self.sumsq_in.sqrt().float().unsqueeze(0),
               "Xs": (self.sumsq_in / max(self.sequences, 1)).float().unsqueeze(0),
               "Y": self.sumsq_out.sqrt().unsqueeze(1)}
        if hd and self.xtx is not None:
            out["Hd"] = hd_of(self.xtx, self.sequences)
        return out

    def moments(self) -> dict[str, Any]:
        """{"mean", "var"} of the input columns (1-D, float32)."""
        return {"mean": self.mean, "var": self.var}


@dataclass
class InputStatistics:
    """What the post-mask steps read of the dense model's calibration inputs, per layer (not metric
    operands): the mean and variance of each input column (DSnoT) and the Gram matrix X^T X (OBS, LS)."""

    sequences: int  # calibration windows, one sequence each: SparseGPT's H = 2 X^T X / sequences
    moments: LayerOperands = field(default_factory=dict)  # layer -> {"mean", "var"}
    grams: dict[str, Any] = field(default_factory=dict)  # layer -> X^T X (float32; equal ones may be one tensor)

    def hessian(self, name: str) -> Any:
        """2 X^T X / sequences of one layer (float32, dead columns left at 0)."""
        return hessian_of(self.grams[name], self.sequences, dead_to_one=False)


def damped_inverse(h: Any, percdamp: float = PERCDAMP) -> Any:
    """(H + percdamp * mean(diag H) * I)^-1 through Cholesky, computed in float64."""
    import torch

    h64 = h.double().clone()
    h64.diagonal().add_(percdamp * h64.diagonal().mean())
    return torch.cholesky_inverse(torch.linalg.cholesky(h64))


def inverse_diagonal(h: Any, percdamp: float = PERCDAMP) -> Any:
    """diag of the damped inverse Hessian, float32."""
    return damped_inverse(h, percdamp).diagonal().float()


def hd_of(xtx: Any, sequences: int) -> Any:
    """The operand Hd (1 x in, float32): diag of the damped inverse of SparseGPT's Hessian of X^T X."""
    return inverse_diagonal(hessian_of(xtx, sequences)).unsqueeze(0)


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
        memo.last = memo.sum = memo.sumsq = memo.xtx = None
        for handle in handles:
            handle.remove()


def block_operands(block: Any, layers: list[PrunableLayer], hiddens: list[Any], kwargs_list: list[dict],
                   hessian: bool) -> LayerOperands:
    """X, Xs, Y (and Hd) of one block's layers from the inputs that reach it (sequential mode)."""
    with collecting(layers, hessian) as stats:
        run_block(block, hiddens, kwargs_list)
    return {name: s.operands() for name, s in stats.items()}
