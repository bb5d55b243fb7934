"""Removing whole neurons/filters physically shrinks the layers and gives the masked model's outputs."""
from __future__ import annotations

import copy

import torch
from torch import nn

from evaluators.cnn.finetune import apply_masks
from evaluators.cnn.model import DigitsCNN
from evaluators.granularity import group_keep_mask
from model_compression.granularity.shrink import shrink_cnn, shrink_conv_pair, shrink_linear_pair
from model_compression.granularity.timing import linear_pair_timing


def test_linear_pair_shrinks_and_matches_masking() -> None:
    torch.manual_seed(0)
    first, second = nn.Linear(12, 20), nn.Linear(20, 5)
    rows = group_keep_mask(first.weight.abs(), 0.6, "neuron")
    masked = copy.deepcopy(first)
    apply_masks({"f": masked}, {"f": rows})
    a, b = shrink_linear_pair(first, second, rows.any(dim=1))
    assert a.weight.shape == (8, 12) and b.weight.shape == (5, 8)
    x = torch.randn(7, 12)
    assert torch.allclose(second(torch.relu(masked(x))), b(torch.relu(a(x))), atol=1e-6)


def test_conv_pair_shrinks_and_matches_masking() -> None:
    torch.manual_seed(1)
    first, second = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 3, padding=1)
    keep = group_keep_mask(first.weight.abs(), 0.5, "filter")
    masked = copy.deepcopy(first)
    apply_masks({"c": masked}, {"c": keep})
    a, b = shrink_conv_pair(first, second, keep.reshape(8, -1).any(dim=1))
    assert a.weight.shape == (4, 3, 3, 3) and b.weight.shape == (4, 4, 3, 3)
    x = torch.randn(2, 3, 6, 6)
    assert torch.allclose(second(torch.relu(masked(x))), b(torch.relu(a(x))), atol=1e-5)


def test_cnn_shrinks_every_layer_and_matches_masking() -> None:
    torch.manual_seed(2)
    model = DigitsCNN().eval()
    masks = {n: group_keep_mask(getattr(model, n).weight.abs(), 0.5, "filter") for n in ("conv1", "conv2", "fc1")}
    masks["conv2"] &= group_keep_mask(model.conv2.weight.abs(), 0.3, "element")  # partly pruned rows stay
    small = shrink_cnn(model, masks)
    shapes = [tuple(getattr(small, n).weight.shape) for n in ("conv1", "conv2", "fc1", "fc2")]
    assert shapes == [(8, 1, 3, 3), (16, 8, 3, 3), (32, 256), (10, 32)]
    masked = copy.deepcopy(model)
    apply_masks({n: getattr(masked, n) for n in masks}, masks)
    x = torch.rand(5, 1, 8, 8)
    assert torch.allclose(masked(x), small(x), atol=1e-5)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters()) / 2


def test_linear_pair_timing_reports_all_variants() -> None:
    out = linear_pair_timing(32, 64, tokens=8, repeats=2)
    assert set(out["ms"]) == {"dense", "masked", "shrunk", "element_csr"}
    assert out["shrunk_hidden"] == 32 and out["max_abs_diff"] < 1e-5
