"""Protected torch implementations of the operators (Pruner-Zero's protections).

Each operator is one small top-level function ``op_<name>``; the Python exporter copies these
functions' source into exported code, so this file is the single implementation.
"""
from __future__ import annotations

from typing import Callable

import torch

EPS = 1e-12


def op_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x + y


def op_sub(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x - y


def op_mul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x * y


def op_div(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x / torch.linalg.vector_norm(y).clamp_min(EPS)


def op_sdiv(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    floor = torch.where(y < 0, -1e-8, 1e-8)
    return x / torch.where(y.abs() < 1e-8, floor, y)


def op_neg(x: torch.Tensor) -> torch.Tensor:
    return -x


def op_abs(x: torch.Tensor) -> torch.Tensor:
    return x.abs()


def op_sqr(x: torch.Tensor) -> torch.Tensor:
    return x * x


def op_sqrt(x: torch.Tensor) -> torch.Tensor:
    return x.abs().sqrt()


def op_log(x: torch.Tensor) -> torch.Tensor:
    return torch.log(x.abs() + 1e-3)


def op_exp(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x.clamp(max=80.0))


def op_tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x)


def op_mms(x: torch.Tensor) -> torch.Tensor:
    low, high = x.min(), x.max()
    return (x - low) / (high - low).clamp_min(EPS)


def op_zsn(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean()) / x.std(unbiased=False).clamp_min(EPS)


def op_colsum(x: torch.Tensor) -> torch.Tensor:
    return x.sum(dim=0, keepdim=True) if x.dim() == 2 else x


def op_rowsum(x: torch.Tensor) -> torch.Tensor:
    return x.sum(dim=-1, keepdim=True) if x.dim() == 2 else x


def op_pow(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    exponent = float(c)
    return x.pow(exponent) if exponent.is_integer() else x.abs().pow(exponent)


TORCH_OPS: dict[str, Callable[..., torch.Tensor]] = {
    name[3:]: fn for name, fn in list(globals().items()) if name.startswith("op_") and callable(fn)
}
