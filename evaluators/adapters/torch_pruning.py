"""A Torch-Pruning ``Importance`` that scores channels with a metric (optional extra ``adapters``).

``MetricImportance(metric, model, operands)`` scores every element of a Linear or Conv2d weight
with the metric (operands from ``collect_operands`` on the dense model), then a channel by an
aggregate of its elements' scores (``l2`` by default, as ``evaluators.granularity``): the row of
an output channel, the columns (all kernel taps) of an input channel. Torch-Pruning reduces the
channel scores over a dependency group and normalises them as for its own
``MagnitudeImportance``. Operands describe the dense model: prune in one step, or collect them
again before each further step (a layer whose shape changed is an error).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch_pruning as tp
from torch import Tensor, nn
from torch_pruning.pruner import function

from evaluators.prune_method import MetricLike, resolve_metric
from primitives.compile import compile_metric

__all__ = ["AGGREGATES", "MetricImportance"]

AGGREGATES = ("l1", "l2", "max", "mean")
OUT_FNS = (function.prune_conv_out_channels, function.prune_linear_out_channels)
IN_FNS = (function.prune_conv_in_channels, function.prune_linear_in_channels)


def _aggregate(values: Tensor, how: str) -> Tensor:
    """One score per row of a channel x elements matrix."""
    if how == "l1":
        return values.abs().sum(1)
    if how == "l2":
        return values.pow(2).sum(1).sqrt()
    if how == "max":
        return values.max(1).values
    return values.mean(1)


class MetricImportance(tp.importance.GroupMagnitudeImportance):
    """Channel importance from a metric's element scores, for any Torch-Pruning pruner."""

    def __init__(self, metric: MetricLike, model: nn.Module, operands: Mapping[str, Mapping[str, Tensor]], *,
                 aggregate: str = "l2", group_reduction: str = "mean", normalizer: str | None = "mean") -> None:
        """``operands``: per layer name, as ``collect_operands(model, ...)`` returns them."""
        super().__init__(p=2, group_reduction=group_reduction, normalizer=normalizer,
                         target_types=[nn.Conv2d, nn.Linear])
        if aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")
        self.metric, self.aggregate = resolve_metric(metric), aggregate
        self._fn = compile_metric(self.metric)
        names = {m: n for n, m in model.named_modules()}
        self._operands: dict[nn.Module, Mapping[str, Tensor]] = {}
        for name, ops in operands.items():
            module = dict(model.named_modules()).get(name)
            if module is None:
                raise ValueError(f"operands name layer {name!r}, which the model does not have")
            self._operands[module] = ops
        self._names = names
        needed = set(self.metric.tree.operands()) - {"W"}
        for module, ops in self._operands.items():
            missing = needed - set(ops)
            if missing:
                raise ValueError(f"metric {self.metric.text!r} needs {', '.join(sorted(missing))} for layer "
                                 f"{names[module]!r}; collect them with collect_operands")

    def element_scores(self, layer: nn.Module) -> Tensor | None:
        """The metric's scores of a layer's weight as out x in (None: no operands for it)."""
        ops = self._operands.get(layer)
        if ops is None:
            return None
        w = layer.weight.detach().reshape(layer.weight.shape[0], -1)
        shapes = {k: tuple(v.shape) for k, v in ops.items() if k != "W"}
        if any(s[0] not in (1, w.shape[0]) or s[1] not in (1, w.shape[1]) for s in shapes.values()):
            raise ValueError(f"layer {self._names.get(layer)!r} is {tuple(w.shape)} but its operands are {shapes}: "
                             "collect the operands again after each pruning step")
        values = {"W": w, **{k: v.to(w.device) for k, v in ops.items() if k != "W"}}
        return torch.broadcast_to(self._fn(values), w.shape).float()

    @torch.no_grad()
    def __call__(self, group: Any) -> Tensor | None:
        """One importance per channel of the group's root (higher: kept)."""
        group_imp, group_idxs = [], []
        for i, (dep, idxs) in enumerate(group):
            layer, fn = dep.layer, dep.pruning_fn
            if not isinstance(layer, (nn.Conv2d, nn.Linear)) or (fn not in OUT_FNS and fn not in IN_FNS):
                continue
            scores = self.element_scores(layer)
            if scores is None:
                continue
            if fn in OUT_FNS:
                rows = scores[idxs]
            else:  # an input channel: its columns (every kernel tap) in every output row
                per_channel = scores.reshape(scores.shape[0], layer.weight.shape[1], -1).transpose(0, 1)
                rows = per_channel.flatten(1)[idxs]
            group_imp.append(_aggregate(rows, self.aggregate))
            group_idxs.append(group[i].root_idxs)
        if not group_imp:
            return None
        return self._normalize(self._reduce(group_imp, group_idxs), self.normalizer)
