"""Operands of every Linear layer of the digits MLP from its calibration data.

Per layer: ``W`` (out x in), ``G`` = sqrt(sum over calibration batches of (100 dL_b/dW)^2),
``X`` = L2 norm of each input column over the calibration samples (1 x in), ``Xs`` = mean over
batches of each column's squared norm, ``Y`` = L2 norm of each output row (out x 1) and ``Hd`` =
diagonal of the inverse damped input Hessian X^T X / n + 0.01 mean(diag) I (1 x in).
"""
from __future__ import annotations

import torch
from torch import nn

from evaluators.digits.model import DigitsData, one_thread

GRAD_SCALE = 100.0
HESSIAN_DAMP = 0.01


def linear_layers(model: nn.Module) -> dict[str, nn.Linear]:
    """The Linear layers by module name, in forward order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, nn.Linear)}


def compute_operands(model: nn.Module, data: DigitsData, batch: int) -> dict[str, dict[str, torch.Tensor]]:
    """Operand tensors per layer name (float32, CPU, detached)."""
    layers = linear_layers(model)
    inputs: dict[str, list[torch.Tensor]] = {n: [] for n in layers}
    outputs: dict[str, list[torch.Tensor]] = {n: [] for n in layers}
    grad_sq = {n: torch.zeros_like(m.weight, dtype=torch.float64) for n, m in layers.items()}

    def hook(name: str):
        def capture(_m: nn.Module, args: tuple, out: torch.Tensor) -> None:
            inputs[name].append(args[0].detach())
            outputs[name].append(out.detach())
        return capture

    handles = [m.register_forward_hook(hook(n)) for n, m in layers.items()]
    try:
        with one_thread():
            for start in range(0, len(data.y_calib), batch):
                x, y = data.x_calib[start:start + batch], data.y_calib[start:start + batch]
                model.zero_grad()
                nn.functional.cross_entropy(model(x), y).backward()
                for n, m in layers.items():
                    grad_sq[n] += (GRAD_SCALE * m.weight.grad.double()) ** 2
    finally:
        for h in handles:
            h.remove()
        model.zero_grad(set_to_none=True)
    result: dict[str, dict[str, torch.Tensor]] = {}
    for n, m in layers.items():
        xs = [t.double() for t in inputs[n]]
        x_all = torch.cat(xs)
        y_all = torch.cat(outputs[n]).double()
        hessian = x_all.T @ x_all / len(x_all)
        damp = HESSIAN_DAMP * hessian.diagonal().mean().clamp_min(1e-12)
        hinv = torch.linalg.inv(hessian + damp * torch.eye(len(hessian), dtype=torch.float64))
        result[n] = {
            "W": m.weight.detach().clone(),
            "G": grad_sq[n].sqrt().float(),
            "X": x_all.norm(dim=0, keepdim=True).float(),
            "Xs": torch.stack([(t ** 2).sum(dim=0) for t in xs]).mean(dim=0, keepdim=True).float(),
            "Y": y_all.norm(dim=0).unsqueeze(1).float(),
            "Hd": hinv.diagonal().unsqueeze(0).float(),
        }
    return result
