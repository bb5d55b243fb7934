"""Post-mask step "swap": greedy prune-and-grow swaps that lower each row's exact output error.

A row w with pruned set P removes the output d X, d = w on P and 0 elsewhere, whose energy on the
calibration inputs is e = d H d^T (H = X^T X up to scale). Each round, every row regrows the pruned
weight j whose return lowers e most on its own (w_j^2 H_jj - 2 w_j (H d)_j) and prunes in exchange
the kept weight k that, given j, raises it least (w_k^2 H_kk + 2 w_k (H d)_k - 2 w_j w_k H_jk); the
pair is swapped only when e falls, and a row stops at its first round without such a pair. No
weight changes value and every row keeps as many weights (with ``block`` = M of an N:M pattern, k is
taken from j's block, so the pattern holds). Unlike DSnoT, which balances the mean of the removed
output, this reads the whole H, so correlated inputs are accounted for.

Cost: per round, about six passes over the active rows (two scores, two argmins, two gathered rows
of H); which weights may move is kept as +inf in two score bases updated per swap, not masked per
round. Rows drop out as they settle and the working set is compacted when it halves. H d is
refreshed exactly every ``REFRESH`` rounds, so its rank-one updates do not drift. On SmolLM2-135M's
down_proj at 50% per row (``benchmarks/llm_baselines/post_cost.md``) it takes about 1.6 times
SparseGPT's OBS update of the same mask and leaves an output error of 0.049 of the dense output,
against OBS's 0.074 with its weight update and 0.117 for Wanda's mask alone.
"""
from __future__ import annotations

from typing import Any

REFRESH = 64  # rounds between exact recomputations of H d
TOLERANCE = 1e-6  # a swap must lower a row's error by this fraction of it


def swap_refine(weight: Any, hessian: Any, keep: Any, block: int = 0, max_rounds: int | None = None,
                tolerance: float = TOLERANCE) -> Any:
    """A refined keep-mask of an (out x in) weight from the (in x in) H of its inputs: greedy swaps,
    each lowering its row's d H d^T; the same number kept in every row (and in every ``block`` of
    columns when ``block`` > 0). At most ``max_rounds`` swaps per row (default: in)."""
    import torch

    w = weight.detach().float()
    keep = keep.to(w.device, torch.bool).clone()
    h = hessian.to(w.device).float()
    rows_total, width = w.shape
    if block and width % block:
        raise ValueError(f"swap blocks of {block} columns do not divide {width} columns")
    rounds = width if max_rounds is None else max_rounds
    wsq = w * w * h.diagonal().unsqueeze(0)
    inf = torch.tensor(torch.inf, device=w.device)
    # w_j^2 H_jj where a weight may move (restored if pruned, pruned if kept), inf where it may not:
    # adding 2 w (H d) terms to these gives every candidate's change of e in one pass
    restorable = torch.where(keep, inf, wsq)
    prunable = torch.where(keep, wsq, inf)
    within = torch.arange(block, device=w.device) if block else None
    idx = torch.arange(rows_total, device=w.device)  # the working set: rows that may still swap
    wa, twice, ka = w, 2 * w, keep.clone()
    live = torch.ones(rows_total, dtype=torch.bool, device=w.device)
    for step in range(rounds):
        if step % REFRESH == 0:
            removed = torch.where(ka, 0.0, wa)
            hd = removed @ h
            error = (removed * hd).sum(dim=1)
        gain = torch.addcmul(restorable, twice, hd, value=-1)  # restore j: its change of e
        j = gain.argmin(dim=1)
        wj = wa.gather(1, j.unsqueeze(1))
        shift = h.index_select(0, j).mul_(wj)  # w_j H_j.: what restoring j takes off H d
        if within is None:
            cost = torch.addcmul(prunable, twice, hd - shift)  # prune k after restoring j: its change of e
            k = cost.argmin(dim=1)
            best = cost.gather(1, k.unsqueeze(1)).squeeze(1)
        else:  # k from j's block of M columns only
            cols = (j // block * block).unsqueeze(1) + within
            cost = torch.addcmul(prunable.gather(1, cols), twice.gather(1, cols), hd.gather(1, cols) - shift.gather(1, cols))
            pick = cost.argmin(dim=1)
            k = cols.gather(1, pick.unsqueeze(1)).squeeze(1)
            best = cost.gather(1, pick.unsqueeze(1)).squeeze(1)
        delta = gain.gather(1, j.unsqueeze(1)).squeeze(1) + best
        ok = live & (delta < -tolerance * error.clamp_min(0))
        live = ok
        if not bool(ok.any()):
            break
        rows = ok.nonzero().squeeze(1)
        jr, kr = j[rows], k[rows]
        ka[rows, jr], ka[rows, kr] = True, False
        restorable[rows, jr], prunable[rows, jr] = inf, wsq[idx[rows], jr]
        restorable[rows, kr], prunable[rows, kr] = wsq[idx[rows], kr], inf
        wk = wa.gather(1, k.unsqueeze(1))
        hd.index_add_(0, rows, h.index_select(0, kr).mul_(wk[rows]).sub_(shift[rows]))
        error = error + torch.where(ok, delta, torch.zeros((), device=w.device))
        if 2 * int(rows.numel()) <= idx.numel():  # compact: keep only the rows still swapping
            keep[idx] = ka
            idx, wa, twice, ka, restorable, prunable, hd, error = (
                idx[rows], wa[rows], twice[rows], ka[rows], restorable[rows], prunable[rows], hd[rows], error[rows])
            live = torch.ones(idx.numel(), dtype=torch.bool, device=w.device)
    keep[idx] = ka
    return keep
