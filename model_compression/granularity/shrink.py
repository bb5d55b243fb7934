"""Physically remove pruned neurons/filters: smaller Linear/Conv2d pairs, and the digits CNN shrunk.

A unit (linear output row, conv filter) whose weights are all pruned is removed together with its
bias, and the next layer loses the matching inputs (Linear columns, Conv2d input channels, or
the flattened positions of a channel feeding a Linear). The masked model gives the same outputs
when its removed units' biases are zeroed too (``evaluators.cnn.finetune.apply_masks`` does so),
which the tests check.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from evaluators.cnn.model import DigitsCNN

__all__ = ["kept_units", "shrink_cnn", "shrink_conv_pair", "shrink_linear_pair"]


def kept_units(keep: Tensor) -> Tensor:
    """Bool vector of the output units with at least one kept weight (any weight shape)."""
    return keep.reshape(keep.shape[0], -1).any(dim=1)


def _copy_bias(target: nn.Module, source: nn.Module, rows: Tensor) -> None:
    """Copy the kept entries of source's bias into target's (both may be None)."""
    if source.bias is not None:
        target.bias.copy_(source.bias[rows])


@torch.no_grad()
def shrink_linear_pair(first: nn.Linear, second: nn.Linear, rows: Tensor) -> tuple[nn.Linear, nn.Linear]:
    """first keeping only `rows` (bool, out of first), second keeping the matching input columns."""
    idx = torch.nonzero(rows).squeeze(1)
    a = nn.Linear(first.in_features, len(idx), bias=first.bias is not None)
    a.weight.copy_(first.weight[idx])
    _copy_bias(a, first, idx)
    b = nn.Linear(len(idx), second.out_features, bias=second.bias is not None)
    b.weight.copy_(second.weight[:, idx])
    _copy_bias(b, second, torch.arange(second.out_features))
    return a, b


def _conv_like(conv: nn.Conv2d, in_channels: int, out_channels: int) -> nn.Conv2d:
    """A Conv2d with conv's geometry and other channel counts."""
    return nn.Conv2d(in_channels, out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                     bias=conv.bias is not None)


@torch.no_grad()
def shrink_conv_pair(first: nn.Conv2d, second: nn.Conv2d, filters: Tensor) -> tuple[nn.Conv2d, nn.Conv2d]:
    """first keeping only `filters` (bool), second keeping the matching input channels."""
    idx = torch.nonzero(filters).squeeze(1)
    a = _conv_like(first, first.in_channels, len(idx))
    a.weight.copy_(first.weight[idx])
    _copy_bias(a, first, idx)
    b = _conv_like(second, len(idx), second.out_channels)
    b.weight.copy_(second.weight[:, idx])
    _copy_bias(b, second, torch.arange(second.out_channels))
    return a, b


@torch.no_grad()
def shrink_cnn(model: DigitsCNN, masks: Mapping[str, Tensor]) -> DigitsCNN:
    """A smaller DigitsCNN without the units whose weights the masks prune entirely (weights masked)."""
    units = {name: kept_units(masks[name]) if name in masks else None for name in ("conv1", "conv2", "fc1")}
    weights = {n: getattr(model, n).weight * masks[n].view_as(getattr(model, n).weight) if n in masks
               else getattr(model, n).weight for n in ("conv1", "conv2", "fc1", "fc2")}
    full = {"conv1": model.conv1.out_channels, "conv2": model.conv2.out_channels, "fc1": model.fc1.out_features}
    keep = {n: u if u is not None else torch.ones(full[n], dtype=torch.bool) for n, u in units.items()}
    c1, c2, h = (torch.nonzero(keep[n]).squeeze(1) for n in ("conv1", "conv2", "fc1"))
    spatial = model.fc1.in_features // model.conv2.out_channels
    fc1_cols = (c2.unsqueeze(1) * spatial + torch.arange(spatial)).reshape(-1)
    small = DigitsCNN(len(c1), len(c2), len(h))
    small.conv1.weight.copy_(weights["conv1"][c1])
    small.conv1.bias.copy_(model.conv1.bias[c1])
    small.conv2.weight.copy_(weights["conv2"][c2][:, c1])
    small.conv2.bias.copy_(model.conv2.bias[c2])
    small.fc1.weight.copy_(weights["fc1"][h][:, fc1_cols])
    small.fc1.bias.copy_(model.fc1.bias[h])
    small.fc2.weight.copy_(weights["fc2"][:, h])
    small.fc2.bias.copy_(model.fc2.bias)
    return small.eval()
