"""The "ls" post-mask step: each row's kept weights by least squares, checked against a direct solve."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm.recipe.ls import ls_update


def _layer(seed: int = 0, out_f: int = 12, in_f: int = 24, tokens: int = 300, rank: int = 8):
    """Inputs with correlated columns (as a model's are: a few directions plus noise) and a weight."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(tokens, rank, generator=gen) @ torch.randn(rank, in_f, generator=gen)
    x = x + 0.3 * torch.randn(tokens, in_f, generator=gen)
    return x, torch.randn(out_f, in_f, generator=gen)


def _lstsq(x, w, keep, damp: float):
    """Row by row: min ||X w - X_K w'_K||^2 + damp ||w_K - w'_K||^2, with torch.linalg.lstsq (float64)."""
    out = torch.zeros_like(w, dtype=torch.float64)
    for r in range(w.shape[0]):
        k = keep[r]
        a = torch.cat([x[:, k], damp ** 0.5 * torch.eye(int(k.sum()))]).double()
        b = torch.cat([x @ w[r], damp ** 0.5 * w[r, k]]).double()
        out[r, k] = torch.linalg.lstsq(a, b.unsqueeze(1)).solution.squeeze(1)
    return out


@pytest.mark.parametrize("percdamp", [0.0, 0.01])
@pytest.mark.parametrize("kind", ["random", "row", "row-30%", "2:4", "columns"])
def test_ls_update_equals_a_direct_least_squares_solve(percdamp: float, kind: str):
    x, w = _layer()
    gen = torch.Generator().manual_seed(1)
    if kind == "random":  # a different kept count in every row
        keep = torch.rand(w.shape, generator=gen) > 0.5
    elif kind.startswith("row"):  # 50% (a |K| system per row) or 30% (a |P| system per row: fewer pruned)
        keep = torch.zeros_like(w, dtype=torch.bool)
        keep.scatter_(1, torch.rand(w.shape, generator=gen).argsort(1)[:, 12 if kind == "row" else 7:], True)
    elif kind == "2:4":
        keep = torch.zeros(w.shape[0], w.shape[1] // 4, 4, dtype=torch.bool)
        keep.scatter_(2, torch.rand(keep.shape, generator=gen).argsort(2)[..., 2:], True)
        keep = keep.reshape(w.shape)
    else:  # whole columns: every row shares one pattern (one factor)
        keep = torch.ones_like(w, dtype=torch.bool)
        keep[:, ::3] = False
    h = x.t() @ x
    new = ls_update(w, h, keep, percdamp=percdamp)
    want = _lstsq(x, w, keep, percdamp * float(h.diagonal().mean()))
    assert float((new.double() - want).norm() / want.norm()) < 1e-4
    assert bool((new[~keep] == 0).all())


def test_ls_update_in_small_chunks_gives_the_same_weights():
    x, w = _layer(2)
    keep = torch.rand(w.shape, generator=torch.Generator().manual_seed(3)) > 0.4
    h = x.t() @ x
    assert torch.allclose(ls_update(w, h, keep, chunk_bytes=1), ls_update(w, h, keep), rtol=1e-4, atol=1e-4)


def test_ls_update_lowers_the_output_error_of_the_mask():
    x, w = _layer(4)
    keep = w.abs() > w.abs().median()
    masked, new = w * keep, ls_update(w, x.t() @ x, keep)
    assert float(((w - new) @ x.t()).norm()) < 0.8 * float(((w - masked) @ x.t()).norm())
