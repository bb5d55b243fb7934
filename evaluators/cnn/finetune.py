"""Masked weights in place, a short masked fine-tune, and exact restore of every parameter."""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.nn import functional as F

from evaluators.failure import restore as restore_tensors
from evaluators.failure import snapshot as snapshot_tensors

from .model import ImageData


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every parameter and buffer (restoring is a bit-exact copy back)."""
    return snapshot_tensors(model.state_dict())


def restore(model: nn.Module, saved: Mapping[str, torch.Tensor]) -> None:
    """Copy the saved tensors back into the model in place."""
    restore_tensors(model.state_dict(), saved)


@torch.no_grad()
def apply_masks(modules: Mapping[str, nn.Module], masks: Mapping[str, torch.Tensor]) -> tuple[int, int]:
    """Zero the pruned weights in place, and the bias of every unit left without weights; (pruned, total)."""
    pruned = total = 0
    for name, keep in masks.items():
        module = modules[name]
        module.weight.mul_(keep.view(module.weight.shape).to(module.weight.dtype))
        if module.bias is not None:  # a unit with no weights left is removed, bias included
            module.bias.mul_(keep.reshape(keep.shape[0], -1).any(dim=1).to(module.bias.dtype))
        pruned += int((~keep).sum())
        total += keep.numel()
    return pruned, total


def fine_tune(model: nn.Module, modules: Mapping[str, nn.Module], masks: Mapping[str, torch.Tensor],
              data: ImageData, steps: int, lr: float = 1e-3, batch_size: int = 64, seed: int = 0) -> None:
    """``steps`` seeded Adam steps on the train split, re-applying the masks after every step."""
    if steps <= 0:
        return
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(data.y_train)
    perm, pos = torch.randperm(n, generator=gen), 0
    model.train()
    try:
        with torch.enable_grad():
            for _ in range(steps):
                if pos + batch_size > n:
                    perm, pos = torch.randperm(n, generator=gen), 0
                idx = perm[pos:pos + batch_size]
                pos += batch_size
                opt.zero_grad()
                F.cross_entropy(model(data.x_train[idx]), data.y_train[idx]).backward()
                opt.step()
                apply_masks(modules, masks)
    finally:
        model.zero_grad(set_to_none=True)
        model.eval()
