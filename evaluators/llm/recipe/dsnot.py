"""DSnoT (Zhang et al., ICLR 2024): training-free prune-and-grow swaps inside each row of a mask.

A row's expected reconstruction error is e = sum over its pruned weights of w_j * E[x_j] (the
output the mask removes, on average over calibration tokens). Each cycle, a row with |e| above a
threshold regrows the pruned weight that best cancels e (largest w_j E[x_j] / Var[x_j] of e's
sign) and prunes, in exchange, the kept weight of opposite contribution with the lowest score;
the swap is made only when it lowers |e|, and a row stops at its first swap that would not.
No weight changes value and the row's count of kept weights is unchanged.
"""
from __future__ import annotations

import math
from typing import Any

MAX_CYCLES = 50
THRESHOLD = 0.1
VAR_POWER = 1.0
SKIP = ("mlp.",)  # the authors' default refines attention layers only
_COLUMN_BITS = 20  # a stable sort key packs the column into the low bits of an int64


def _stable_argsort(keys: Any) -> Any:
    """Per row of a float32 matrix: the columns by ascending key, ties by column (a stable argsort).
    On the CPU each entry becomes one distinct int64, its key's order bits then its column, sorted by
    numpy's vectorised sort: the same order, several times faster than torch's stable sort."""
    import numpy as np
    import torch

    if keys.device.type != "cpu" or keys.dtype != torch.float32 or keys.shape[1] >= 1 << _COLUMN_BITS:
        return torch.sort(keys, dim=1, stable=True).indices
    bits = (keys.detach() + 0.0).numpy().view(np.int32).astype(np.int64)  # + 0.0: -0 sorts as +0
    ordered = np.where(bits < 0, bits ^ 0x7FFFFFFF, bits) + (1 << 31)  # in [0, 2^32), monotone in the key
    packed = np.sort((ordered << _COLUMN_BITS) | np.arange(keys.shape[1], dtype=np.int64), axis=1)
    return torch.from_numpy(packed & ((1 << _COLUMN_BITS) - 1))


def _columns(within: Any) -> Any:
    """The columns of each row's True entries, ascending (rows x count): every row has as many."""
    import numpy as np
    import torch

    if within.device.type == "cpu":  # numpy's flat nonzero: several times faster than torch's 2-D one
        flat = torch.from_numpy(np.flatnonzero(within.numpy()))
    else:
        flat = within.reshape(-1).nonzero().squeeze(1)
    return (flat % within.shape[1]).view(within.shape[0], -1)


def _ordered(keys: Any, member: Any, within: Any) -> Any:
    """Per row: the ``member`` columns sorted by key (ascending, ties by column), then the rest. When
    every row has as many ``within`` columns (a superset of the members: a row mask's pruned or kept
    entries), only those are sorted."""
    import torch

    filled = torch.where(member, keys.float(), math.inf)
    counts = within.sum(dim=1)
    if within.shape[0] and int(counts[0]) > 0 and bool((counts == counts[0]).all()):
        cols = _columns(within)
        return cols.gather(1, _stable_argsort(filled.gather(1, cols)))
    return _stable_argsort(filled)


def _split(order: Any, member: Any, first: Any) -> tuple[Any, Any]:
    """Each row's list of members reordered, keeping the order inside each part: the ``first`` members,
    then the others; with the count of the first part."""
    import torch

    position = torch.arange(order.shape[1], device=order.device).unsqueeze(0)
    listed = position < member.sum(dim=1, keepdim=True)
    front = first.gather(1, order) & listed
    back = listed & ~front
    ahead = front.sum(dim=1, keepdim=True)
    place = torch.where(front, front.cumsum(dim=1) - 1, torch.where(back, ahead + back.cumsum(dim=1) - 1, position))
    return torch.empty_like(order).scatter_(1, place, order), ahead.squeeze(1)


def _take(order: Any, start: Any, count: Any, pointer: Any) -> tuple[Any, Any]:
    """The column at each row's pointer in its list (``count`` entries of ``order`` from ``start``),
    and whether the pointer is still inside the list."""
    inside = pointer < count
    column = order.gather(1, (start + pointer).clamp(max=order.shape[1] - 1).unsqueeze(1)).squeeze(1)
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
    # (order, start, count) per list. Regrow, for e > 0, pruned weights of positive contribution by
    # growth descending, for e < 0 negative ones by growth ascending: both by |growth| descending.
    # Prune, for e > 0, kept weights of negative contribution by score ascending, for e < 0 positive ones.
    lists = {}
    for kind, keys, within, front in (("grow", -growth.abs(), ~keep, contrib > 0),
                                      ("prune", scores.float(), keep, contrib < 0)):
        member = within & (contrib != 0)
        order, ahead = _split(_ordered(keys, member, within), member, front)
        lists[kind, True] = (order, torch.zeros_like(ahead), ahead)
        lists[kind, False] = (order, ahead, member.sum(dim=1) - ahead)
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
