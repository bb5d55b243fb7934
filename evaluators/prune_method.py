"""A metric from the metric language as a ``torch.nn.utils.prune`` method.

``metric_prune(linear, metric="wanda", amount=0.5, group="row", operands={"X": x_norm})``
mirrors ``prune.l1_unstructured``: it reparametrises ``linear.weight`` as ``weight_orig *
weight_mask``, and ``prune.remove(linear, "weight")`` makes the pruning permanent.

The metric is a formula, a built-in name, a ``Metric`` or a registry row (anything with a
``canonical`` formula, such as ``Registry.get_metric(...)`` or a leaderboard entry). It sees
``{"W": weight, **operands}`` (W: the raw weight, out x in; a Conv2d weight K x C x R x S as K x
(C*R*S), the layout of ``evaluators.adapters.collect_operands``) and its scores are broadcast to
that shape; the lowest ``amount`` of every comparison group (``evaluators.masks``) are pruned.
Linear and Conv2d weights, pruned once: to prune a parameter again, ``prune.remove`` it first
(torch's container would hand the method a flat slice of the weight, on which rows and operands
lose their meaning).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Union

import torch
from torch import Tensor, nn
from torch.nn.utils import prune

from evaluators.masks import Group, check_sparsity, keep_mask, parse_group
from primitives.compile import compile_metric
from primitives.metric import Metric
from primitives.reference import StoredMetric
from primitives.reference import resolve_metric as resolve_reference

__all__ = ["MetricLike", "MetricPruning", "metric_prune", "resolve_metric"]


MetricLike = Union[Metric, str, StoredMetric, Mapping[str, Any]]


def resolve_metric(metric: MetricLike) -> Metric:
    """A Metric as given, a built-in by name ("wanda"), the parse of a formula ("mul(abs(W), X)"),
    or the metric of a registry row (``primitives.reference``, the one resolver)."""
    return resolve_reference(metric)


class MetricPruning(prune.BasePruningMethod):
    """Prune the lowest-scoring ``amount`` of each group of a Linear or Conv2d weight, scored by a metric."""

    PRUNING_TYPE = "unstructured"

    def __init__(
        self,
        metric: MetricLike,
        amount: float = 0.5,
        group: str | Group = "row",
        operands: Mapping[str, Tensor] | None = None,
    ) -> None:
        """Check the metric, amount, group and operands now, so a bad call fails before any change."""
        self.metric = resolve_metric(metric)
        self.group = parse_group(group)
        if self.group.kind == "global":
            raise ValueError("group 'global' spans several layers: use evaluators.masks.global_keep_masks")
        self.amount = check_sparsity(amount, self.group)
        self.operands = dict(operands or {})
        if "W" in self.operands:
            raise ValueError("operand 'W' is the pruned weight itself; do not pass it in operands")
        needed = self.metric.tree.operands()  # the tree as written is what gets compiled
        missing = [name for name in needed if name != "W" and name not in self.operands]
        if missing:
            raise ValueError(
                f"metric {self.metric.text!r} needs operand(s) {', '.join(missing)} "
                f"that were not given (operands={sorted(self.operands)})"
            )
        self._fn: Callable[[Mapping[str, Tensor]], Tensor] = compile_metric(self.metric)

    def scores(self, t: Tensor) -> Tensor:
        """The metric's scores of weight t (a conv weight flattened to K x C*R*S), in that 2-D shape."""
        if t.dim() not in (2, 4):
            raise ValueError(
                f"MetricPruning needs a whole 2-D Linear (out x in) or 4-D Conv2d (K x C x R x S) weight, got shape "
                f"{tuple(t.shape)}; a parameter that is already pruned must be prune.remove()d before pruning it again"
            )
        t = t.reshape(t.shape[0], -1)
        with torch.no_grad():
            values = {"W": t.detach(), **{k: v.detach().to(t.device) for k, v in self.operands.items()}}
            scores = self._fn(values)
            try:
                return torch.broadcast_to(torch.as_tensor(scores, device=t.device), t.shape)
            except RuntimeError as err:
                shape = tuple(torch.as_tensor(scores).shape)
                raise ValueError(
                    f"metric scores of shape {shape} do not broadcast to the weight {tuple(t.shape)}"
                ) from err

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The default mask with the lowest-scoring weights of every group set to zero."""
        keep = keep_mask(self.scores(t), self.amount, self.group).reshape(t.shape)
        return default_mask * keep.to(dtype=default_mask.dtype, device=default_mask.device)

    @classmethod
    def apply(  # type: ignore[override]
        cls,
        module: nn.Module,
        name: str,
        metric: MetricLike,
        amount: float = 0.5,
        group: str | Group = "row",
        operands: Mapping[str, Tensor] | None = None,
    ) -> MetricPruning:
        """Reparametrise module.name as name_orig * name_mask (see torch's BasePruningMethod.apply)."""
        return super().apply(module, name, metric=metric, amount=amount, group=group, operands=operands)


def metric_prune(
    module: nn.Module,
    name: str = "weight",
    metric: MetricLike = "magnitude",
    amount: float = 0.5,
    group: str | Group = "row",
    operands: Mapping[str, Tensor] | None = None,
) -> nn.Module:
    """Prune module.name by a metric, like prune.l1_unstructured; returns the module."""
    if not isinstance(getattr(module, name, None), Tensor):
        raise ValueError(f"{type(module).__name__} has no tensor {name!r} to prune")  # noqa: TRY004
    if hasattr(module, name + "_orig"):
        raise ValueError(f"{name!r} of {type(module).__name__} is already pruned; prune.remove it first")
    MetricPruning.apply(module, name, metric=metric, amount=amount, group=group, operands=operands)
    return module
