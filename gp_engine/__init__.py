"""The evolutionary search: DEAP primitive set and variation, our own loop, checkpoints, maps.

Public API: ``SearchConfig``, ``Search`` (``run()``, ``Search.resume(run_dir)``), ``TaskSpec``,
``build_task``, ``make_map``.
"""
from __future__ import annotations

import logging
from typing import Any

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["Search", "SearchConfig", "TaskSpec", "build_task", "make_map"]


def __getattr__(name: str) -> Any:
    """Lazy exports, so ``import gp_engine`` stays light (no torch until a search is built)."""
    if name == "Search":
        from gp_engine.loop import Search
        return Search
    if name == "SearchConfig":
        from gp_engine.config import SearchConfig
        return SearchConfig
    if name in ("TaskSpec", "build_task"):
        from evaluators import tasks
        return getattr(tasks, name)
    if name == "make_map":
        from gp_engine.maps import make_map
        return make_map
    raise AttributeError(f"module 'gp_engine' has no attribute {name!r}")
