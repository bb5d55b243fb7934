"""Evaluation backends: in-process, a spawn process pool, Ray actors."""
from __future__ import annotations

import importlib.util
from typing import Any

from evaluators.base import Task, worst
from gp_engine.maps.base import EvalMap, failed, score_text, to_fitness
from evaluators.tasks import TaskSpec

__all__ = ["EvalMap", "failed", "make_map", "score_text", "to_fitness", "worst"]


def make_map(kind: str, task: Task, spec: TaskSpec, workers: int = 2,
             timeout_s: float | None = None, **options: Any) -> EvalMap:
    """The backend called ``kind`` ("inprocess", "pool", "ray") for a task and its spec."""
    if kind == "inprocess":
        from gp_engine.maps.inprocess import InProcessMap
        return InProcessMap(task)
    if kind == "pool":
        from gp_engine.maps.pool import PoolMap
        return PoolMap(spec, task.direction, workers=workers, timeout_s=timeout_s, **options)
    if kind == "ray":
        if importlib.util.find_spec("ray") is None:
            raise RuntimeError("the ray map needs the ray extra: pip install 'metricforge[ray]'")
        from gp_engine.maps.ray_map import RayMap
        return RayMap(spec, task.direction, workers=workers, timeout_s=timeout_s, **options)
    raise ValueError(f"unknown map {kind!r}: use inprocess, pool or ray")
