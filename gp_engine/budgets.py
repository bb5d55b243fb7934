"""Evaluation budgets of a run: the full one, reduced ones from ``Task.budget_options`` (and the
"proxy" rung from ``Task.proxy_options``), and their maps.

A reduced budget is the task with options for less evaluation data (or a cheap proxy fitness); its
scores are recorded under its own settings (with a ``budget`` label). In-process it is a
``variant`` of the task that shares the prepared model; in worker processes it is built from its
own TaskSpec.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from gp_engine.maps import make_map
from evaluators.tasks import TaskSpec, build_task
from gp_engine.config import PROXY

if TYPE_CHECKING:
    from evaluators.base import Task
    from gp_engine.config import SearchConfig
    from gp_engine.maps.base import EvalMap


@dataclass
class Budget:
    """One evaluation budget: the settings its scores are recorded under and the map computing them.
    ``label`` is None for the task's full budget."""

    settings: dict[str, Any]
    key: str
    eval_map: "EvalMap"
    label: str | None = None

    @property
    def name(self) -> str:
        """The label used in counters and logs."""
        return self.label or "full"


def budget_label(options: dict[str, Any]) -> str:
    """``k=v,...`` of the task options that make a reduced budget."""
    return ",".join(f"{k}={options[k]}" for k in sorted(options))


def rung_options(task: Task, rung: float | str) -> dict[str, Any]:
    """The task options of one fidelity rung: the task's proxy for "proxy", else a fraction's budget."""
    return task.proxy_options() if rung == PROXY else task.budget_options(float(rung))


def reduced_budgets(task: Task, spec: TaskSpec, fractions: Sequence[float | str],
                    make_map: Callable[[Task | None, TaskSpec], "EvalMap"]) -> list[Budget]:
    """One Budget per rung (the proxy, fractions of the task's evaluation data), smallest first."""
    from registry import settings_key

    budgets: list[Budget] = []
    full_key = settings_key(dict(task.settings()))
    for fraction in fractions:
        options = rung_options(task, fraction)
        sub_spec = TaskSpec(spec.name, {**spec.options, **options}, spec.target)
        settings = dict(build_task(sub_spec).settings())
        settings.setdefault("budget", dict(options))
        key = settings_key(settings)
        if key == full_key or any(b.key == key for b in budgets):
            raise ValueError(f"fidelity {fraction} gives the same evaluation budget as another one "
                             f"({budget_label(options)}): use fewer or more distinct fractions")
        budgets.append(Budget(settings, key, make_map(_sharing_variant(task, options), sub_spec),
                              budget_label(options)))
    return budgets


def _sharing_variant(task: Task, options: dict[str, Any]) -> Task | None:
    """The reduced task sharing the full task's prepared state when it can, else None (built anew)."""
    variant = getattr(task, "variant", None)
    if variant is None:
        return None
    try:
        return variant(**options)
    except ValueError:
        return None


class RunMaps:
    """The evaluation maps of one run (the full budget's, given or built, and one per reduced
    budget), closed together."""

    def __init__(self, config: "SearchConfig", task: Task, spec: TaskSpec, given: "EvalMap | None" = None) -> None:
        self.config = config
        self.full = given if given is not None else self._make(task, spec)
        self._own: list["EvalMap"] = [] if given is not None else [self.full]

    def _make(self, task: Task, spec: TaskSpec) -> "EvalMap":
        cfg = self.config
        extra = {"num_gpus": cfg.gpus_per_worker} if cfg.map == "ray" and cfg.gpus_per_worker else {}
        return make_map(cfg.map, task, spec, cfg.workers, cfg.timeout_s, **extra)

    def reduced_map(self, variant: Task | None, spec: TaskSpec) -> "EvalMap":
        """A map for a reduced budget; in-process it scores the variant sharing the prepared task."""
        if self.config.map == "inprocess" and variant is not None:
            self._own.append(make_map("inprocess", variant, spec))
        else:
            self._own.append(self._make(variant if variant is not None else build_task(spec), spec))
        return self._own[-1]

    def close(self) -> None:
        """Close the maps this object built."""
        for eval_map in self._own:
            eval_map.close()
        self._own = []
