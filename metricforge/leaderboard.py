"""The direction of a leaderboard, from the task's own declaration (max: accuracy, AUC; min: perplexity)."""
from __future__ import annotations

from typing import Any, Mapping, Optional

DIRECTIONS = ("min", "max")


def task_direction(task: str) -> str:
    """The direction a registered task declares (``Task.direction``)."""
    from evaluators.tasks import UnknownTaskError, task_class

    try:
        return str(task_class(task).direction)
    except UnknownTaskError as exc:
        raise ValueError(f"{exc}; for a leaderboard of another task give --direction min or max") from None


def leaderboard_direction(registry: Any, task: Optional[str], given: Optional[str],
                          filters: Mapping[str, Any]) -> Optional[str]:
    """``given`` when set (checked); else the direction of the task, or of the one task the filters
    match in the registry; None when the registry holds no matching evaluation."""
    if given is not None:
        if given not in DIRECTIONS:
            raise ValueError(f"--direction {given!r}: use min or max")
        return given
    if task is not None:
        return task_direction(task)
    tasks = sorted({g.task for g in registry.settings_groups(None, **filters) if g.task})
    if not tasks:
        return None
    if len(tasks) > 1:
        raise ValueError(f"evaluations of {len(tasks)} tasks match ({', '.join(tasks)}); pick one with --task")
    return task_direction(tasks[0])
