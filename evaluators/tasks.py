"""The task registry: task names to Task classes, and a picklable ``TaskSpec`` (name + options) built
into a Task in any process (the search's workers, the CLI, the studies)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Mapping

# name -> "module:Class"; modules are imported only when the task is built (torch stays lazy).
TASKS: dict[str, str] = {
    "llm-prune": "evaluators.llm.task:LLMPruneTask",
    "mlp-prune": "evaluators.digits.task:MLPPruneTask",
    "cnn-prune": "evaluators.cnn.task:CNNPruneTask",
    "recsys-prune": "evaluators.recsys.task:RecsysPruneTask",
    "embedding-importance": "evaluators.embedding.task:EmbeddingImportanceTask",
}


class UnknownTaskError(KeyError):
    """A task name with no registered implementation."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown task"


@dataclass(frozen=True)
class TaskSpec:
    """What a worker needs to build its own task instance: a registered name and plain options."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    target: str | None = None  # "module:Class" overriding the registry (plugins, tests)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "options": dict(self.options), "target": self.target}


def task_class(name: str, target: str | None = None) -> type:
    """The Task class registered under ``name`` (or the explicit ``target``)."""
    if target is None:
        try:
            target = TASKS[name]
        except KeyError:
            raise UnknownTaskError(f"unknown task {name!r}; known: {', '.join(sorted(TASKS))}") from None
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def build_task(spec: TaskSpec) -> Any:
    """Instantiate (not prepare) the task of a spec: ``Class.from_options(d)`` or ``Class(**d)``."""
    cls = task_class(spec.name, spec.target)
    options = dict(spec.options)
    factory = getattr(cls, "from_options", None)
    if callable(factory):
        return factory(options)
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(f"bad options for task {spec.name!r}: {exc}") from None


def register_task(name: str, target: str) -> None:
    """Register (or replace) a task implementation as "module:Class"."""
    if ":" not in target:
        raise ValueError("target must be 'module:Class'")
    TASKS[name] = target
