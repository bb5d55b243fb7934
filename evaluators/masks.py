"""Scores to keep-masks (True = keep) at an exact sparsity, for one comparison group.

Groups (the text form a task's ``granularity`` setting uses):

- ``"row"``: in each output row, prune exactly ``round(sparsity * in)`` lowest scores (Wanda);
- ``"layer"``: prune exactly ``round(sparsity * numel)`` lowest scores of the matrix;
- ``"N:M"`` (``"2:4"``, ``"4:8"``): among every M consecutive inputs of each row, prune the N
  lowest; the sparsity is then fixed at N/M, and a ``sparsity`` argument must equal it;
- ``"global"``: one threshold over all layers (``global_keep_masks``).

``round`` is Python's (half to even), as in ``torch.nn.utils.prune``. Ties are broken by flat
index: among equal scores the one with the lower index (row-major within the group, layers in
mapping order for ``global``) is pruned first, so a mask is exact and reproducible even when
many scores are equal (dequantised weights). NaN scores raise ``ValueError``; ``inf`` is ordered
like any other value.

Degenerate scores fail instead of letting position decide: when the scores are tied so widely
that more than ``TIE_LIMIT`` (half) of a mask's entries are kept or pruned by position (they
sit in a run of equal scores that the threshold splits) (constant scores, ``rowsum(abs(W))`` within a row), masking raises
``TiedScoresError`` ("ties decide N% of the mask"). Every task's masking goes through
``_prune_lowest_rows`` / ``_prune_lowest_flat`` (also for granularity groups), so a search gives
such a candidate a failed fitness with that reason. ``with allow_ties():`` makes masks whatever
the ties (a deliberately tied score, tests of the tie order).

Implementation: a selection (numpy's introselect on the CPU, ``kthvalue`` elsewhere; several
times faster than ``kthvalue`` on the CPU) finds each group's threshold, everything strictly
below it is pruned, then the first few entries equal to it; this is the same mask as a stable
sort by (score, index), without sorting. When no threshold is tied, the mask is one comparison.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["TIE_LIMIT", "Group", "TiedScoresError", "allow_ties", "check_sparsity", "global_keep_masks",
           "keep_mask", "masked", "parse_group", "zero_pruned"]

TIE_LIMIT = 0.5  # most of a mask chosen by position: the scores do not rank the weights
_tie_limit: contextvars.ContextVar[float | None] = contextvars.ContextVar("tie_limit", default=TIE_LIMIT)


@contextlib.contextmanager
def allow_ties() -> Iterator[None]:
    """Inside the block, masks are made however widely the scores tie (position decides)."""
    token = _tie_limit.set(None)
    try:
        yield
    finally:
        _tie_limit.reset(token)


class TiedScoresError(ValueError):
    """Scores so widely tied that position, not the metric, decides most of the mask."""


def check_ties(by_position: int, total: int) -> None:
    """Raise TiedScoresError when more than TIE_LIMIT of a mask's entries were decided by position."""
    tie_limit = _tie_limit.get()
    if tie_limit is None or total <= 0 or by_position <= tie_limit * total:
        return
    raise TiedScoresError(f"ties decide {100.0 * by_position / total:.0f}% of the mask "
                          f"(limit {100.0 * tie_limit:.0f}%): the scores are constant or nearly all equal "
                          "inside the comparison groups")

_KINDS = ("row", "layer", "global")
_NM = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")


@dataclass(frozen=True)
class Group:
    """A parsed comparison group: kind "row", "layer", "global" or "nm" (with n of every m pruned)."""

    kind: str
    n: int = 0
    m: int = 0

    def __str__(self) -> str:
        """The canonical text form ("row", "2:4", ...)."""
        return f"{self.n}:{self.m}" if self.kind == "nm" else self.kind

    @property
    def sparsity(self) -> float | None:
        """The fixed sparsity N/M of an N:M group, None for the others."""
        return self.n / self.m if self.kind == "nm" else None


def parse_group(text: str | Group) -> Group:
    """Parse "row", "layer", "global" or "N:M" (1 <= N < M) into a Group; ValueError otherwise."""
    if isinstance(text, Group):
        return text
    if not isinstance(text, str):
        # ValueError like every other bad group, so config validation catches one type
        raise ValueError(f"group must be a string such as 'row', 'layer', 'global' or '2:4', got {text!r}")  # noqa: TRY004
    word = text.strip().lower()
    if word in _KINDS:
        return Group(word)
    match = _NM.match(word)
    if match is None:
        raise ValueError(f"unknown group {text!r}: expected 'row', 'layer', 'global' or 'N:M' such as '2:4'")
    n, m = int(match.group(1)), int(match.group(2))
    if not 1 <= n < m:
        raise ValueError(f"bad N:M group {text!r}: need 1 <= N < M (N pruned out of every M)")
    return Group("nm", n, m)


def check_sparsity(sparsity: float, group: str | Group | None = None) -> float:
    """Return sparsity as a float in [0, 1), and for an N:M group check that it equals N/M."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)):
        raise ValueError(f"sparsity must be a number in [0, 1), got {sparsity!r}")  # noqa: TRY004
    value = float(sparsity)
    if not 0.0 <= value < 1.0:  # also rejects NaN
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    if group is not None:
        parsed = parse_group(group)
        if parsed.kind == "nm" and not math.isclose(value, parsed.n / parsed.m, rel_tol=0, abs_tol=1e-9):
            raise ValueError(
                f"group {parsed} prunes {parsed.n} of every {parsed.m} (sparsity {parsed.n / parsed.m:g}), "
                f"but sparsity {value:g} was asked for"
            )
    return value


def _check_scores(scores: Tensor, what: str = "scores") -> Tensor:
    """Reject NaN and non-real dtypes; widen half precision so kthvalue works on every device."""
    if not isinstance(scores, Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(scores).__name__}")
    if scores.dtype == torch.bool or scores.is_complex():
        raise ValueError(f"{what} must be real numbers, got dtype {scores.dtype}")
    if scores.is_floating_point() and torch.isnan(scores.sum()):  # one reduction; NaN also from inf - inf
        nan = torch.isnan(scores)
        if bool(nan.any()):
            raise ValueError(f"{what} contain NaN ({int(nan.sum())} of {scores.numel()} entries)")
    if scores.dtype in (torch.float16, torch.bfloat16):
        scores = scores.float()
    return scores


def _kth_smallest(values: Tensor, k: int) -> tuple[Tensor, bool]:
    """The k-th smallest (1-based) of each row of a 2-D tensor, as a column (rows x 1), and whether
    every row's k lowest are exactly its entries <= that value (False also when it is not known)."""
    if values.device.type == "cpu" and values.dtype in (torch.float32, torch.float64) and values.shape[1] >= 64:
        import numpy as np

        rows = np.partition(values.numpy(), k - 1, axis=1)  # introselect: O(n) per row, no sort
        kth = rows[:, k - 1:k]
        # the kept entries all sit right of the k-th: their smallest above it means no tie at the
        # threshold (NaN compares False, so a NaN row takes the exact path)
        exact = k == rows.shape[1] or bool((rows[:, k:].min(axis=1, keepdims=True) > kth).all())
        return torch.from_numpy(np.ascontiguousarray(kth)), exact
    return values.kthvalue(k, dim=1, keepdim=True).values, False


def _prune_lowest_narrow(rows: Tensor, k: int) -> Tensor:
    """``_prune_lowest_rows`` for a few columns (N:M blocks): each entry's place in its row from
    pairwise comparisons of the columns (two to three times faster than a selection for rows of 4)."""
    cols = rows.unbind(1)
    zero = torch.zeros_like(cols[0], dtype=torch.uint8)
    lower = [zero.clone() for _ in cols]  # per column: entries of its row below it
    equal = [zero.clone() for _ in cols]  # entries equal to it (itself excluded)
    equal_left = [zero.clone() for _ in cols]  # of those, the ones left of it: they are pruned first
    for i, ci in enumerate(cols):
        for j in range(i + 1, len(cols)):
            below, above = cols[j] < ci, ci < cols[j]
            same = ~(below | above)
            lower[i] += below
            lower[j] += above
            equal[i] += same
            equal[j] += same
            equal_left[j] += same
    by_position = 0
    for i in range(len(cols)):
        if bool(equal[i].any()):  # a run of equal scores holding places k-1 and k: position decides
            by_position += int(((lower[i] < k) & (lower[i] + equal[i] >= k)).sum())
    check_ties(by_position, rows.numel())
    return torch.stack([lower[i] + equal_left[i] >= k for i in range(len(cols))], dim=1)


def _prune_lowest_rows(rows: Tensor, k: int) -> Tensor:
    """Keep-mask of a 2-D tensor pruning the k lowest of every row, ties pruned by lower column first."""
    if k <= 0 or rows.numel() == 0:
        return torch.ones_like(rows, dtype=torch.bool)
    rows = rows.detach()
    if rows.shape[1] <= 8:
        return _prune_lowest_narrow(rows, k)
    threshold, exact = _kth_smallest(rows, k)
    if exact:  # one comparison: each row's k lowest are exactly its entries <= threshold
        return rows > threshold
    at_most = rows <= threshold
    if bool((at_most.sum(dim=1) == k).all()):  # no row keeps an entry equal to its threshold
        return ~at_most
    below = rows < threshold
    tied = at_most & ~below
    need = k - below.sum(dim=1, keepdim=True)  # in [1, tied count] by the definition of the k-th value
    split = tied.sum(dim=1, keepdim=True) > need  # rows where position chooses among equal scores
    check_ties(int((tied & split).sum()), rows.numel())
    prune = below | (tied & (tied.cumsum(dim=1, dtype=torch.int32) <= need))
    return ~prune


def _prune_lowest_flat(flat: Tensor, k: int) -> Tensor:
    """Keep-mask of a 1-D tensor pruning its k lowest, ties pruned by lower index first."""
    keep = torch.ones_like(flat, dtype=torch.bool)
    if k <= 0 or flat.numel() == 0:
        return keep
    flat = flat.detach()
    threshold = _kth_smallest(flat.view(1, -1), k)[0].view(())
    below = flat < threshold
    need = k - int(below.sum())
    tied_index = torch.nonzero(flat == threshold).squeeze(1)  # ascending flat index
    check_ties(tied_index.numel() if tied_index.numel() > need else 0, flat.numel())
    tied_index = tied_index[:need]
    keep &= ~below
    keep[tied_index] = False
    return keep


def keep_mask(scores: Tensor, sparsity: float, group: str | Group) -> Tensor:
    """Keep-mask (bool, shape of scores) pruning the lowest scores of a 2-D (out x in) tensor per group;
    TiedScoresError when ties decide more than TIE_LIMIT of it."""
    parsed = parse_group(group)
    value = check_sparsity(sparsity, parsed)
    scores = _check_scores(scores)
    if scores.dim() != 2:
        raise ValueError(f"scores must be 2-D (out x in), got shape {tuple(scores.shape)}")
    in_features = scores.shape[1]
    if parsed.kind == "row":
        return _prune_lowest_rows(scores, round(value * in_features))
    if parsed.kind == "layer":
        return _prune_lowest_flat(scores.reshape(-1), round(value * scores.numel())).view(scores.shape)
    if parsed.kind == "nm":
        if in_features % parsed.m != 0:
            raise ValueError(
                f"group {parsed} needs the input size to be a multiple of {parsed.m}, got {in_features}"
            )
        return _prune_lowest_rows(scores.reshape(-1, parsed.m), parsed.n).view(scores.shape)
    raise ValueError("group 'global' spans several layers: use global_keep_masks(scores_by_layer, sparsity)")


def global_keep_masks(scores: Mapping[str, Tensor], sparsity: float) -> dict[str, Tensor]:
    """Keep-masks for several layers under one threshold, pruning exactly round(sparsity * total)."""
    value = check_sparsity(sparsity)
    if not scores:
        return {}
    checked = {name: _check_scores(s, f"scores of {name!r}") for name, s in scores.items()}
    device = next(iter(checked.values())).device
    dtype = functools.reduce(torch.promote_types, (s.dtype for s in checked.values()))
    flat = torch.cat([s.reshape(-1).to(device=device, dtype=dtype) for s in checked.values()])
    keep = _prune_lowest_flat(flat, round(value * flat.numel()))
    parts = keep.split([s.numel() for s in checked.values()])
    return {name: part.view(s.shape).to(s.device) for (name, s), part in zip(checked.items(), parts)}


def _as_factor(keep: Tensor, device: torch.device) -> Tensor:
    """A bool keep-mask as bytes, to multiply by: several times faster on the CPU than multiplying by
    bool (which PyTorch converts element by element first) or ``masked_fill``."""
    keep = keep.to(device)
    return keep.view(torch.uint8) if keep.dtype == torch.bool else keep


def zero_pruned(weight: Tensor, keep: Tensor) -> None:
    """Zero in place the entries of ``weight`` that a bool keep-mask (broadcastable) does not keep
    (the values of ``weight.mul_(keep)``)."""
    weight.mul_(_as_factor(keep, weight.device))


def masked(weight: Tensor, keep: Tensor) -> Tensor:
    """A copy of ``weight`` with the entries a bool keep-mask does not keep set to zero."""
    return weight * _as_factor(keep, weight.device)
