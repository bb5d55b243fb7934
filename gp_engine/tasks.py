"""The search's view of the task registry, which lives with the tasks (``evaluators.tasks``)."""
from evaluators.tasks import TASKS, TaskSpec, UnknownTaskError, build_task, register_task, task_class

__all__ = ["TASKS", "TaskSpec", "UnknownTaskError", "build_task", "register_task", "task_class"]
