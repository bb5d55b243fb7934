"""The swap post step: greedy swaps that lower each row's exact output error d H d^T."""
from __future__ import annotations

import itertools

import pytest
import torch

from evaluators.llm.recipe.swap import swap_refine


def _problem(rows: int, width: int, seed: int = 0, mix: float = 0.3):
    """A weight, the H of correlated inputs, and Wanda's per-row keep-mask at 50%."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(400, width, generator=g) @ (torch.eye(width) + mix * torch.randn(width, width, generator=g))
    h = x.T @ x / 400
    w = torch.randn(rows, width, generator=g)
    score = w.abs() * h.diagonal().sqrt()
    keep = score >= score.median(dim=1, keepdim=True).values
    return w, h, keep


def _errors(w, h, keep):
    removed = w * ~keep
    return ((removed @ h) * removed).sum(dim=1)


def test_swaps_keep_each_rows_count_and_never_raise_a_rows_error():
    w, h, keep = _problem(48, 64)
    refined = swap_refine(w, h, keep)
    assert torch.equal(refined.sum(dim=1), keep.sum(dim=1))
    before, after = _errors(w, h, keep), _errors(w, h, refined)
    assert bool((after <= before * (1 + 1e-5)).all())
    assert float(after.sum()) < 0.8 * float(before.sum())  # correlated inputs: Wanda's masks are far from the best
    assert not torch.equal(refined, keep)


def test_swaps_stay_inside_each_block_of_an_nm_pattern():
    w, h, _ = _problem(16, 32, seed=1)
    score = (w.abs() * h.diagonal().sqrt()).reshape(16, -1, 4)
    keep = torch.zeros_like(score, dtype=torch.bool).scatter_(2, score.topk(2, dim=2).indices, True).reshape(16, 32)
    refined = swap_refine(w, h, keep, block=4)
    assert bool((refined.reshape(16, -1, 4).sum(dim=2) == 2).all())
    assert float(_errors(w, h, refined).sum()) < float(_errors(w, h, keep).sum())
    with pytest.raises(ValueError, match="do not divide"):
        swap_refine(w, h, keep, block=5)


def test_a_row_ends_where_its_best_regrowth_has_no_prune_partner_that_lowers_its_error():
    w, h, keep = _problem(6, 10, seed=2)
    refined = swap_refine(w, h, keep)
    for r in range(6):
        row = refined[r:r + 1]
        best = float(_errors(w[r:r + 1], h, row))
        removed = w[r] * ~row[0]
        gain = torch.where(row[0], torch.inf, w[r] ** 2 * h.diagonal() - 2 * w[r] * (removed @ h))
        j = int(gain.argmin())  # the weight the step would regrow next
        for k in range(10):
            if not row[0, k]:
                continue
            trial = row.clone()
            trial[0, j], trial[0, k] = True, False
            assert float(_errors(w[r:r + 1], h, trial)) >= best * (1 - 1e-4)


def test_rows_are_independent_and_the_round_limit_holds():
    w, h, keep = _problem(20, 24, seed=3)
    whole = swap_refine(w, h, keep)
    assert torch.equal(whole[5:9], swap_refine(w[5:9], h, keep[5:9]))  # a sample of rows gets the same rows
    one = swap_refine(w, h, keep, max_rounds=1)
    assert bool(((one != keep).sum(dim=1) <= 2).all())  # one swap per row at most


def test_full_or_empty_rows_and_a_diagonal_h_are_left_as_they_are():
    w, h, keep = _problem(4, 8, seed=4)
    keep[0], keep[1] = True, False
    refined = swap_refine(w, h, keep)
    assert torch.equal(refined[:2], keep[:2])
    diagonal = torch.diag(torch.rand(8) + 0.5)  # no correlation: the error-ranked mask is already the best
    score = w * w * diagonal.diagonal()
    ranked = score >= score.median(dim=1, keepdim=True).values
    assert torch.equal(swap_refine(w, diagonal, ranked), ranked)
