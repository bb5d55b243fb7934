"""``prune(model, metric, ...)``: prune any torch model's Linear and Conv2d layers with a metric."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor, nn

    from evaluators.prune_method import MetricLike

__all__ = ["prune"]


def prune(model: nn.Module, metric: MetricLike, sparsity: float = 0.5, group: str = "row",
          batches: Iterable[Any] = (), *, layers: Sequence[str] | None = None,
          loss: Callable[[Tensor, Any], Tensor] | None = None, permanent: bool = True) -> dict[str, Tensor]:
    """Prune ``model`` in place: operands from ``batches`` ((inputs, targets) pairs; inputs alone
    when the metric reads no G), then the lowest ``sparsity`` of every ``group`` (row, layer, N:M)
    of each Linear and Conv2d layer (or those in ``layers``). Returns the keep-masks by layer name;
    ``permanent=False`` leaves torch's ``weight_orig``/``weight_mask`` reparametrisation in place."""
    from torch.nn.utils import prune as torch_prune

    from evaluators.adapters import collect_operands, prunable_layers
    from evaluators.prune_method import metric_prune, resolve_metric

    resolved = resolve_metric(metric)
    needed = tuple(o for o in resolved.tree.operands() if o != "W")
    chosen = prunable_layers(model, layers)
    operands = collect_operands(model, batches, needed, layers=list(chosen), loss=loss) if needed else {}
    masks: dict[str, Tensor] = {}
    for name, module in chosen.items():
        metric_prune(module, "weight", metric=resolved, amount=sparsity, group=group, operands=operands.get(name))
        masks[name] = module.weight_mask.detach().clone().bool()
        if permanent:
            torch_prune.remove(module, "weight")
    return masks
