"""SparseGPT (Frantar & Alistarh 2023): block-sequential OBS pruning with a closed-form update of the
kept weights, always computed in float32 whatever dtype the model is evaluated in.

Variants of the unstructured mask, both chosen per 128-column block on the partially updated weights:
"block" (the authors' code: one threshold over the whole rows x 128 block) and "row" (the lowest
w^2 / diag(U)^2 of each row inside the block, so every row keeps the same count, as Wanda's rows do).
N:M picks the N lowest of every M columns of a row. Damping is 1% of the mean Hessian diagonal.
"""
from __future__ import annotations

import copy
from typing import Any

from evaluators.masks import parse_group

from .blocks import run_block
from .layers import PrunableLayer
from .stats import PERCDAMP, collecting, damped_inverse

BLOCKSIZE = 128
VARIANTS = ("block", "row")


def _lowest(values: Any, k: int) -> Any:
    """Bool mask of the k lowest entries of a 2-D tensor (ties: lower flat index first)."""
    import torch

    flat = values.reshape(-1)
    order = torch.sort(flat, stable=True).indices[:k]
    mask = torch.zeros_like(flat, dtype=torch.bool)
    mask[order] = True
    return mask.view(values.shape)


def _lowest_per_row(values: Any, k: int) -> Any:
    """Bool mask of the k lowest entries of every row (ties: lower column first)."""
    import torch

    mask = torch.zeros_like(values, dtype=torch.bool)
    if k > 0:
        mask.scatter_(1, torch.sort(values, dim=1, stable=True).indices[:, :k], True)
    return mask


def _upper_inverse_factor(h: Any, percdamp: float) -> Any:
    """Upper Cholesky factor U of the damped inverse Hessian (H + d I)^-1 = U^T U, float32."""
    import torch

    return torch.linalg.cholesky(damped_inverse(h, percdamp), upper=True).float()


def prune_weight(w: Any, h: Any, sparsity: float = 0.5, n: int = 0, m: int = 0, blocksize: int = BLOCKSIZE,
                 variant: str = "block", percdamp: float = PERCDAMP, pruned: Any = None) -> Any:
    """SparseGPT's fasterprune on an (out x in) weight with Hessian H = 2 X^T X / n; a new float32 weight.

    With ``pruned`` (a bool out x in mask) the mask is given and only the OBS update is computed;
    otherwise it is chosen per block (``variant``) or per N:M group at ``sparsity``."""
    import torch

    if variant not in VARIANTS:
        raise ValueError(f"SparseGPT variant must be one of {VARIANTS}, got {variant!r}")
    w = w.detach().clone().float()
    h = h.detach().clone().double()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0
    u = _upper_inverse_factor(h, percdamp)
    columns = w.shape[1]
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        w1 = w[:, i1:i2].clone()
        q1 = torch.zeros_like(w1)
        err1 = torch.zeros_like(w1)
        u1 = u[i1:i2, i1:i2]
        diag1 = torch.diag(u1)
        if pruned is not None:
            mask1 = pruned[:, i1:i2].to(w.device, torch.bool)
        elif n == 0:
            saliency = w1 ** 2 / diag1.unsqueeze(0) ** 2
            if variant == "block":
                mask1 = _lowest(saliency, round(saliency.numel() * sparsity))
            else:
                mask1 = _lowest_per_row(saliency, round(saliency.shape[1] * sparsity))
        else:
            mask1 = torch.zeros_like(w1, dtype=torch.bool)
        for i in range(i2 - i1):
            if pruned is None and n and i % m == 0:
                tmp = w1[:, i:i + m] ** 2 / diag1[i:i + m].unsqueeze(0) ** 2
                mask1.scatter_(1, i + torch.topk(tmp, n, dim=1, largest=False).indices, True)
            col = w1[:, i]
            q = col.masked_fill(mask1[:, i], 0)
            q1[:, i] = q
            err = (col - q) / u1[i, i]
            w1[:, i:] -= err.unsqueeze(1) @ u1[i, i:].unsqueeze(0)
            err1[:, i] = err
        w[:, i1:i2] = q1
        w[:, i2:] -= err1 @ u[i1:i2, i2:]
    return w


def obs_update(w: Any, h: Any, keep: Any, blocksize: int = BLOCKSIZE, percdamp: float = PERCDAMP) -> Any:
    """Zero the weights outside a given keep-mask and update the kept ones by SparseGPT's closed form."""
    return prune_weight(w, h, blocksize=blocksize, percdamp=percdamp, pruned=~keep.bool())


def _to_dtype(value: Any, dtype: Any) -> Any:
    """A block keyword argument with its floating tensors (also inside tuples) cast to ``dtype``."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, (tuple, list)):
        return type(value)(_to_dtype(v, dtype) for v in value)
    return value


def sparsegpt_prune(blocks: Any, block_layers: list[list[PrunableLayer]], hiddens: list[Any],
                    kwargs_list: list[dict], sparsity: float, group: str = "layer", variant: str = "block",
                    work_dtype: str = "float32", percdamp: float = PERCDAMP) -> tuple[int, int]:
    """Prune and update every block's layers in order, each block fed by the already pruned ones.

    Each block is copied to ``work_dtype`` (float32 by default): its inputs, Hessians, updates and
    the propagation to the next block are computed there, and the model gets the result cast to
    its own dtype, as the reference prunes in full precision and casts only to evaluate.
    ``percdamp``: the damping, a fraction of the mean Hessian diagonal (the paper's 1% by default)."""
    import torch

    parsed = parse_group(group)
    n, m = (parsed.n, parsed.m) if parsed.kind == "nm" else (0, 0)
    dtype = getattr(torch, work_dtype)
    hiddens = [hd.to(dtype) for hd in hiddens]
    kwargs_list = [{k: _to_dtype(v, dtype) for k, v in kw.items()} for kw in kwargs_list]
    pruned = total = 0
    for layers in block_layers:
        block = blocks[layers[0].block]
        work = copy.deepcopy(block).to(dtype)
        work_layers = _twins(layers, block, work)
        with collecting(work_layers, hessian=True) as stats:
            run_block(work, hiddens, kwargs_list)
        with torch.no_grad():
            for layer, twin in zip(layers, work_layers):
                new = prune_weight(twin.weight, stats[layer.name].hessian(), sparsity, n, m, variant=variant,
                                   percdamp=percdamp)
                twin.weight.copy_(new)
                layer.weight.copy_(new.to(layer.weight.dtype))
                pruned += int((layer.weight == 0).sum())
                total += layer.weight.numel()
        del stats
        hiddens = run_block(work, hiddens, kwargs_list)
        del work
    return pruned, total


def _twins(layers: list[PrunableLayer], block: Any, work: Any) -> list[PrunableLayer]:
    """The layers of a block's working copy that correspond to ``layers`` of the block itself."""
    inside = {id(module): sub for sub, module in block.named_modules()}
    copies = dict(work.named_modules())
    return [PrunableLayer(layer.name, layer.block, copies[inside[id(layer.module)]], layer.transposed)
            for layer in layers]
