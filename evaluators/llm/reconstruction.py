"""Layer-wise output reconstruction error of a pruning: a cheap proxy of perplexity, no evaluation pass.

For a prunable linear with dense weight W, pruned weight W' and the Gram matrix H = X^T X of its
inputs over the calibration tokens of the dense model, the squared error of its outputs on those
tokens is ||X (W - W')^T||^2 = tr((W - W') H (W - W')^T). Each layer's error is divided by the
energy of its dense outputs, tr(W H W^T), so wide and narrow layers count alike. The proxy is the
mean of these relative errors over all prunable layers: 0 for the dense model, lower is better
(the direction of perplexity). The geometric mean and the mean per layer role go in the details.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .layers import PrunableLayer


def _out_in(layer: PrunableLayer, stored: Any) -> Any:
    """A weight as stored by its module seen as (out x in)."""
    return stored.t() if layer.transposed else stored


def _quadratic(diff: Any, gram: Any) -> float:
    """tr(D H D^T) in float32 on the Gram matrix's device."""
    d = diff.to(device=gram.device, dtype=gram.dtype)
    return float(((d @ gram) * d).sum())


class Reconstruction:
    """Gram matrices and dense output energies of a prepared model; scores the current weights against
    the dense ones (computed once per prepared state, kept on the Gram matrices' device)."""

    def __init__(self, layers: list[PrunableLayer], dense: Mapping[str, Any], grams: Mapping[str, Any]) -> None:
        """``dense``: the snapshot of every layer's weight as stored; ``grams``: layer -> X^T X."""
        self.layers, self.dense, self.grams = layers, dense, grams
        self.energy = {layer.name: _quadratic(_out_in(layer, dense[layer.name]), grams[layer.name])
                       for layer in layers}

    def errors(self) -> dict[str, float]:
        """layer -> tr((W - W') H (W - W')^T) / tr(W H W^T) of the layer's weight as it is now."""
        import torch

        out = {}
        with torch.no_grad():
            for layer in self.layers:
                diff = _out_in(layer, self.dense[layer.name].float() - layer.module.weight.float())
                error, energy = _quadratic(diff, self.grams[layer.name]), self.energy[layer.name]
                out[layer.name] = error / energy if energy > 0 else (0.0 if error == 0 else math.inf)
        return out


def aggregate(errors: Mapping[str, float]) -> float:
    """The proxy: mean over layers of the relative reconstruction errors."""
    return sum(errors.values()) / max(len(errors), 1)


def summary(errors: Mapping[str, float]) -> dict[str, Any]:
    """Details of a proxy score: the geometric mean over layers and the mean per layer role (q_proj, ...)."""
    values = list(errors.values())
    geomean = 0.0 if not values or min(values) <= 0 else math.exp(sum(map(math.log, values)) / len(values))
    roles: dict[str, list[float]] = {}
    for name, value in errors.items():
        roles.setdefault(name.rsplit(".", 1)[-1], []).append(value)
    return {"reconstruction_geomean": geomean,
            "reconstruction_by_role": {role: sum(v) / len(v) for role, v in roles.items()}}
