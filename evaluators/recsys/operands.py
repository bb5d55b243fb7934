"""Metric operands of a CTR model's layers from its calibration rows.

MLP Linear layers (out x in): ``W``; ``G`` = sqrt(sum over calibration batches of
(100 dL_b/dW)^2); ``X`` = L2 norm of each input column over the calibration rows (1 x in);
``Xs`` = mean over batches of each column's squared norm; ``Y`` = L2 norm of each output row
(out x 1); ``Hd`` = diagonal of the inverse damped input Hessian X^T X / n + 0.01 mean(diag) I.
Embedding tables (rows x dim): ``W`` and ``G`` only (their input is one-hot).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from evaluators.recsys.data import Split
from evaluators.recsys.train import bce_loss, one_thread

GRAD_SCALE = 100.0
HESSIAN_DAMP = 0.01
MLP_OPERANDS: tuple[str, ...] = ("W", "G", "X", "Xs", "Y", "Hd")
EMBEDDING_OPERANDS: tuple[str, ...] = ("W", "G")


def _linear_stats(inputs: list[Tensor], outputs: list[Tensor]) -> dict[str, Tensor]:
    """X, Xs, Y and Hd of one Linear layer from its captured inputs and outputs."""
    x_all = torch.cat(inputs).double()
    y_all = torch.cat(outputs).double()
    hessian = x_all.T @ x_all / len(x_all)
    damp = HESSIAN_DAMP * hessian.diagonal().mean().clamp_min(1e-12)
    hinv = torch.linalg.inv(hessian + damp * torch.eye(len(hessian), dtype=torch.float64))
    xs = torch.stack([t.double().pow(2).sum(dim=0) for t in inputs]).mean(dim=0)
    return {"X": x_all.norm(dim=0, keepdim=True).float(), "Xs": xs.unsqueeze(0).float(),
            "Y": y_all.norm(dim=0).unsqueeze(1).float(), "Hd": hinv.diagonal().unsqueeze(0).float()}


def compute_operands(model: nn.Module, calib: Split, batch_size: int = 256) -> dict[str, dict[str, Tensor]]:
    """Operands per layer name: every ``model.mlp_layers()`` and ``model.embedding_tables()`` entry."""
    linears: dict[str, nn.Linear] = model.mlp_layers()  # type: ignore[operator]
    tables: dict[str, nn.Embedding] = model.embedding_tables()  # type: ignore[operator]
    weighted = {**linears, **tables}
    inputs: dict[str, list[Tensor]] = {n: [] for n in linears}
    outputs: dict[str, list[Tensor]] = {n: [] for n in linears}
    grad_sq = {n: torch.zeros_like(m.weight, dtype=torch.float64) for n, m in weighted.items()}

    def hook(name: str):
        def capture(_m: nn.Module, args: tuple, out: Tensor) -> None:
            inputs[name].append(args[0].detach())
            outputs[name].append(out.detach())
        return capture

    was_training = model.training
    model.eval()  # no dropout in the statistics
    handles = [m.register_forward_hook(hook(n)) for n, m in linears.items()]
    try:
        with one_thread():
            for batch in calib.batches(batch_size):
                model.zero_grad(set_to_none=True)
                bce_loss(model(*batch.inputs()), batch).backward()
                for n, m in weighted.items():
                    if m.weight.grad is not None:
                        grad_sq[n] += (GRAD_SCALE * m.weight.grad.double()) ** 2
    finally:
        for h in handles:
            h.remove()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    result: dict[str, dict[str, Tensor]] = {}
    for n, m in weighted.items():
        result[n] = {"W": m.weight.detach().clone(), "G": grad_sq[n].sqrt().float()}
        if n in linears:
            result[n].update(_linear_stats(inputs[n], outputs[n]))
    return result
