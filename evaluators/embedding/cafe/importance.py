"""Per-occurrence importance scores for the HotSketch: CAFE's gradient norm and plain counting.

An importance source is a built-in name (``IMPORTANCE``) or a metric formula over the occurrence
operands (``evaluators.embedding.cafe.metric_importance``)."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Importance = Callable[[Tensor, Tensor], Tensor]


def grad_norm_importance(output: Tensor, valid: Tensor | None = None) -> Tensor:
    """CAFE's score of each looked-up occurrence: the L2 norm of its embedding gradient (last axis of
    ``output.grad``), normalised to mean 1 over the batch's (``valid``) occurrences; 1-D, detached.

    ``output`` is the lookup result with ``retain_grad()`` called before ``backward()``. All-zero
    gradients give all-zero scores (no NaN)."""
    if output.grad is None:
        raise ValueError("the lookup output has no gradient: call retain_grad() on it before backward()")
    norms = output.grad.detach().norm(dim=-1)
    norms = norms[valid] if valid is not None else norms.reshape(-1)
    return mean_one(norms)


def unit_importance(output: Tensor, valid: Tensor) -> Tensor:
    """Score 1 per valid occurrence, so the sketch counts occurrences (frequency) instead of gradients."""
    return torch.ones(int(valid.sum()), dtype=output.dtype)


def mean_one(values: Tensor) -> Tensor:
    """Non-negative values divided by their mean (all zeros, or empty, stay as they are); the mean is
    taken in float64 so large finite values do not overflow it."""
    mean = values.double().mean() if values.numel() else torch.zeros((), dtype=torch.float64)
    return (values.double() / mean).to(values.dtype) if float(mean) > 0 else torch.zeros_like(values)


IMPORTANCE: dict[str, Importance] = {"grad-norm": grad_norm_importance, "frequency": unit_importance}
