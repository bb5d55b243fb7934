"""Post-mask step "ls": a closed-form least-squares update of each row's kept weights.

For a row w with kept set K and pruned set P, w'_K = w_K + (H_KK)^-1 H_KP w_P minimises
||(w - w') X||^2 with w'_P = 0, where H = X^T X damped as SparseGPT's (``stats.PERCDAMP`` of the
mean diagonal; the damping pulls w' towards w). The same solution is w' = w - H^-1[:, P]
((H^-1)_PP)^-1 w_P (OBS's form for several weights at once), so each row solves the smaller of a
|K| x |K| and a |P| x |P| system. Rows that share one mask pattern (structured masks) share one
factorisation; otherwise each row gets its own system, solved in float32 batches of rows with
similar sizes, chunked to bound memory. The batches are solved by LU
(``torch.linalg.solve_ex``): per 288 x 288 system 0.59 ms on one thread (Cholesky: 0.40 ms) but
0.74 ms on two, where MKL's batched Cholesky takes 7.5 ms.

Cost (``benchmarks/llm_baselines/post_cost.md``, one SmolLM2-135M layer, one CPU thread, the steps
timed side by side): down_proj (576 x 1536) per row at 50% takes about 24 times SparseGPT's OBS
update of the same mask, 7 to 9 times at 30% and 70%; up_proj (1536 x 576) at 50% about 33 times.
The work is rows x min(|K|, |P|)^3 (the exact solve, near the core's float32 peak), the most at 50%.
In exchange the output error ||(W - W') X|| / ||W X|| of down_proj at 50% is 0.010 against OBS's
0.074 (masks alone: 0.117).
"""
from __future__ import annotations

from typing import Any

from ..stats import PERCDAMP

CHUNK_BYTES = 1 << 27  # per batch of row systems (float32), about 128 MiB


def damped(h: Any, percdamp: float = PERCDAMP) -> Any:
    """H + percdamp * mean(diag H) * I in float64 (identity-scaled when H is zero)."""
    h64 = h.double().clone()
    mean = float(h64.diagonal().mean())
    h64.diagonal().add_(percdamp * mean if mean > 0 else 1.0)
    return h64


def ls_update(weight: Any, hessian: Any, keep: Any, percdamp: float = PERCDAMP,
              chunk_bytes: int = CHUNK_BYTES) -> Any:
    """A new float32 (out x in) weight: zero outside ``keep``, kept weights updated by least squares."""
    import torch

    w = weight.detach().float()
    keep = keep.to(w.device, torch.bool)
    h64 = damped(hessian.to(w.device), percdamp)
    h = h64.float()
    patterns, inverse = torch.unique(keep, dim=0, return_inverse=True)
    out = w * keep
    if 2 * patterns.shape[0] <= keep.shape[0]:  # structured masks: one factor per pattern
        rhs = (w * ~keep) @ h  # row r: H (w_r on P, 0 on K); its entries on K are H_KP w_P
        for p in range(patterns.shape[0]):
            rows = (inverse == p).nonzero().squeeze(1)
            kept = patterns[p].nonzero().squeeze(1)
            if kept.numel() == 0:
                continue
            z, info = torch.linalg.solve_ex(h[kept][:, kept], rhs[rows][:, kept].t())
            if int(info) == 0:
                out[rows[:, None], kept] += z.t()
        return out
    counts = keep.sum(1)
    by_kept = counts <= keep.shape[1] - counts
    if bool(by_kept.any()):  # w'_K = w_K + (H_KK)^-1 (H (w on P))_K
        rows = by_kept.nonzero().squeeze(1)
        rhs = (w[rows] * ~keep[rows]) @ h
        out[rows] += _batched(keep[rows], h, rhs, chunk_bytes)
    if not bool(by_kept.all()):  # w' = w - H^-1 y, y on P = ((H^-1)_PP)^-1 w_P
        rows = (~by_kept).nonzero().squeeze(1)
        hinv = torch.cholesky_inverse(torch.linalg.cholesky(h64)).float()
        y = _batched(~keep[rows], hinv, w[rows] * ~keep[rows], chunk_bytes)
        out[rows] = (w[rows] - y @ hinv) * keep[rows]
    return out


def _batched(sel: Any, m: Any, rhs: Any, chunk_bytes: int) -> Any:
    """Per row r: z_r = (M restricted to sel_r)^-1 (rhs_r on sel_r), zero off sel_r; rows in float32
    batches of similar selection sizes (padded with identity rows), chunked to ``chunk_bytes``."""
    import torch

    counts = sel.sum(1)
    order = torch.argsort(counts, stable=True)  # similar sizes together: little padding
    size = max(1, chunk_bytes // max(4 * int(counts.max()) ** 2, 1))
    z = torch.zeros_like(rhs)
    for start in range(0, order.numel(), size):
        rows = order[start:start + size]
        z[rows] = _solve(sel[rows], m, rhs[rows])
    return z


def _solve(sel: Any, m: Any, rhs: Any) -> Any:
    """One padded system per row over its selected columns, solved by batched LU."""
    import torch

    counts = sel.sum(1)
    kmax = int(counts.max())
    z = torch.zeros_like(rhs)
    if kmax == 0:
        return z
    idx = torch.sort((~sel).to(torch.uint8), dim=1, stable=True).indices[:, :kmax]  # selected columns first
    valid = torch.arange(kmax, device=m.device).unsqueeze(0) < counts.unsqueeze(1)
    pair = valid.unsqueeze(2) & valid.unsqueeze(1)
    a = torch.where(pair, m[idx.unsqueeze(2), idx.unsqueeze(1)], torch.zeros((), device=m.device))
    a.diagonal(dim1=1, dim2=2).add_((~valid).float())  # padding: identity rows, zero right-hand side
    b = torch.where(valid, rhs.gather(1, idx), torch.zeros((), device=m.device))
    x, info = torch.linalg.solve_ex(a, b.unsqueeze(2))
    x = torch.where(valid & (info == 0).unsqueeze(1), x.squeeze(2), torch.zeros((), device=m.device))
    return z.scatter_add(1, idx, x)
