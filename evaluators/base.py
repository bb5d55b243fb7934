"""The Task interface every fitness task implements, and the Fitness it returns."""
from __future__ import annotations

import dataclasses
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from evaluators.heldout import HeldOut, HeldOutPlan
    from primitives.metric import Metric
    from primitives.recipe import Entry, Recipe

DIRECTIONS = ("min", "max")
log = logging.getLogger(__name__)


class ScoreError(ValueError):
    """A candidate that cannot rank weights: missing operands, scores that are not finite, constant or
    of the wrong shape. The message is the whole reason recorded with the failed Fitness."""


def worst(direction: str) -> float:
    """The worst fitness of a direction: +inf for "min" tasks, 0.0 for "max" tasks.

    Max-tasks score in [0, 1] (AUC, accuracy), so 0.0 is below every real score and, unlike
    -inf, survives JSON and SQL round trips as an ordinary number.
    """
    if direction == "min":
        return math.inf
    if direction == "max":
        return 0.0
    raise ValueError(f"direction must be 'min' or 'max', got {direction!r}")


@dataclass(frozen=True)
class Fitness:
    """The outcome of scoring one metric: value, whether it is valid, why not, wall time, extras."""

    value: float
    ok: bool = True
    reason: str | None = None
    wall_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(cls, direction: str, reason: str, wall_s: float = 0.0, **details: Any) -> Fitness:
        """A failed candidate: the worst value of the direction, ok=False and the reason."""
        return cls(worst(direction), False, reason, wall_s, dict(details))

    @classmethod
    def guarded(cls, direction: str, body: Callable[[float], "Fitness"], what: object = "",
                **details: Any) -> "Fitness":
        """``body(start)`` (start: its ``perf_counter`` time) under the one failure rule: a ScoreError
        fails with its message, any other exception with its type and message (both keeping
        ``details``), and an ok Fitness whose value is not finite fails too. A bad candidate fails,
        never the search."""
        start = time.perf_counter()
        try:
            fit = body(start)
        except ScoreError as exc:
            return cls.failed(direction, str(exc), time.perf_counter() - start, **details)
        except Exception as exc:  # noqa: BLE001 - every candidate error is a failed fitness
            log.debug("candidate %s failed", what, exc_info=True)
            return cls.failed(direction, f"{type(exc).__name__}: {exc}", time.perf_counter() - start, **details)
        if fit.ok and not math.isfinite(fit.value):
            return cls.failed(direction, f"non-finite fitness {fit.value}", fit.wall_s, **fit.details)
        return fit


class Task(ABC):
    """A fitness task: owns a model, data and budget; prepares once, then scores metrics cheaply."""

    name: str
    direction: str
    operands: tuple[str, ...]
    config_class: ClassVar[type | None] = None  # the dataclass of the options, when the task has one
    takes_recipes: ClassVar[bool] = False  # True when score_recipe applies allocations and post-mask steps

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "Task":
        """Build from plain options (a config file's [task_options], ``-o/--option``); an unknown or
        unusable option raises ValueError naming the task."""
        options = dict(options)
        if cls.config_class is not None:
            unknown = set(options) - {f.name for f in dataclasses.fields(cls.config_class)}
            if unknown:
                raise ValueError(f"unknown {cls.name} option(s): {', '.join(sorted(unknown))}")
        try:
            return cls(**options)
        except TypeError as exc:
            raise ValueError(f"bad {cls.name} options: {exc}") from None

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Every setting that changes a score (model, data, sparsity, granularity, budget, ...)."""

    @abstractmethod
    def prepare(self) -> None:
        """The expensive part, once: load model and data, compute or load cached operands."""

    @abstractmethod
    def score(self, metric: Metric) -> Fitness:
        """Prune with the metric, evaluate, restore; failures give Fitness(ok=False, worst value)."""

    def score_recipe(self, recipe: Recipe) -> Fitness:
        """Score a recipe: a bare one (a formula alone) is its metric. A task that applies layer
        allocations and post-mask steps overrides this; any other fails such recipes with one reason."""
        if recipe.is_bare:
            return self.score(recipe.as_metric())
        return Fitness.failed(self.direction, f"task {self.name} scores metrics, not recipes with a layer "
                              "allocation or post-mask step (llm-prune does)")

    def budget_options(self, fraction: float) -> dict[str, Any]:
        """Task options that evaluate on about ``fraction`` of this task's evaluation data.

        Multi-fidelity search scores candidates on these cheaper variants first; a task that has
        no smaller budget cannot take part and says so.
        """
        raise ValueError(f"task {self.name!r} has no reduced evaluation budget: multi-fidelity search "
                         "(fidelity = [...]) needs a task that implements budget_options")

    def held_out(self, plan: HeldOutPlan) -> list[HeldOut]:
        """Tasks scoring under settings this task never saw (``evaluators.heldout``), per setting and
        seed; a task without held-out settings says so."""
        raise ValueError(f"task {self.name!r} has no held-out settings to validate on")

    def proxy_options(self) -> dict[str, Any]:
        """Task options that score with a cheap proxy of this task's fitness (the "proxy" rung of
        multi-fidelity search, below every fraction); a task without one says so."""
        raise ValueError(f"task {self.name!r} has no proxy fitness: the fidelity rung 'proxy' needs a task "
                         "that implements proxy_options (llm-prune: the reconstruction error)")


def score_entry(task: Task, entry: Entry) -> Fitness:
    """A metric or a recipe scored on a task: metrics by ``score``, recipes by ``score_recipe``."""
    from primitives.metric import Metric

    return task.score(entry) if isinstance(entry, Metric) else task.score_recipe(entry)


class PreparedTask(Task):
    """A Task whose expensive state is built once, on first use, and shared with its variants."""

    _state: Any = None

    @abstractmethod
    def _build_state(self) -> Any:
        """Load the model and data, compute or load operands: the state ``prepare`` keeps."""

    def prepare(self) -> None:
        """Build the state once (idempotent)."""
        if self._state is None:
            self._state = self._build_state()

    @property
    def state(self) -> Any:
        """The prepared state (prepares on first use)."""
        self.prepare()
        return self._state
