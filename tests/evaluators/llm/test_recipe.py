"""Recipe steps: OWL's layer allocation, DSnoT's swaps, and whole recipes on a tiny Llama."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm.recipe.dsnot import dsnot_refine, refines
from evaluators.llm.recipe.owl import outlier_ratio, owl_allocation, spread_allocation
from evaluators.llm.recipe.recipe import Recipe, prune_with_recipe


def test_outlier_ratio_counts_scores_above_m_times_the_mean():
    scores = torch.ones(100)
    scores[:3] = 50.0  # mean 2.47: three scores above 5 x mean
    assert outlier_ratio([scores[:50], scores[50:]], 5.0) == pytest.approx(0.03)


@pytest.mark.parametrize("target,lam", [(0.5, 0.08), (0.7, 0.08), (0.6, 0.2), (0.1, 0.08)])
def test_spread_allocation_weighted_mean_is_the_target_within_the_band(target: float, lam: float):
    gen = torch.Generator().manual_seed(0)
    ratios = (torch.rand(30, generator=gen) ** 3).tolist()  # skewed, so clipping is needed
    sizes = torch.randint(100, 1000, (30,), generator=gen).tolist()
    got = spread_allocation(ratios, sizes, target, lam)
    mean = sum(s * n for s, n in zip(got, sizes)) / sum(sizes)
    assert mean == pytest.approx(target, abs=1e-12)
    assert all(max(target - lam, 0.0) - 1e-12 <= s <= target + lam + 1e-12 for s in got)
    order = sorted(range(30), key=lambda i: ratios[i])
    assert all(got[a] >= got[b] for a, b in zip(order, order[1:]))  # more outliers, lower sparsity
    assert max(got) - min(got) > lam  # spread over the band, not collapsed to the target


def test_spread_allocation_is_uniform_when_ratios_are_equal_and_refuses_bad_input():
    assert spread_allocation([0.1, 0.1], [5, 7], 0.6, 0.08) == [0.6, 0.6]
    with pytest.raises(ValueError, match="target sparsity"):
        spread_allocation([0.1, 0.2], [1, 1], 1.2, 0.08)
    with pytest.raises(ValueError, match="one value and one size"):
        spread_allocation([0.1], [1, 2], 0.5, 0.08)


def test_owl_allocation_gives_the_unit_with_outliers_the_lower_sparsity():
    flat = torch.ones(8, 8)
    spiky = torch.ones(8, 8)
    spiky[0, :4] = 100.0
    got = owl_allocation([[flat], [spiky]], 0.5, m=5.0, lam=0.1)
    assert got[1] < got[0] and (got[0] + got[1]) / 2 == pytest.approx(0.5)


def _dsnot_case(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(16, 64, generator=gen)
    mean = torch.randn(64, generator=gen)
    var = torch.rand(64, generator=gen) + 0.1
    scores = w.abs() * (var + mean ** 2).sqrt()
    keep = torch.zeros_like(w, dtype=torch.bool)
    keep.scatter_(1, scores.sort(dim=1).indices[:, 32:], True)
    return w, keep, mean, var, scores


def test_dsnot_keeps_the_count_per_row_and_lowers_every_rows_expected_error():
    w, keep, mean, var, scores = _dsnot_case()
    refined = dsnot_refine(w, keep, mean, var, scores, max_cycles=50, threshold=0.0)
    assert torch.equal(refined.sum(1), keep.sum(1))
    before = ((w * mean) * ~keep).sum(1).abs()
    after = ((w * mean) * ~refined).sum(1).abs()
    assert bool((after <= before + 1e-6).all()) and float(after.sum()) < 0.5 * float(before.sum())
    assert not torch.equal(refined, keep)


def test_dsnot_leaves_rows_below_the_threshold_and_respects_the_cycle_limit():
    w, keep, mean, var, scores = _dsnot_case(1)
    assert torch.equal(dsnot_refine(w, keep, mean, var, scores, threshold=1e9), keep)
    one = dsnot_refine(w, keep, mean, var, scores, max_cycles=1, threshold=0.0)
    assert int((one != keep).sum(1).max()) <= 2  # one swap per row at most
    assert not refines("model.layers.0.mlp.up_proj") and refines("model.layers.0.self_attn.q_proj")


@pytest.fixture()
def tiny_llama():
    from evaluators.llm.blocks import capture_block_inputs
    from evaluators.llm.layers import find_blocks, layers_by_block, prunable_layers
    from evaluators.llm.operands import activation_operands

    from .tiny import tiny_models, tiny_windows

    model = tiny_models()["llama"]
    layers = prunable_layers(model)
    blocks = find_blocks(model)[1]
    windows = tiny_windows(4, 32)
    ops = activation_operands(model, layers, windows, hessian=False)
    return model, layers, blocks, layers_by_block(layers), ops, lambda: capture_block_inputs(model, blocks, windows)


@pytest.mark.parametrize("recipe", [Recipe(), Recipe(allocation="owl", owl_unit="layer", owl_lambda=0.1),
                                    Recipe(post="dsnot", dsnot_threshold=0.0), Recipe(post="obs")])
def test_recipes_prune_the_tiny_llama_to_the_target(tiny_llama, recipe: Recipe):
    from primitives.builtins import builtin
    from primitives.compile import compile_metric

    model, layers, blocks, block_layers, ops, inputs = tiny_llama
    dense = {layer.name: layer.weight.clone() for layer in layers}
    pruned, total = prune_with_recipe(compile_metric(builtin("wanda")), recipe, blocks, block_layers, ops, inputs,
                                      0.6, "row")
    assert pruned / total == pytest.approx(0.6, abs=0.02)
    zeros = {layer.name: float((layer.weight == 0).float().mean()) for layer in layers}
    if recipe.allocation == "owl":
        assert max(zeros.values()) - min(zeros.values()) > 0.05
    else:
        assert all(z == pytest.approx(0.6, abs=0.02) for z in zeros.values())
    kept_same = all(torch.equal(layer.weight[layer.weight != 0], dense[layer.name][layer.weight != 0])
                    for layer in layers)
    assert kept_same == (recipe.post != "obs")  # only the OBS step changes kept weights


def test_recipe_refuses_unknown_steps():
    with pytest.raises(ValueError, match="allocation"):
        Recipe(allocation="random")
    with pytest.raises(ValueError, match="post-mask"):
        Recipe(post="magic")
