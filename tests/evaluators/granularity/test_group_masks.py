"""Masks at every granularity: group structure, exact sparsity, aggregates, ties, scopes, conv and heads."""
from __future__ import annotations

import pytest
import torch

from evaluators.granularity import global_group_keep_masks, group_keep_mask, head_role
from evaluators.masks import allow_ties, keep_mask


@pytest.fixture
def scores() -> torch.Tensor:
    """Quantised random scores (many exact ties), 16 x 24."""
    torch.manual_seed(0)
    return ((torch.randn(16, 24) * 4).round() / 4).abs()


def _reference(group_scores: torch.Tensor, k: int) -> torch.Tensor:
    """Group keep-mask pruning the k lowest by a stable sort on (score, flat index)."""
    keep = torch.ones(group_scores.numel(), dtype=torch.bool)
    keep[torch.sort(group_scores.reshape(-1), stable=True).indices[:k]] = False
    return keep.view(group_scores.shape)


def _tile_view(keep: torch.Tensor, a: int, b: int) -> torch.Tensor:
    """(groups_out, groups_in, a*b) view of a 2-D mask."""
    out, inp = keep.shape
    return keep.reshape(out // a, a, inp // b, b).permute(0, 2, 1, 3).reshape(out // a, inp // b, a * b)


@pytest.mark.parametrize("gran,tile", [("element", (1, 1)), ("vector:4", (1, 4)), ("1x3", (1, 3)),
                                       ("block:4", (4, 4)), ("block:2x8", (2, 8)), ("filter", (1, 24)),
                                       ("head:4", (4, 24))])
@pytest.mark.parametrize("sparsity", [0.0, 0.25, 0.5, 0.75, 0.9])
def test_whole_groups_exact_count_and_stable_sort(scores: torch.Tensor, gran: str, tile: tuple[int, int],
                                                  sparsity: float) -> None:
    keep = group_keep_mask(scores, sparsity, gran, aggregate="l1", role="rows")
    assert keep.shape == scores.shape and keep.dtype == torch.bool
    groups = _tile_view(keep, *tile)
    assert torch.equal(groups.all(dim=-1), groups.any(dim=-1)), "a group is partly pruned"
    n_groups = groups.shape[0] * groups.shape[1]
    k = round(sparsity * n_groups)
    assert int((~groups.all(dim=-1)).sum()) == k
    assert int((~keep).sum()) == k * tile[0] * tile[1]  # equal-size groups: exact element count
    group_l1 = _tile_view(scores, *tile).double().abs().sum(dim=-1)
    assert torch.equal(groups.all(dim=-1), _reference(group_l1, k))


@pytest.mark.parametrize("aggregate,fn", [("l1", lambda t: t.abs().sum(-1)), ("l2", lambda t: t.square().sum(-1).sqrt()),
                                          ("max", lambda t: t.amax(-1)), ("mean", lambda t: t.mean(-1))])
def test_aggregates(aggregate: str, fn) -> None:
    torch.manual_seed(1)
    s = torch.randn(8, 16)
    keep = group_keep_mask(s, 0.5, "vector:4", aggregate=aggregate)
    expected = _reference(fn(s.double().reshape(8, 4, 4)), 16)
    assert torch.equal(keep.reshape(8, 4, 4).all(-1), expected)


def test_element_layer_and_row_scope_equal_masks_py(scores: torch.Tensor) -> None:
    assert torch.equal(group_keep_mask(scores, 0.6, "element"), keep_mask(scores, 0.6, "layer"))
    assert torch.equal(group_keep_mask(scores, 0.6, "element", scope="row"), keep_mask(scores, 0.6, "row"))
    assert torch.equal(group_keep_mask(scores, 0.5, "2:4"), keep_mask(scores, 0.5, "2:4"))


def test_vector_row_scope_prunes_per_row(scores: torch.Tensor) -> None:
    keep = group_keep_mask(scores, 0.5, "vector:4", scope="row")
    assert ((~keep).sum(dim=1) == 12).all()
    with pytest.raises(ValueError, match="several groups per row"):
        group_keep_mask(scores, 0.5, "filter", scope="row")


@allow_ties()
def test_constant_scores_prune_lowest_index_first() -> None:
    keep = group_keep_mask(torch.ones(4, 8), 0.5, "vector:2")
    assert torch.equal(keep.reshape(4, 4, 2).all(-1).reshape(-1), torch.arange(16) >= 8)


@pytest.mark.parametrize("gran,group_dims", [("element", ()), ("vector", (3,)), ("kernel", (2, 3)), ("filter", (1, 2, 3))])
def test_conv_groups(gran: str, group_dims: tuple[int, ...]) -> None:
    torch.manual_seed(2)
    w = torch.randn(8, 4, 3, 3)
    keep = group_keep_mask(w.abs(), 0.5, gran)
    assert keep.shape == w.shape
    if group_dims:
        assert torch.equal(keep.all(dim=group_dims), keep.any(dim=group_dims))
    assert int((~keep).sum()) == w.numel() // 2
    # 2-D scores with the kernel size given: the same mask
    flat = group_keep_mask(w.abs().reshape(8, -1), 0.5, gran, kernel_size=(3, 3))
    assert torch.equal(flat.view(w.shape), keep)


def test_heads_rows_and_cols() -> None:
    torch.manual_seed(3)
    s = torch.rand(12, 12)
    rows = group_keep_mask(s, 0.5, "head:4", role="rows")
    assert torch.equal(rows.reshape(3, 4, 12).all(-1).all(-1), rows.reshape(3, 4, 12).any(-1).any(-1))
    cols = group_keep_mask(s, 0.5, "head:4", role="cols")
    heads = cols.reshape(12, 3, 4).permute(1, 0, 2).reshape(3, -1)
    assert torch.equal(heads.all(-1), heads.any(-1))
    assert int((~heads.all(-1)).sum()) == round(0.5 * 3)  # 2 (half to even), as masks.py rounds
    other = group_keep_mask(s, 0.5, "head:4")  # no role: whole rows
    assert ((~other).sum(dim=1) % 12 == 0).all()


def test_head_roles() -> None:
    assert head_role("model.layers.0.self_attn.q_proj") == "rows"
    assert head_role("model.layers.0.self_attn.v_proj") == "rows"
    assert head_role("model.layers.0.self_attn.o_proj") == "cols"
    assert head_role("transformer.h.1.attn.c_proj") == "cols"
    assert head_role("transformer.h.1.mlp.c_proj") is None
    assert head_role("model.layers.0.mlp.down_proj") is None


def test_global_scope_exact_group_count() -> None:
    torch.manual_seed(4)
    scores = {"a": torch.rand(8, 16), "b": torch.rand(4, 8) * 2}
    masks = global_group_keep_masks(scores, 0.5, "vector:4", aggregate="mean")
    pruned = sum(int((~m.reshape(m.shape[0], -1, 4).all(-1)).sum()) for m in masks.values())
    assert pruned == round(0.5 * (32 + 8))
    with pytest.raises(ValueError, match="N:M"):
        global_group_keep_masks(scores, 0.5, "2:4")


@pytest.mark.parametrize("gran,shape,msg", [("vector:5", (4, 12), "split"), ("block:3", (4, 12), "split"),
                                            ("kernel", (4, 12), "conv"), ("vector", (4, 12), "width")])
def test_bad_shapes(gran: str, shape: tuple[int, int], msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        group_keep_mask(torch.rand(shape), 0.5, gran)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="NaN"):
        group_keep_mask(torch.tensor([[float("nan"), 1.0]]), 0.5, "element")
    with pytest.raises(ValueError, match="sparsity"):
        group_keep_mask(torch.rand(4, 8), 0.3, "2:4")
    with pytest.raises(ValueError, match="sparsity"):
        group_keep_mask(torch.rand(4, 8), 1.0, "vector:4")


@pytest.mark.parametrize("group", ["row", "layer", "global", "2:4", "4:8"])
def test_keep_masks_equal_masks_py_for_its_groups(group: str) -> None:
    """Drop-in for a task's group field: masks.py's groups give masks.py's masks."""
    from evaluators.granularity import keep_masks
    from evaluators.masks import global_keep_masks

    torch.manual_seed(5)
    scores = {"a.q_proj": (torch.randn(8, 16) * 2).round(), "a.o_proj": (torch.randn(16, 8) * 2).round()}
    sparsity = 0.5
    got = keep_masks(scores, sparsity, group)
    if group == "global":
        expected = global_keep_masks(scores, sparsity)
    else:
        expected = {n: keep_mask(s, sparsity, group) for n, s in scores.items()}
    assert all(torch.equal(got[n], expected[n]) for n in scores)


def test_keep_masks_heads_use_layer_names() -> None:
    from evaluators.granularity import keep_masks

    torch.manual_seed(6)
    scores = {"b.self_attn.q_proj": torch.rand(8, 8), "b.self_attn.o_proj": torch.rand(8, 8), "b.mlp.up_proj": torch.rand(8, 8)}
    masks = keep_masks(scores, 0.5, "head:4")
    assert torch.equal(masks["b.self_attn.q_proj"], group_keep_mask(scores["b.self_attn.q_proj"], 0.5, "head:4", role="rows"))
    assert torch.equal(masks["b.self_attn.o_proj"], group_keep_mask(scores["b.self_attn.o_proj"], 0.5, "head:4", role="cols"))
    assert torch.equal(masks["b.mlp.up_proj"], group_keep_mask(scores["b.mlp.up_proj"], 0.5, "filter"))
