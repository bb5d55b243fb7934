"""Metrics for the studies: a reference through the one resolver, or the best evolved registry metric."""
from __future__ import annotations

from primitives.metric import Metric
from registry.lookup import consulted_registry, resolve_reference


def resolve_metric_ref(ref: str, registry: str | None = None) -> Metric:
    """A built-in, registry name/hash/prefix or formula (``primitives.reference`` gives the order)."""
    return resolve_reference(ref, registry)


def best_registry_metric(task: str, registry: str | None = None, exclude_builtins: bool = True) -> Metric | None:
    """The top metric of the task's most-evaluated settings group (in the task's direction), or None.

    With exclude_builtins, the published metrics are skipped, so this is the best evolved one.
    """
    from evaluators.tasks import UnknownTaskError, task_class
    from primitives.builtins import BUILTINS, builtin
    from registry.store import Registry

    try:
        direction = task_class(task).direction
    except UnknownTaskError:
        direction = "max"

    url = consulted_registry(registry)
    if url is None:
        return None
    skip = {builtin(n).hash for n in BUILTINS} if exclude_builtins else set()
    with Registry.open(url) as reg:
        groups = sorted(reg.settings_groups(task), key=lambda g: -g.evaluations)
        if not groups:
            return None
        for entry in reg.best(task, key=groups[0].settings_key, direction=direction, limit=50):
            if entry.metric.hash not in skip:
                return resolve_reference(entry.metric)
    return None
