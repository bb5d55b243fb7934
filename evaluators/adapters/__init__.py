"""Use a metric on any torch model, outside metricforge's tasks.

``collect_operands`` (``evaluators.adapters.operands``) gathers the operands with hooks;
``evaluators.prune_method.MetricPruning`` prunes a Linear or Conv2d weight with them; and
``evaluators.adapters.torch_pruning.MetricImportance`` scores channels for Torch-Pruning
(the optional ``adapters`` extra).
"""
from evaluators.adapters.operands import OPERANDS, collect_operands, prunable_layers

__all__ = ["OPERANDS", "collect_operands", "prunable_layers"]
