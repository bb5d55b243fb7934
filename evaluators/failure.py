"""The one failure rule every task applies around a candidate (with ``Fitness.guarded``): its operands
are ones the task provides, its scores are finite and rank something, and the weights it pruned are
restored bit for bit afterwards. Each check raises ``evaluators.base.ScoreError`` with the reason."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from evaluators.base import ScoreError

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["ScoreError", "check_operands", "check_scores", "restore", "snapshot"]


def check_operands(used: Iterable[str], available: Iterable[str], task: str, need_one: bool = False) -> None:
    """ScoreError naming the operands a metric uses that ``task`` does not provide (or, with
    ``need_one``, that it uses none, so its scores could not differ)."""
    used, available = list(used), list(available)
    missing = [op for op in used if op not in available]
    if missing:
        raise ScoreError(f"operand(s) {', '.join(missing)} not provided by {task} (available: {', '.join(available)})")
    if need_one and not used:
        raise ScoreError(f"operand(s) none: a metric on {task} must use some of {', '.join(available)}")


def check_scores(where: str, scores: Tensor, low: Tensor | None = None, high: Tensor | None = None,
                 group: str | None = "layer") -> None:
    """ScoreError when ``scores`` are not finite or, unless ``group`` is None, equal within every
    comparison group. ``low``/``high``: each group's min and max (default: the whole tensor's)."""
    import torch

    if low is None or high is None:
        low, high = torch.aminmax(scores.float().reshape(-1)) if scores.numel() else (scores, scores)
    if not bool(torch.isfinite(low).all() & torch.isfinite(high).all()):
        nan, inf = int(torch.isnan(scores).sum()), int(torch.isinf(scores).sum())
        raise ScoreError(f"{where}: non-finite scores ({nan} NaN, {inf} inf of {scores.numel()})")
    if group is not None and scores.numel() > 1 and bool((low == high).all()):
        raise ScoreError(f"{where}: constant scores within every {group} group")


def snapshot(tensors: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A detached copy of each named tensor (weights, a state dict) to restore from."""
    return {name: t.detach().clone() for name, t in tensors.items()}


def restore(tensors: Mapping[str, Any], saved: Mapping[str, Tensor]) -> None:
    """Copy the saved values back into the named tensors in place, bit for bit."""
    import torch

    with torch.no_grad():
        for name, t in tensors.items():
            t.copy_(saved[name])
