"""Keep-masks at an exact sparsity: row, layer, N:M, global; ties, NaN, bad groups."""

from __future__ import annotations

import pytest
import torch

from evaluators.masks import (TIE_LIMIT, Group, TiedScoresError, allow_ties, check_sparsity, global_keep_masks, keep_mask,
                              parse_group, zero_pruned)


def _reference(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Keep-mask of a 1-D tensor pruning its k lowest, by a stable sort on (score, index)."""
    keep = torch.ones(scores.numel(), dtype=torch.bool)
    keep[torch.sort(scores.reshape(-1), stable=True).indices[:k]] = False
    return keep.view(scores.shape)


@pytest.fixture
def scores() -> torch.Tensor:
    """Quantised random scores (many exact ties, like dequantised Q4_1 weights)."""
    torch.manual_seed(0)
    return (torch.randn(24, 40) * 4).round() / 4


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.5, 0.7, 0.99])
def test_row_exact_per_row_and_matches_stable_sort(scores: torch.Tensor, sparsity: float) -> None:
    keep = keep_mask(scores, sparsity, "row")
    k = round(sparsity * scores.shape[1])
    assert keep.dtype == torch.bool and keep.shape == scores.shape
    assert ((~keep).sum(dim=1) == k).all()
    expected = torch.stack([_reference(row, k) for row in scores])
    assert torch.equal(keep, expected)


@pytest.mark.parametrize("width", [40, 200])  # 200: wide rows take the numpy selection path
@pytest.mark.parametrize("ties", [True, False])  # False: no tied threshold, the one-comparison path
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_row_selection_paths_match_stable_sort(width: int, ties: bool, dtype: torch.dtype) -> None:
    torch.manual_seed(1)
    scores = torch.randn(16, width, dtype=dtype)
    if ties:
        scores = (scores * 2).round() / 2
    for sparsity in (0.3, 0.5):
        k = round(sparsity * width)
        keep = keep_mask(scores, sparsity, "row")
        assert torch.equal(keep, torch.stack([_reference(row, k) for row in scores]))


@pytest.mark.parametrize("sparsity", [0.0, 0.25, 0.5, 0.9])
def test_layer_exact_and_matches_stable_sort(scores: torch.Tensor, sparsity: float) -> None:
    keep = keep_mask(scores, sparsity, "layer")
    k = round(sparsity * scores.numel())
    assert int((~keep).sum()) == k
    assert torch.equal(keep, _reference(scores, k))


def test_pruned_scores_never_exceed_kept_ones(scores: torch.Tensor) -> None:
    keep = keep_mask(scores, 0.5, "layer")
    assert scores[~keep].max() <= scores[keep].min()
    row_keep = keep_mask(scores, 0.5, "row")
    for row, mask in zip(scores, row_keep):
        assert row[~mask].max() <= row[mask].min()


@pytest.mark.parametrize("group,n,m", [("2:4", 2, 4), ("4:8", 4, 8), ("1:4", 1, 4)])
def test_n_m_exactly_n_pruned_in_every_block(scores: torch.Tensor, group: str, n: int, m: int) -> None:
    keep = keep_mask(scores, n / m, group)
    blocks = keep.reshape(scores.shape[0], -1, m)
    assert ((~blocks).sum(dim=-1) == n).all()
    score_blocks = scores.reshape(-1, m)
    expected = torch.stack([_reference(block, n) for block in score_blocks]).view(scores.shape)
    assert torch.equal(keep, expected)


def test_n_m_rejects_input_not_multiple_of_m() -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        keep_mask(torch.rand(3, 10), 0.5, "2:4")


def test_n_m_sparsity_must_match() -> None:
    with pytest.raises(ValueError, match="2 of every 4"):
        keep_mask(torch.rand(3, 8), 0.7, "2:4")


@allow_ties()
def test_all_equal_scores_exact_and_deterministic() -> None:
    flat = torch.ones(6, 10)
    row = keep_mask(flat, 0.3, "row")
    assert ((~row).sum(dim=1) == 3).all()
    assert (~row[:, :3]).all() and row[:, 3:].all()  # lower index pruned first
    layer = keep_mask(flat, 0.5, "layer")
    assert int((~layer).sum()) == 30 and (~layer[:3]).all() and layer[3:].all()
    nm = keep_mask(torch.ones(2, 8), 0.5, "2:4")
    assert torch.equal(nm, torch.tensor([[False, False, True, True] * 2] * 2))
    assert torch.equal(keep_mask(flat, 0.3, "row"), row)
    assert torch.equal(keep_mask(flat.clone(), 0.5, "layer"), layer)


@pytest.mark.parametrize("group", ["row", "layer", "2:4"])
def test_constant_scores_fail_with_the_share_ties_decide(group: str) -> None:
    with pytest.raises(TiedScoresError, match=r"ties decide 100% of the mask \(limit 50%\)"):
        keep_mask(torch.ones(6, 8), 0.5, group)
    with pytest.raises(TiedScoresError, match="ties decide 100%"):
        global_keep_masks({"a": torch.ones(2, 5), "b": torch.ones(2, 5)}, 0.5)


def test_row_sums_tie_within_rows_but_not_within_the_layer() -> None:
    rowsum = torch.rand(8, 1).expand(8, 16).contiguous()  # rowsum(abs(W)): one value per row
    with pytest.raises(TiedScoresError, match="ties decide 100%"):
        keep_mask(rowsum, 0.5, "row")
    keep_mask(rowsum, 0.5, "layer")  # whole rows differ: position decides nothing here


def test_a_few_ties_under_the_limit_are_broken_by_position() -> None:
    scores = torch.arange(40, dtype=torch.float32).view(4, 10)
    scores[:, 4] = scores[:, 3]  # one tie at each row's threshold: 1 of 4 pruned by position
    keep = keep_mask(scores, 0.4, "row")
    assert (~keep[:, :4]).all() and keep[:, 4:].all()
    assert TIE_LIMIT == 0.5


def test_global_exact_total_and_one_threshold() -> None:
    torch.manual_seed(1)
    layers = {
        "a": (torch.randn(8, 12) * 2).round(),
        "b": (torch.randn(12, 8) * 2).round() * 3,
        "c": torch.zeros(4, 4),
    }
    masks = global_keep_masks(layers, 0.6)
    assert list(masks) == ["a", "b", "c"]
    total = sum(s.numel() for s in layers.values())
    assert sum(int((~m).sum()) for m in masks.values()) == round(0.6 * total)
    for name, mask in masks.items():
        assert mask.shape == layers[name].shape and mask.dtype == torch.bool
    flat = torch.cat([s.reshape(-1) for s in layers.values()])
    expected = _reference(flat, round(0.6 * total))
    assert torch.equal(torch.cat([m.reshape(-1) for m in masks.values()]), expected)
    assert global_keep_masks({}, 0.5) == {}


@allow_ties()
def test_global_all_equal_prunes_earliest_layers_first() -> None:
    masks = global_keep_masks({"a": torch.ones(2, 5), "b": torch.ones(2, 5)}, 0.5)
    assert (~masks["a"]).all() and masks["b"].all()


@pytest.mark.parametrize("group", ["row", "layer", "2:4"])
def test_nan_raises(group: str) -> None:
    scores = torch.rand(4, 8)
    scores[1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        keep_mask(scores, 0.5, group)
    with pytest.raises(ValueError, match="NaN"):
        global_keep_masks({"a": torch.rand(2, 2), "b": scores}, 0.5)


def test_inf_is_ordered() -> None:
    scores = torch.tensor([[float("inf"), 1.0, -float("inf"), 2.0]])
    assert torch.equal(keep_mask(scores, 0.5, "row"), torch.tensor([[True, False, False, True]]))


def test_half_precision_and_integer_scores() -> None:
    scores = torch.arange(16, dtype=torch.float32).flip(0).reshape(2, 8)
    expected = keep_mask(scores, 0.5, "row")
    assert torch.equal(keep_mask(scores.half(), 0.5, "row"), expected)
    assert torch.equal(keep_mask(scores.bfloat16(), 0.5, "layer"), keep_mask(scores, 0.5, "layer"))
    assert torch.equal(keep_mask(scores.long(), 0.5, "row"), expected)


def test_scores_must_be_2d_and_real() -> None:
    with pytest.raises(ValueError, match="2-D"):
        keep_mask(torch.rand(8), 0.5, "row")
    with pytest.raises(ValueError, match="real"):
        keep_mask(torch.ones(2, 4, dtype=torch.bool), 0.5, "row")


def test_parse_group() -> None:
    assert parse_group("row") == Group("row")
    assert parse_group(" Layer ") == Group("layer")
    assert parse_group("global") == Group("global")
    assert parse_group("2:4") == Group("nm", 2, 4)
    assert str(parse_group("4 : 8")) == "4:8"
    assert parse_group("2:4").sparsity == 0.5
    assert parse_group(Group("row")) == Group("row")


@pytest.mark.parametrize("bad", ["3:2", "4:4", "0:4", "abc", "", "2:4:8", "-1:4", "2.5:4", "row2"])
def test_bad_groups_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_group(bad)
    with pytest.raises(ValueError):
        keep_mask(torch.rand(4, 8), 0.5, bad)


def test_bad_group_type_rejected() -> None:
    with pytest.raises(ValueError):
        parse_group(4)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), True, "0.5", None])
def test_bad_sparsity_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="sparsity"):
        check_sparsity(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sparsity"):
        keep_mask(torch.rand(4, 8), bad, "row")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sparsity"):
        global_keep_masks({"a": torch.rand(4, 8)}, bad)  # type: ignore[arg-type]


def test_global_group_needs_global_keep_masks() -> None:
    with pytest.raises(ValueError, match="global_keep_masks"):
        keep_mask(torch.rand(4, 8), 0.5, "global")


def test_real_layer_shapes_exact() -> None:
    torch.manual_seed(2)
    for shape in [(576, 1536), (1536, 576)]:
        scores = (torch.randn(shape) * 8).round()
        row = keep_mask(scores, 0.5, "row")
        assert ((~row).sum(dim=1) == shape[1] // 2).all()
        assert int((~keep_mask(scores, 0.5, "layer")).sum()) == scores.numel() // 2
        assert ((~keep_mask(scores, 0.5, "2:4")).reshape(-1, 4).sum(dim=1) == 2).all()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_zero_pruned_equals_multiplying_by_the_mask(dtype: torch.dtype) -> None:
    torch.manual_seed(2)
    weight = torch.randn(8, 96, dtype=dtype)
    keep = keep_mask(weight.float().abs(), 0.5, "row")
    expected = weight * keep
    zero_pruned(weight, keep)
    assert torch.equal(weight, expected) and torch.equal(weight.signbit(), expected.signbit())


@pytest.mark.parametrize("group,n,m", [("1:4", 1, 4), ("2:4", 2, 4), ("3:4", 3, 4), ("4:8", 4, 8)])
@pytest.mark.parametrize("step", [0.0, 0.5, 2.0])  # 0: no ties; coarser steps: more blocks decided by position
def test_n_m_pairwise_path_matches_stable_sort_and_counts_ties_like_selection(group: str, n: int, m: int,
                                                                               step: float) -> None:
    from evaluators import masks

    torch.manual_seed(3)
    scores = torch.randn(32, 64)
    if step:
        scores = (scores / step).round() * step
    with allow_ties():
        keep = keep_mask(scores, n / m, group)
    blocks = scores.reshape(-1, m)
    assert torch.equal(keep.reshape(-1, m), torch.stack([_reference(block, n) for block in blocks]))
    counted: list[int] = []
    original = masks.check_ties
    masks.check_ties = lambda by_position, total: counted.append(by_position)
    try:
        masks._prune_lowest_narrow(blocks, n)
    finally:
        masks.check_ties = original
    threshold = blocks.kthvalue(n, dim=1, keepdim=True).values  # the selection path's count of the same
    tied, below = blocks == threshold, blocks < threshold
    split = tied.sum(dim=1, keepdim=True) > n - below.sum(dim=1, keepdim=True)
    assert counted == [int((tied & split).sum())]
    assert (counted[0] > 0) == (step > 0)
