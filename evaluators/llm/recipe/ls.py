"""Post-mask step "ls": a closed-form least-squares update of each row's kept weights.

For a row w with kept set K and pruned set P, w'_K = w_K + (H_KK)^-1 H_KP w_P minimises
||(w - w') X||^2 with w'_P = 0, where H = X^T X damped as SparseGPT's (``stats.PERCDAMP`` of the
mean diagonal; the damping pulls w' towards w). Rows that share one mask pattern (structured
masks) share one Cholesky factor; otherwise each row gets its own, in float32 batches of rows with
similar kept counts, chunked to bound memory.

Cost on SmolLM2-135M's down_proj (576 x 1536, 50% per row, 2 CPU cores): see
``benchmarks/llm_baselines/ls_cost.md`` (about the same FLOPs as one Cholesky of a |K| x |K|
matrix per row, so it grows with the cube of the kept count, unlike SparseGPT's OBS pass).
"""
from __future__ import annotations

from typing import Any

from ..stats import PERCDAMP

CHUNK_BYTES = 1 << 27  # per batch of row systems (|K| x |K| float32 each), about 128 MiB


def damped(h: Any, percdamp: float = PERCDAMP) -> Any:
    """H + percdamp * mean(diag H) * I in float32 (identity-scaled when H is zero)."""
    import torch

    h64 = h.double().clone()
    mean = float(h64.diagonal().mean())
    h64.diagonal().add_(percdamp * mean if mean > 0 else 1.0)
    return h64.float()


def ls_update(weight: Any, hessian: Any, keep: Any, percdamp: float = PERCDAMP,
              chunk_bytes: int = CHUNK_BYTES) -> Any:
    """A new float32 (out x in) weight: zero outside ``keep``, kept weights updated by least squares."""
    import torch

    w = weight.detach().float()
    keep = keep.to(w.device, torch.bool)
    h = damped(hessian.to(w.device), percdamp)
    rhs = (w * ~keep) @ h  # row r: H (w_r on P, 0 on K); its entries on K are H_KP w_P
    patterns, inverse = torch.unique(keep, dim=0, return_inverse=True)
    out = w * keep
    if 2 * patterns.shape[0] <= keep.shape[0]:  # structured masks: one factor per pattern
        for p in range(patterns.shape[0]):
            rows = (inverse == p).nonzero().squeeze(1)
            kept = patterns[p].nonzero().squeeze(1)
            if kept.numel() == 0:
                continue
            factor, info = torch.linalg.cholesky_ex(h[kept][:, kept])
            if int(info) == 0:
                out[rows[:, None], kept] += torch.cholesky_solve(rhs[rows][:, kept].t(), factor).t()
        return out
    counts = keep.sum(1)
    order = torch.argsort(counts, stable=True)  # similar counts together: little padding
    kmax = int(counts.max())
    size = max(1, chunk_bytes // max(4 * kmax * kmax, 1))
    for start in range(0, order.numel(), size):
        rows = order[start:start + size]
        out[rows] = _solve_rows(keep[rows], rhs[rows], h, out[rows])
    return out


def _solve_rows(keep: Any, rhs: Any, h: Any, out: Any) -> Any:
    """Rows of ``out`` with their kept weights updated: one padded |K| x |K| system per row."""
    import torch

    counts = keep.sum(1)
    kmax = int(counts.max())
    if kmax == 0:
        return out
    idx = torch.sort((~keep).to(torch.uint8), dim=1, stable=True).indices[:, :kmax]  # kept columns first
    valid = torch.arange(kmax, device=h.device).unsqueeze(0) < counts.unsqueeze(1)
    pair = valid.unsqueeze(2) & valid.unsqueeze(1)
    a = torch.where(pair, h[idx.unsqueeze(2), idx.unsqueeze(1)], torch.zeros((), device=h.device))
    a.diagonal(dim1=1, dim2=2).add_((~valid).float())  # padding: identity rows, zero right-hand side
    b = torch.where(valid, rhs.gather(1, idx), torch.zeros((), device=h.device))
    factor, info = torch.linalg.cholesky_ex(a)
    z = torch.cholesky_solve(b.unsqueeze(2), factor).squeeze(2)
    z = torch.where(valid & (info == 0).unsqueeze(1), z, torch.zeros((), device=h.device))
    return out.scatter_add(1, idx, z)
