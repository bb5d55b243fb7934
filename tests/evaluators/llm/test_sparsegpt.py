"""SparseGPT's OBS update against a direct least-squares solve, its masks, and its dtype handling."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm.sparsegpt import obs_update, prune_weight, sparsegpt_prune


def _layer(seed: int = 0, tokens: int = 300, columns: int = 20, rows: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    """Correlated calibration inputs X (tokens x in) and a weight W (out x in)."""
    gen = torch.Generator().manual_seed(seed)
    mixing = torch.randn(columns, columns, generator=gen) / columns ** 0.5 + torch.eye(columns)
    x = (torch.randn(tokens, columns, generator=gen) @ mixing).double()
    return x, torch.randn(rows, columns, generator=gen).double()


def _least_squares(x: torch.Tensor, w: torch.Tensor, keep: torch.Tensor, damp: float) -> torch.Tensor:
    """Per row: the kept weights minimising ||X w_kept - X w_dense||^2 + damp ||w_kept - w_dense||^2 (lstsq)."""
    scale = (2.0 / x.shape[0]) ** 0.5  # H = 2 X^T X / n, as the Hessian the update uses
    aug = torch.cat([x * scale, damp ** 0.5 * torch.eye(x.shape[1], dtype=x.dtype)])
    out = torch.zeros_like(w)
    for r in range(w.shape[0]):
        cols = keep[r].nonzero().squeeze(1)
        out[r, cols] = torch.linalg.lstsq(aug[:, cols], aug @ w[r]).solution
    return out


@pytest.mark.parametrize("percdamp", [0.0, 0.01])
@pytest.mark.parametrize("blocksize", [4, 7, 128])
def test_obs_update_equals_least_squares_on_kept_weights(percdamp: float, blocksize: int):
    # With each row's pruned columns ahead of its kept ones, every pruned weight is compensated by all
    # kept weights of its row, so the column-sequential OBS update is the exact least-squares optimum.
    x, w = _layer()
    h = 2 * x.T @ x / x.shape[0]
    cut = torch.tensor([3, 5, 8, 10, 12, 16])
    keep = torch.arange(w.shape[1]).unsqueeze(0) >= cut.unsqueeze(1)
    got = obs_update(w, h, keep, blocksize=blocksize, percdamp=percdamp).double()
    damp = percdamp * float(torch.diag(h).mean())
    want = _least_squares(x, w, keep, damp)
    assert bool((got[~keep] == 0).all())
    torch.testing.assert_close(got, want, atol=2e-4, rtol=2e-4)


def _error(x: torch.Tensor, w: torch.Tensor, new: torch.Tensor) -> float:
    return float(((x @ (new.double() - w).T) ** 2).sum())


def test_obs_update_never_beats_least_squares_and_helps_on_its_own_mask():
    # On any mask the exact least-squares solve is a lower bound; on the mask SparseGPT chooses
    # (lowest w^2 / diag(U)^2 as it goes) the update removes much of the error of plain masking.
    x, w = _layer(1, columns=32, rows=8)
    h = 2 * x.T @ x / x.shape[0]
    keep = torch.rand(w.shape, generator=torch.Generator().manual_seed(2)) > 0.5
    updated = obs_update(w, h, keep, blocksize=8, percdamp=0.0)
    assert torch.equal(updated != 0, keep)
    assert _error(x, w, _least_squares(x, w, keep, 0.0)) <= _error(x, w, updated) * (1 + 1e-9)
    own = prune_weight(w, h, 0.5, blocksize=8, variant="row", percdamp=0.0)
    kept = own != 0
    assert _error(x, w, _least_squares(x, w, kept, 0.0)) <= _error(x, w, own) * (1 + 1e-9)
    assert _error(x, w, own) < 0.8 * _error(x, w, w * kept)


@pytest.mark.parametrize("variant", ["block", "row"])
def test_unstructured_variants_hit_the_sparsity_per_block_or_per_row(variant: str):
    x, w = _layer(3, columns=40, rows=10)
    h = 2 * x.T @ x / x.shape[0]
    new = prune_weight(w, h, 0.5, blocksize=8, variant=variant)
    zeros = (new == 0).view(10, 5, 8)
    if variant == "row":
        assert bool((zeros.sum(2) == 4).all())
    else:
        assert bool((zeros.sum((0, 2)) == 40).all()) and not bool((zeros.sum(2) == 4).all())


def test_nm_keeps_two_of_every_four():
    x, w = _layer(4, columns=16, rows=5)
    new = prune_weight(w, 2 * x.T @ x / x.shape[0], n=2, m=4, blocksize=8)
    assert bool(((new != 0).view(5, 4, 4).sum(2) == 2).all())


def test_unknown_variant_is_refused():
    x, w = _layer()
    with pytest.raises(ValueError, match="variant"):
        prune_weight(w, x.T @ x, 0.5, variant="diagonal")


def test_bf16_model_pruned_in_float32_matches_float32_model():
    # A bf16 model is pruned on float32 copies of its blocks: the result equals pruning a float32 model
    # holding the same (bf16-representable) weights, up to bf16 rounding of the final weights.
    from evaluators.llm.blocks import capture_block_inputs
    from evaluators.llm.layers import find_blocks, layers_by_block, prunable_layers

    from .tiny import tiny_models, tiny_windows

    results = {}
    for dtype in (torch.float32, torch.bfloat16):
        model = tiny_models()["llama"].to(torch.bfloat16).to(dtype)
        layers = prunable_layers(model)
        blocks = find_blocks(model)[1]
        hiddens, kwargs_list = capture_block_inputs(model, blocks, tiny_windows(4, 32))
        sparsegpt_prune(blocks, layers_by_block(layers), hiddens, kwargs_list, 0.5, "2:4")
        assert all(layer.weight.dtype == dtype for layer in layers)
        results[dtype] = [layer.weight.float().clone() for layer in layers]
    for a, b in zip(results[torch.float32], results[torch.bfloat16]):
        assert torch.equal(a != 0, b != 0)
        torch.testing.assert_close(a.to(torch.bfloat16).float(), b, atol=2e-2, rtol=2e-2)


def test_damping_reaches_every_layer_and_a_large_one_turns_the_update_off():
    # With H + d I dominated by d, the OBS update vanishes: the kept weights stay dense, while the
    # paper's damping (0.01) moves them.
    from evaluators.llm.blocks import capture_block_inputs
    from evaluators.llm.layers import find_blocks, layers_by_block, prunable_layers

    from .tiny import tiny_models, tiny_windows

    moved = {}
    for percdamp in (0.01, 1e6):
        model = tiny_models()["llama"]
        layers = prunable_layers(model)
        dense = [layer.weight.detach().clone() for layer in layers]
        blocks = find_blocks(model)[1]
        hiddens, kwargs_list = capture_block_inputs(model, blocks, tiny_windows(4, 32))
        sparsegpt_prune(blocks, layers_by_block(layers), hiddens, kwargs_list, 0.5, "2:4", percdamp=percdamp)
        moved[percdamp] = max(float((layer.weight - w)[layer.weight != 0].abs().max()) for layer, w in zip(layers, dense))
    assert moved[1e6] < 1e-4 < moved[0.01]
