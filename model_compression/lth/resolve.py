"""A metric from a reference: a built-in name, a registry name/hash/prefix, or a formula."""
from __future__ import annotations

import os
from pathlib import Path

from primitives.metric import Metric

DEFAULT_REGISTRY = "metricforge.db"


def _registry_url(registry: str | None) -> str | None:
    """The registry to consult: the argument, $METRICFORGE_REGISTRY, or ./metricforge.db when it exists."""
    url = registry or os.environ.get("METRICFORGE_REGISTRY")
    if url:
        return url
    return DEFAULT_REGISTRY if Path(DEFAULT_REGISTRY).is_file() else None


def resolve_metric_ref(ref: str, registry: str | None = None) -> Metric:
    """Built-in by name first, then the registry (name, hash, hash prefix), then the formula text."""
    from primitives.builtins import BUILTINS, builtin

    ref = ref.strip()
    if ref in BUILTINS:
        return builtin(ref)
    url = _registry_url(registry)
    if url is not None:
        from registry.errors import NotFoundError
        from registry.store import Registry

        with Registry.open(url) as reg:
            try:
                row = reg.get_metric(ref)
                return Metric.parse(row.canonical, name=row.name or row.hash)
            except NotFoundError:
                if registry is not None and _looks_like_hash(ref):
                    raise
    return Metric.parse(ref)


def _looks_like_hash(ref: str) -> bool:
    """True for 6 to 16 hex digits (a hash or prefix the registry should have known)."""
    return 6 <= len(ref) <= 16 and all(c in "0123456789abcdef" for c in ref.lower())


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

    url = _registry_url(registry)
    if url is None:
        return None
    skip = {builtin(n).hash for n in BUILTINS} if exclude_builtins else set()
    with Registry.open(url) as reg:
        groups = sorted(reg.settings_groups(task), key=lambda g: -g.evaluations)
        if not groups:
            return None
        for entry in reg.best(task, key=groups[0].settings_key, direction=direction, limit=50):
            if entry.metric.hash not in skip:
                row = entry.metric
                return Metric.parse(row.canonical, name=row.name or row.hash)
    return None
