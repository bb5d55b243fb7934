"""Operands of any torch model's Linear and Conv2d layers, gathered with hooks over calibration batches.

``collect_operands(model, batches, operands=("X", "G"))`` needs none of metricforge's tasks: it
runs the batches through the model (and backward, for ``G``) and returns, per layer name, the
operands a metric reads. Definitions are those of the tasks (``evaluators.digits.operands``,
``evaluators.cnn.operands``), so a metric's mask here equals the task's bit for bit; a conv
weight K x C x R x S is seen as K x (C*R*S), its inputs as im2col patches:

- ``X`` (1 x in): L2 norm of each input column over every calibration token, sample or position;
- ``Xs`` (1 x in): mean over batches of each input column's squared norm;
- ``G`` (out x in): sqrt of the sum over batches of (100 dL/dW)^2;
- ``Y`` (out x 1): L2 norm of each output row (neuron, channel) over the calibration data;
- ``Hd`` (1 x in): diagonal of the inverse damped input Hessian X^T X / n + 0.01 mean(diag) I;
- ``W`` (out x in): the weight itself (MetricPruning takes it from the module, so it is optional).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from evaluators.cnn.operands import input_columns, output_rows

__all__ = ["OPERANDS", "collect_operands", "prunable_layers"]

OPERANDS = ("W", "G", "X", "Xs", "Y", "Hd")
GRAD_SCALE = 100.0
HESSIAN_DAMP = 0.01
Loss = Callable[[Tensor, Any], Tensor]


def prunable_layers(model: nn.Module, names: Sequence[str] | None = None) -> dict[str, nn.Module]:
    """The Linear and Conv2d layers by module name, in registration order (or those named)."""
    layers = {n: m for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}
    if names is None:
        return layers
    unknown = [n for n in names if n not in layers]
    if unknown:
        raise ValueError(f"no Linear or Conv2d layer named {', '.join(unknown)}; layers: {', '.join(layers)}")
    return {n: layers[n] for n in names}


def _split(batch: Any) -> tuple[Any, Any]:
    """(inputs, targets) of a batch given as a pair, or (inputs, None)."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    return batch, None


def _flat(weight: Tensor) -> Tensor:
    return weight.detach().reshape(weight.shape[0], -1)


def collect_operands(model: nn.Module, batches: Iterable[Any], operands: Sequence[str] = ("X", "G"), *,
                     layers: Sequence[str] | None = None, loss: Loss | None = None) -> dict[str, dict[str, Tensor]]:
    """Per layer name, the requested operands (float32, CPU, 2-D). ``batches``: (inputs, targets)
    pairs, or inputs alone when no ``G`` is asked for; ``loss(outputs, targets)`` for ``G``
    defaults to cross-entropy."""
    bad = [o for o in operands if o not in OPERANDS]
    if bad:
        raise ValueError(f"unknown operand(s) {', '.join(bad)}; known: {', '.join(OPERANDS)}")
    chosen = prunable_layers(model, layers)
    if not chosen:
        raise ValueError(f"{type(model).__name__} has no Linear or Conv2d layer")
    want_in, want_out, want_grad = bool({"X", "Xs", "Hd"} & set(operands)), "Y" in operands, "G" in operands
    inputs: dict[str, list[Tensor]] = {n: [] for n in chosen}
    outputs: dict[str, list[Tensor]] = {n: [] for n in chosen}
    grad_sq = {n: torch.zeros(_flat(m.weight).shape, dtype=torch.float64) for n, m in chosen.items()} if want_grad else {}

    def hook(name: str, module: nn.Module) -> Callable[..., None]:
        def capture(_m: nn.Module, args: tuple, out: Tensor) -> None:
            if want_in:
                inputs[name].append(input_columns(module, args[0].detach()).cpu())
            if want_out:
                outputs[name].append(output_rows(out.detach()).cpu())
        return capture

    handles = [m.register_forward_hook(hook(n, m)) for n, m in chosen.items()]
    seen = 0
    try:
        with torch.enable_grad() if want_grad else torch.no_grad():
            for batch in batches:
                x, y = _split(batch)
                seen += 1
                if not want_grad:
                    model(x)
                    continue
                if y is None:
                    raise ValueError("operand G needs (inputs, targets) batches for the loss")
                model.zero_grad()
                (loss or F.cross_entropy)(model(x), y).backward()
                for n, m in chosen.items():
                    grad_sq[n] += (GRAD_SCALE * m.weight.grad.detach().double().cpu().reshape(m.weight.shape[0], -1)) ** 2
    finally:
        for h in handles:
            h.remove()
        if want_grad:
            model.zero_grad(set_to_none=True)
    if not seen:
        raise ValueError("no calibration batches")
    return {n: _layer_operands(m, operands, inputs[n], outputs[n], grad_sq.get(n)) for n, m in chosen.items()}


def _layer_operands(module: nn.Module, operands: Sequence[str], inputs: list[Tensor], outputs: list[Tensor],
                    grad_sq: Tensor | None) -> dict[str, Tensor]:
    """One layer's operands from its captured inputs, outputs and squared gradients."""
    result: dict[str, Tensor] = {}
    xs = [t.double() for t in inputs]
    if "W" in operands:
        result["W"] = _flat(module.weight).cpu().clone()
    if "G" in operands and grad_sq is not None:
        result["G"] = grad_sq.sqrt().float()
    if "X" in operands:
        result["X"] = torch.cat(xs).norm(dim=0, keepdim=True).float()
    if "Xs" in operands:
        result["Xs"] = torch.stack([(t ** 2).sum(dim=0) for t in xs]).mean(dim=0, keepdim=True).float()
    if "Y" in operands:
        result["Y"] = torch.cat(outputs).double().norm(dim=0).unsqueeze(1).float()
    if "Hd" in operands:
        x_all = torch.cat(xs)
        hessian = x_all.T @ x_all / len(x_all)
        damp = HESSIAN_DAMP * hessian.diagonal().mean().clamp_min(1e-12)
        hinv = torch.linalg.inv(hessian + damp * torch.eye(len(hessian), dtype=torch.float64))
        result["Hd"] = hinv.diagonal().unsqueeze(0).float()
    return result
