"""metricforge: discover pruning and importance metrics by genetic programming, from Python.

    import metricforge as mf
    wanda = mf.parse("wanda")
    result = mf.search(task="mlp-prune", population=16, generations=5, run_dir="runs/demo")
    scores = mf.evaluate([wanda, "mul(abs(W), sqrt(X))"], task="mlp-prune", sparsity=0.9)
    masks = mf.prune(model, result.best[0], sparsity=0.5, group="row", batches=calibration)
    board = mf.Registry.open("metricforge.db").leaderboard("mlp-prune", direction="max")

Names are imported on first use, so ``import metricforge`` loads neither torch nor pandas.
"""
from __future__ import annotations

import logging
from importlib import import_module
from typing import TYPE_CHECKING, Any

logging.getLogger(__name__).addHandler(logging.NullHandler())

_LAZY: dict[str, str] = {
    "parse": "metricforge.api:parse",
    "search": "metricforge.api:search",
    "evaluate": "metricforge.api:evaluate",
    "SearchResult": "metricforge.api:SearchResult",
    "prune": "metricforge.api_prune:prune",
    "Registry": "metricforge.api_registry:Registry",
    "Metric": "primitives.metric:Metric",
    "collect_operands": "evaluators.adapters.operands:collect_operands",
    "MetricPruning": "evaluators.prune_method:MetricPruning",
    "write_report": "metricforge.report:write_report",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:
    from evaluators.adapters.operands import collect_operands
    from evaluators.prune_method import MetricPruning
    from metricforge.api import SearchResult, evaluate, parse, search
    from metricforge.api_prune import prune
    from metricforge.api_registry import Registry
    from metricforge.report import write_report
    from primitives.metric import Metric


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'metricforge' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
