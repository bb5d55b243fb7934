"""A metric or recipe reference resolved against the registry: the one default-registry rule around
``primitives.reference`` (the one resolver, whose docstring gives the order).

The registry consulted is the one given (a ``Registry``, a URL or a SQLite path), else
``$METRICFORGE_REGISTRY``, else ``./metricforge.db`` when that file exists. Resolving only reads:
it opens a registry only when a reference needs it (not for a built-in or a formula), and never
creates the default file.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from primitives.metric import Metric
from primitives.recipe import Recipe
from primitives.reference import MetricSource, Reference, StoredMetric, resolve_metric, resolve_recipe

if TYPE_CHECKING:
    from registry.store import Registry

ENV_VAR = "METRICFORGE_REGISTRY"
DEFAULT_PATH = "metricforge.db"


def consulted_registry(given: str | os.PathLike[str] | None = None) -> str | None:
    """The registry a reference is looked up in: ``given``, $METRICFORGE_REGISTRY, or
    ./metricforge.db when it exists; None when there is none to consult."""
    url = os.fspath(given) if given is not None else os.environ.get(ENV_VAR)
    if url:
        return url
    return DEFAULT_PATH if Path(DEFAULT_PATH).is_file() else None


class _OpenOnUse:
    """A registry at a URL, opened on the first lookup and closed by ``close``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._registry: Registry | None = None

    def get_metric(self, ref: str) -> StoredMetric:
        if self._registry is None:
            from registry.errors import NotFoundError
            from registry.store import Registry

            if "://" not in self.url and not Path(self.url).expanduser().is_file():
                raise NotFoundError(f"there is no registry at {self.url}")

            self._registry = Registry.open(self.url)
        return self._registry.get_metric(ref)

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()


@contextlib.contextmanager
def consulted_source(registry: MetricSource | str | os.PathLike[str] | None = None) -> Iterator[MetricSource | None]:
    """The registry to look references up in, by the rule above (None: there is none), opened on
    first use and closed on exit; an open registry passed in is used as it is."""
    if registry is not None and not isinstance(registry, (str, os.PathLike)):
        yield registry
        return
    url = consulted_registry(registry)
    if url is None:
        yield None
        return
    source = _OpenOnUse(url)
    try:
        yield source
    finally:
        source.close()


def resolve_reference(ref: Reference, registry: MetricSource | str | os.PathLike[str] | None = None,
                      operands: Iterable[str] | None = None) -> Metric:
    """The Metric a reference names, looked up in ``registry`` (an open one, a location, or the
    default rule above) when it is not a Metric, a row, a built-in or a formula."""
    with consulted_source(registry) as source:
        return resolve_metric(ref, source, operands)


def resolve_recipe_reference(ref: Reference, registry: MetricSource | str | os.PathLike[str] | None = None,
                             operands: Iterable[str] | None = None) -> Recipe:
    """The Recipe a reference names (a metric as its bare recipe), looked up as ``resolve_reference`` does."""
    with consulted_source(registry) as source:
        return resolve_recipe(ref, source, operands)
