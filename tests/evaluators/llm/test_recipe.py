"""Recipe steps: allocation formulas (OWL among them), DSnoT's swaps, LS and OBS, whole recipes on a tiny Llama."""
from __future__ import annotations

import pytest
import torch

from evaluators.llm.recipe.dsnot import dsnot_refine, refines
from evaluators.granularity import parse_structure
from evaluators.llm.prune import layer_scores
from evaluators.llm.recipe.allocation import allocate, unit_statistics
from evaluators.llm.recipe.owl import outlier_ratio, owl_allocation, spread_allocation
from evaluators.llm.recipe.recipe import StepOptions, prune_with_recipe
from primitives.recipe import Recipe


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


def _dsnot_one_row_at_a_time(w, keep, mean, var, scores, max_cycles, threshold):
    """DSnoT as the paper states it, row by row with Python's stable sorts: the oracle of the vectorised one."""
    contrib = w.float() * mean.float().reshape(1, -1)
    growth = contrib / var.float().clamp_min(1e-12).reshape(1, -1)
    errors = (contrib * ~keep).sum(dim=1)
    out = keep.clone()
    for r in range(w.shape[0]):
        c, g, s, row = contrib[r].tolist(), growth[r].tolist(), scores[r].float().tolist(), out[r]
        cols = range(w.shape[1])
        grow = {True: sorted((j for j in cols if not row[j] and c[j] > 0), key=lambda j: -g[j]),
                False: sorted((j for j in cols if not row[j] and c[j] < 0), key=lambda j: g[j])}
        cut = {True: sorted((j for j in cols if row[j] and c[j] < 0), key=lambda j: s[j]),
               False: sorted((j for j in cols if row[j] and c[j] > 0), key=lambda j: s[j])}
        at, error = {True: 0, False: 0}, errors[r]
        for _ in range(max_cycles):
            sign = bool(error > 0)
            if not error.abs() > threshold or at[sign] >= min(len(grow[sign]), len(cut[sign])):
                break
            regrow, drop = grow[sign][at[sign]], cut[sign][at[sign]]
            after = error + contrib[r, drop] - contrib[r, regrow]
            if not after.abs() < error.abs():
                break
            row[regrow], row[drop], error, at[sign] = True, False, after, at[sign] + 1
    return out


@pytest.mark.parametrize("mask", ["row", "layer"])  # row: equal counts per row (the compact sort); layer: not
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dsnot_equals_the_row_by_row_algorithm_with_ties_and_zero_weights(mask: str, seed: int):
    from evaluators.masks import allow_ties, keep_mask

    gen = torch.Generator().manual_seed(seed)
    w = ((torch.randn(24, 80, generator=gen) * 2).round() / 2).to(torch.bfloat16)  # ties, zero weights
    mean = (torch.randn(80, generator=gen) * 2).round() / 2
    var = torch.rand(80, generator=gen) + 0.1
    scores = (w.float().abs() * 4).round()
    with allow_ties():
        keep = keep_mask(scores, 0.5, mask)
    for cycles, threshold in ((50, 0.0), (50, 0.1), (3, 0.0)):
        assert torch.equal(dsnot_refine(w, keep, mean, var, scores, cycles, threshold),
                           _dsnot_one_row_at_a_time(w, keep, mean, var, scores, cycles, threshold))


@pytest.fixture()
def tiny_llama():
    from evaluators.llm.layers import find_blocks, layers_by_block, prunable_layers
    from evaluators.llm.operands import calibrate

    from .tiny import tiny_models, tiny_windows

    model = tiny_models()["llama"]
    layers = prunable_layers(model)
    blocks = find_blocks(model)[1]
    ops, inputs = calibrate(model, layers, tiny_windows(4, 32), gram=True)  # X, Xs, Y; moments and Gram matrices
    return model, layers, blocks, layers_by_block(layers), ops, inputs


RECIPES = ["recipe(score=wanda)", "recipe(score=wanda, alloc=owl, unit=layer)", "recipe(score=wanda, post=dsnot)",
           "recipe(score=wanda, post=swap)",
           "recipe(score=wanda, post=obs)", "recipe(score=wanda, post=ls)",
           "recipe(score=wanda, alloc=mul(sub(1, depth), add(attn, 1)), unit=layer)"]


@pytest.mark.parametrize("text", RECIPES)
def test_recipes_prune_the_tiny_llama_to_the_target(tiny_llama, text: str):
    model, layers, blocks, block_layers, ops, inputs = tiny_llama
    recipe = Recipe.parse(text)
    dense = {layer.name: layer.weight.clone() for layer in layers}
    pruned, total = prune_with_recipe(recipe, blocks, block_layers, ops, inputs, 0.6, "row",
                                      StepOptions(lam=0.1, dsnot_threshold=0.0))
    assert pruned / total == pytest.approx(0.6, abs=0.02)
    zeros = {layer.name: float((layer.weight == 0).float().mean()) for layer in layers}
    if recipe.alloc is not None:
        assert max(zeros.values()) - min(zeros.values()) > 0.05
    else:
        assert all(z == pytest.approx(0.6, abs=0.02) for z in zeros.values())
    kept_same = all(torch.equal(layer.weight[layer.weight != 0], dense[layer.name][layer.weight != 0])
                    for layer in layers)
    assert kept_same == (recipe.post not in ("obs", "ls"))  # only OBS and LS change kept weights


def test_owl_is_the_allocation_formula_outl_with_the_same_sparsities(tiny_llama):
    from primitives.builtins import builtin
    from primitives.compile import compile_metric

    _, layers, _, block_layers, ops, _ = tiny_llama
    wanda = compile_metric(builtin("wanda"))
    structure = parse_structure("row")
    for unit in ("block", "layer"):
        units = block_layers if unit == "block" else [[layer] for layer in layers]
        scores = [[layer_scores(wanda, layer, ops[layer.name], structure) for layer in u] for u in units]
        expected = owl_allocation(scores, 0.6, m=5.0, lam=0.08)
        for text in (f"recipe(score=wanda, alloc=owl, unit={unit})", f"recipe(score=magnitude, alloc=outl, unit={unit})"):
            recipe = Recipe.parse(text)
            got = allocate(recipe, compile_metric(recipe.score), block_layers, ops, 0.6, structure)
            assert [got[layer.name] for u in units for layer in u] == [s for u, s in zip(units, expected) for _ in u]


def test_allocation_statistics_follow_their_definitions(tiny_llama):
    from primitives.builtins import builtin
    from primitives.compile import compile_metric

    _, layers, _, block_layers, ops, _ = tiny_llama
    fn = compile_metric(builtin("magnitude"))
    units = [[layer] for layer in layers]
    stats = unit_statistics(units, ("depth", "attn", "smean", "sstd"), fn, ops, parse_structure("row"))
    assert stats["depth"].tolist() == [float(layer.block) for layer in layers]  # two blocks: 0 and 1
    assert stats["attn"].tolist() == [1.0 if "self_attn" in layer.name else 0.0 for layer in layers]
    first = layers[0].weight.abs().double()
    assert float(stats["smean"][0]) == pytest.approx(float(first.mean()))
    assert float(stats["sstd"][0]) == pytest.approx(float(first.std(unbiased=False)))
    block = unit_statistics(block_layers, ("attn",), fn, ops, parse_structure("row"))["attn"]
    attn_share = sum(l.weight.numel() for l in block_layers[0] if "self_attn" in l.name) / \
        sum(l.weight.numel() for l in block_layers[0])
    assert float(block[0]) == pytest.approx(attn_share)


def test_an_allocation_keeps_more_weights_where_its_value_is_higher_and_the_mean_exact(tiny_llama):
    from primitives.compile import compile_metric

    _, layers, _, block_layers, ops, _ = tiny_llama
    recipe = Recipe.parse("recipe(score=wanda, alloc=depth, unit=layer)")
    got = allocate(recipe, compile_metric(recipe.score), block_layers, ops, 0.5, parse_structure("row"))
    first, second = [got[l.name] for l in block_layers[0]], [got[l.name] for l in block_layers[1]]
    assert max(second) < min(first)  # the deeper block has the higher value: it keeps more
    sizes = {l.name: l.weight.numel() for l in layers}
    assert sum(got[n] * sizes[n] for n in got) / sum(sizes.values()) == pytest.approx(0.5, abs=1e-12)
    assert all(0.42 - 1e-12 <= s <= 0.58 + 1e-12 for s in got.values())


def test_an_allocation_with_non_finite_values_fails_with_a_score_error(tiny_llama):
    from evaluators.base import ScoreError
    from primitives.compile import compile_metric

    _, _, _, block_layers, ops, _ = tiny_llama
    recipe = Recipe.parse("recipe(score=wanda, alloc=sqr(sqr(sqr(sqr(exp(add(depth, 80)))))))")  # inf in float64
    with pytest.raises(ScoreError, match="non-finite"):
        allocate(recipe, compile_metric(recipe.score), block_layers, ops, 0.5, parse_structure("row"))


def test_a_recipe_refuses_a_global_group(tiny_llama):
    from evaluators.base import ScoreError

    _, _, blocks, block_layers, ops, inputs = tiny_llama
    with pytest.raises(ScoreError, match="layer by layer"):
        prune_with_recipe(Recipe.parse("recipe(score=wanda, post=ls)"), blocks, block_layers, ops, inputs, 0.5,
                          "global")
