"""One tuning trial (budgeted searches over the seeds, progress reports, pruning) and study upkeep.

A trial makes ``reports`` progress reports per seed, at fixed fractions of the budget, so
every trial reports the same steps whatever its population: step ``i * reports + k`` holds the
mean best fitness over seeds ``0..i`` when seed ``i`` has scored ``k / reports`` of the budget
(earlier seeds at their final value). Pruners compare trials at equal steps.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from gp_engine.config import SearchConfig
from gp_engine.tuning_budget import run_budgeted, run_name
from gp_engine.tuning_space import TuneSpace, TuningError

if TYPE_CHECKING:
    from evaluators.base import Task
    from gp_engine.maps.base import EvalMap
    from registry.store import Registry

log = logging.getLogger(__name__)
PRUNERS = ("median", "halving", "none")
STUDY_ATTR = "metricforge"  # the study user attribute holding what a resumed request must share


def make_pruner(kind: str, reports: int) -> Any:
    """Median (from the first seed's report ``reports // 2`` on), successive halving, or none."""
    import optuna

    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=max(1, reports // 2))
    if kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, reports // 2))
    if kind == "none":
        return optuna.pruners.NopPruner()
    raise TuningError(f"unknown pruner {kind!r}; use {', '.join(PRUNERS)}")


class Objective:
    """Callable for study.optimize: a trial's config, its budgeted runs, the mean best fitness."""

    def __init__(self, *, base: SearchConfig, space: TuneSpace, seeds: tuple[int, ...], budget: int,
                 folder: Path, registry: Registry, task: Task, eval_map: EvalMap | None, reports: int) -> None:
        self.base, self.space, self.seeds, self.budget = base, space, seeds, budget
        self.folder, self.registry, self.task, self.map = folder, registry, task, eval_map
        self.reports = reports

    def __call__(self, trial: Any) -> float:
        """Run every seed within the budget; prune between chunks; return the mean best fitness."""
        import optuna

        config = self.space.suggest(trial, self.base)
        finals: list[float] = []
        runs: list[dict[str, Any]] = []
        for i, seed in enumerate(self.seeds):
            cfg = config.replace(seed=seed)
            run = run_budgeted(cfg, self.folder / run_name(cfg, self.budget), budget=self.budget,
                               registry=self.registry, task=self.task, eval_map=self.map,
                               on_progress=self._reporter(trial, i, finals), keep_going=lambda: not trial.should_prune())
            runs.append(run.to_dict())
            trial.set_user_attr("runs", runs)
            if run.stopped:
                raise optuna.TrialPruned(f"pruned at seed {seed} after {run.scored} metrics")
            if run.best is None:
                raise TuningError(f"seed {seed}: no candidate scored successfully in {run.run_dir}")
            finals.append(run.best)
        return sum(finals) / len(finals)

    def _reporter(self, trial: Any, i: int, finals: list[float]) -> Callable[[int, float | None], None]:
        """Report the mean best over seeds at each progress point seed ``i`` passes (once each)."""
        reported = [0]

        def report(scored: int, best: float | None) -> None:
            k = min(self.reports, self.reports * scored // self.budget)
            if best is None or k <= reported[0]:
                return
            value = (sum(finals) + best) / (len(finals) + 1)
            for step in range(reported[0] + 1, k + 1):
                trial.report(value, i * self.reports + step)
            reported[0] = k

        return report


def finished_count(study: Any) -> int:
    """Trials that count toward the requested number: complete or pruned."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def retry_interrupted(study: Any) -> int:
    """Queue once more the settings of failed trials (killed or interrupted); how many were queued.

    A retried trial has the same settings, hence the same run folders, so its searches continue
    from their checkpoints.
    """
    import optuna
    from optuna.trial import TrialState

    with warnings.catch_warnings():  # marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # a no-op without heartbeats
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    queued = 0
    for t in trials:
        if t.state == TrialState.FAIL and t.number not in retried and t.params:
            attrs = {"retry_of": t.number, **({"baseline": True} if t.user_attrs.get("baseline") else {})}
            study.enqueue_trial(t.params, user_attrs=attrs, skip_if_exists=False)
            queued += 1
    if queued:
        log.info("queued %d interrupted trial(s) again", queued)
    return queued


def enqueue_baseline(study: Any, space: TuneSpace, base: SearchConfig) -> None:
    """Make the base config's own settings the first trial, when they lie inside the ranges."""
    params = space.params_of(base)
    if params is None:
        log.info("the base settings lie outside the tuned ranges: no baseline trial")
    else:
        study.enqueue_trial(params, user_attrs={"baseline": True})


def check_identity(study: Any, identity: dict[str, Any]) -> None:
    """Record what a new study was made with; refuse to resume one made with other settings."""
    stored = study.user_attrs.get(STUDY_ATTR)
    if stored is None:
        study.set_user_attr(STUDY_ATTR, identity)
        return
    diff = sorted(k for k in set(stored) | set(identity) if stored.get(k) != identity.get(k))
    if diff:
        raise TuningError(f"study {study.study_name!r} was made with other {', '.join(diff)}; "
                          "use another study name or the same settings")
