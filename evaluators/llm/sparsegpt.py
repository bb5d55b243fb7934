"""SparseGPT (Frantar & Alistarh 2023) as the weight-updating reference: block-sequential OBS pruning."""
from __future__ import annotations

from typing import Any

from evaluators.masks import parse_group

from .blocks import run_block
from .layers import PrunableLayer
from .stats import PERCDAMP, collecting, damped_inverse

BLOCKSIZE = 128


def _lowest(values: Any, k: int) -> Any:
    """Bool mask of the k lowest entries of a 2-D tensor (ties: lower flat index first)."""
    import torch

    flat = values.reshape(-1)
    order = torch.sort(flat, stable=True).indices[:k]
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask[order] = True
    return mask.view(values.shape)


def prune_weight(w: Any, h: Any, sparsity: float, n: int = 0, m: int = 0, blocksize: int = BLOCKSIZE) -> Any:
    """SparseGPT's fasterprune on an (out x in) float32 weight with Hessian H; returns the new weight."""
    import torch

    w = w.clone().float()
    dead = torch.diag(h) == 0
    w[:, dead] = 0
    hinv = torch.linalg.cholesky(damped_inverse(h, PERCDAMP), upper=True).float()
    columns = w.shape[1]
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        w1 = w[:, i1:i2].clone()
        q1 = torch.zeros_like(w1)
        err1 = torch.zeros_like(w1)
        hinv1 = hinv[i1:i2, i1:i2]
        diag1 = torch.diag(hinv1)
        if n == 0:  # unstructured: the lowest w^2 / diag(U)^2 of the whole column block
            mask1 = _lowest(w1 ** 2 / diag1.unsqueeze(0) ** 2, round(w1.numel() * sparsity))
        else:
            mask1 = torch.zeros_like(w1, dtype=torch.bool)
        for i in range(i2 - i1):
            if n and i % m == 0:
                tmp = w1[:, i:i + m] ** 2 / diag1[i:i + m].unsqueeze(0) ** 2
                mask1.scatter_(1, i + torch.topk(tmp, n, dim=1, largest=False).indices, True)
            col = w1[:, i]
            q = col.masked_fill(mask1[:, i], 0)
            q1[:, i] = q
            err = (col - q) / hinv1[i, i]
            w1[:, i:] -= err.unsqueeze(1) @ hinv1[i, i:].unsqueeze(0)
            err1[:, i] = err
        w[:, i1:i2] = q1
        w[:, i2:] -= err1 @ hinv[i1:i2, i2:]
    return w


def sparsegpt_prune(blocks: Any, block_layers: list[list[PrunableLayer]], hiddens: list[Any],
                    kwargs_list: list[dict], sparsity: float, group: str = "layer") -> tuple[int, int]:
    """Prune and update every block's layers in order, each block fed by the pruned earlier ones."""
    import torch

    parsed = parse_group(group)
    n, m = (parsed.n, parsed.m) if parsed.kind == "nm" else (0, 0)
    pruned = total = 0
    for layers in block_layers:
        block = blocks[layers[0].block]
        with collecting(layers, hessian=True) as stats:
            run_block(block, hiddens, kwargs_list)
        with torch.no_grad():
            for layer in layers:
                new = prune_weight(layer.weight, stats[layer.name].hessian(), sparsity, n, m)
                layer.weight.copy_(new.to(layer.weight.dtype))
                pruned += int((layer.weight == 0).sum())
                total += layer.weight.numel()
        del stats
        hiddens = run_block(block, hiddens, kwargs_list)
    return pruned, total
