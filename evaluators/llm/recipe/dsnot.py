"""DSnoT (Zhang et al., ICLR 2024): training-free prune-and-grow swaps inside each row of a mask.

A row's expected reconstruction error is e = sum over its pruned weights of w_j * E[x_j] (the
output the mask removes, on average over calibration tokens). Each cycle, a row with |e| above a
threshold regrows the pruned weight that best cancels e (largest w_j E[x_j] / Var[x_j] of e's
sign) and prunes, in exchange, the kept weight of opposite contribution with the lowest score;
the swap is made only when it lowers |e|, and a row stops at its first swap that would not.
No weight changes value and the row's count of kept weights is unchanged.
"""
from __future__ import annotations

from typing import Any

MAX_CYCLES = 50
THRESHOLD = 0.1
VAR_POWER = 1.0
SKIP = ("mlp.",)  # the authors' default refines attention layers only


def _ordered(values: Any, valid: Any, descending: bool) -> tuple[Any, Any]:
    """Per row: column indices of the valid entries sorted by value (invalid ones last), and their count."""
    import torch

    fill = float("-inf") if descending else float("inf")
    order = torch.sort(values.masked_fill(~valid, fill), dim=1, descending=descending, stable=True).indices
    return order, valid.sum(dim=1)


def _take(order: Any, count: Any, pointer: Any) -> tuple[Any, Any]:
    """The column at each row's pointer in its list, and whether the pointer is still inside the list."""
    inside = pointer < count
    column = order.gather(1, pointer.clamp(max=order.shape[1] - 1).unsqueeze(1)).squeeze(1)
    return column, inside


def dsnot_refine(weight: Any, keep: Any, mean: Any, var: Any, scores: Any, max_cycles: int = MAX_CYCLES,
                 threshold: float = THRESHOLD, var_power: float = VAR_POWER) -> Any:
    """A refined keep-mask of an (out x in) weight: DSnoT's swaps from the input means and variances
    (1-D, in) and the metric's scores (lowest pruned first); the same number kept in every row."""
    import torch

    w, keep = weight.detach().float(), keep.clone().bool()
    contrib = w * mean.float().reshape(1, -1)
    error = (contrib * ~keep).sum(dim=1)
    growth = contrib / var.float().clamp_min(1e-12).reshape(1, -1) ** var_power
    rows = torch.arange(w.shape[0], device=w.device)
    lists = {  # (order, count): pruned to regrow by sign of e, kept to prune by sign of their contribution
        ("grow", True): _ordered(growth, ~keep & (contrib > 0), descending=True),
        ("grow", False): _ordered(growth, ~keep & (contrib < 0), descending=False),
        ("prune", True): _ordered(scores.float(), keep & (contrib < 0), descending=False),
        ("prune", False): _ordered(scores.float(), keep & (contrib > 0), descending=False),
    }
    pointers = {key: torch.zeros_like(rows) for key in lists}
    active = torch.ones_like(rows, dtype=torch.bool)
    for _ in range(max_cycles):
        active &= error.abs() > threshold
        if not bool(active.any()):
            break
        positive = error > 0
        grow = torch.zeros_like(rows)
        cut = torch.zeros_like(rows)
        ok = active.clone()
        for sign in (True, False):
            side = positive == sign
            g, g_in = _take(*lists[("grow", sign)], pointers[("grow", sign)])
            p, p_in = _take(*lists[("prune", sign)], pointers[("prune", sign)])
            grow = torch.where(side, g, grow)
            cut = torch.where(side, p, cut)
            ok &= ~side | (g_in & p_in)
        after = error + contrib[rows, cut] - contrib[rows, grow]
        ok &= after.abs() < error.abs()
        active &= ok
        keep[rows[ok], grow[ok]] = True
        keep[rows[ok], cut[ok]] = False
        error = torch.where(ok, after, error)
        for sign in (True, False):
            step = (ok & (positive == sign)).long()
            pointers[("grow", sign)] += step
            pointers[("prune", sign)] += step
    return keep


def refines(layer_name: str, skip: tuple[str, ...] = SKIP) -> bool:
    """Whether DSnoT refines a layer (the authors skip the MLP layers by default)."""
    return not any(part in layer_name for part in skip)
