"""Per-occurrence importance scores for the HotSketch: CAFE's default is the gradient norm."""
from __future__ import annotations

import torch
from torch import Tensor


def grad_norm_importance(output: Tensor, valid: Tensor | None = None) -> Tensor:
    """CAFE's score of each looked-up occurrence: the L2 norm of its embedding gradient (last axis of
    ``output.grad``), normalised to mean 1 over the batch's (``valid``) occurrences; 1-D, detached.

    ``output`` is the lookup result with ``retain_grad()`` called before ``backward()``. All-zero
    gradients give all-zero scores (no NaN)."""
    if output.grad is None:
        raise ValueError("the lookup output has no gradient: call retain_grad() on it before backward()")
    norms = output.grad.detach().norm(dim=-1)
    norms = norms[valid] if valid is not None else norms.reshape(-1)
    mean = norms.mean() if norms.numel() else torch.zeros(())
    return norms / mean if float(mean) > 0 else torch.zeros_like(norms)
