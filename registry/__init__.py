"""The metric registry: metrics, evaluations, runs and lineage in SQLite or any SQL database.

Names are imported lazily so that ``registry.exporters`` (used by ``metricforge parse``) does
not pay for SQLAlchemy and Alembic.
"""
from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS = {
    "AmbiguousError": "registry.errors", "NotFoundError": "registry.errors", "RegistryError": "registry.errors",
    "settings_key": "registry.keys", "Registry": "registry.store",
    **{name: "registry.records" for name in ("EvaluationRow", "LeaderboardEntry", "LineageRow", "MetricRow",
                                             "RunHistory", "RunRow", "SettingsGroup")},
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'registry' has no attribute {name!r}")
