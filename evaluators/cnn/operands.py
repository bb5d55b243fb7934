"""Operands of the CNN's conv and linear layers, conv kernels seen as K x (C*R*S) matrices.

A conv weight K x C x R x S is flattened to K x (C*R*S), the column order of ``F.unfold``. Its
input "columns" are the unfolded input patches: every sample and output position contributes one
row of C*R*S values (the im2col matrix), so a conv layer is a linear layer over patches and the
linear operands carry over unchanged:

- ``W``: the flattened weight (out x in);
- ``G``: sqrt(sum over calibration batches of (100 dL_b/dW)^2), flattened (out x in);
- ``X``: L2 norm of each im2col column over every calibration sample and position (1 x in), so
  Wanda's |W| * ||X|| weighs each kernel tap by the energy of the input it sees;
- ``Xs``: mean over batches of each column's squared norm (1 x in);
- ``Y``: L2 norm of each output channel (neuron) over samples and positions (out x 1);
- ``Hd``: diagonal of the inverse damped im2col Hessian X^T X / n + 0.01 mean(diag) I (1 x in).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .model import ImageData, one_thread

GRAD_SCALE = 100.0
HESSIAN_DAMP = 0.01


LAYER_SETS = ("conv", "conv-skip-first", "all")


def prunable_modules(model: nn.Module, layers: str = "conv") -> dict[str, nn.Module]:
    """In forward order: every conv ("conv"), every conv but the first ("conv-skip-first"), or every
    conv plus every Linear but the classifier ("all")."""
    if layers not in LAYER_SETS:
        raise ValueError(f"layers must be one of {', '.join(LAYER_SETS)}, got {layers!r}")
    convs = {n: m for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    if layers == "conv":
        return convs
    if layers == "conv-skip-first":
        return dict(list(convs.items())[1:])
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    return {**convs, **dict(linears[:-1])}


def input_columns(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The layer's input as rows of its weight's columns: im2col patches for a conv, x for a linear."""
    if isinstance(module, nn.Conv2d):
        cols = F.unfold(x, module.kernel_size, module.dilation, module.padding, module.stride)
        return cols.transpose(1, 2).reshape(-1, cols.shape[1])
    return x.reshape(-1, x.shape[-1])


def output_rows(out: torch.Tensor) -> torch.Tensor:
    """Outputs as rows of per-neuron values: N*H*W x K for a conv, N x out for a linear."""
    return out.transpose(1, -1).reshape(-1, out.shape[1]) if out.dim() == 4 else out


def compute_operands(model: nn.Module, data: ImageData, batch: int,
                     layers: dict[str, nn.Module]) -> dict[str, dict[str, torch.Tensor]]:
    """Operand tensors per layer name (float32, CPU, detached, 2-D views)."""
    inputs: dict[str, list[torch.Tensor]] = {n: [] for n in layers}
    outputs: dict[str, list[torch.Tensor]] = {n: [] for n in layers}
    grad_sq = {n: torch.zeros(m.weight.shape[0], m.weight[0].numel(), dtype=torch.float64) for n, m in layers.items()}

    def hook(name: str, module: nn.Module):
        def capture(_m: nn.Module, args: tuple, out: torch.Tensor) -> None:
            inputs[name].append(input_columns(module, args[0].detach()))
            outputs[name].append(output_rows(out.detach()))
        return capture

    handles = [m.register_forward_hook(hook(n, m)) for n, m in layers.items()]
    try:
        with one_thread(), torch.enable_grad():
            for start in range(0, len(data.y_calib), batch):
                x, y = data.x_calib[start:start + batch], data.y_calib[start:start + batch]
                model.zero_grad()
                F.cross_entropy(model(x), y).backward()
                for n, m in layers.items():
                    grad_sq[n] += (GRAD_SCALE * m.weight.grad.double().reshape(m.weight.shape[0], -1)) ** 2
    finally:
        for h in handles:
            h.remove()
        model.zero_grad(set_to_none=True)
    result: dict[str, dict[str, torch.Tensor]] = {}
    for n, m in layers.items():
        xs = [t.double() for t in inputs[n]]
        x_all = torch.cat(xs)
        hessian = x_all.T @ x_all / len(x_all)
        damp = HESSIAN_DAMP * hessian.diagonal().mean().clamp_min(1e-12)
        hinv = torch.linalg.inv(hessian + damp * torch.eye(len(hessian), dtype=torch.float64))
        result[n] = {
            "W": m.weight.detach().reshape(m.weight.shape[0], -1).clone(),
            "G": grad_sq[n].sqrt().float(),
            "X": x_all.norm(dim=0, keepdim=True).float(),
            "Xs": torch.stack([(t ** 2).sum(dim=0) for t in xs]).mean(dim=0, keepdim=True).float(),
            "Y": torch.cat(outputs[n]).double().norm(dim=0).unsqueeze(1).float(),
            "Hd": hinv.diagonal().unsqueeze(0).float(),
        }
    return result
