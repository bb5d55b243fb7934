"""Tune the search's own settings (population, crossover and mutation rates, tournament, elite)
with Optuna over short searches, the study stored in the registry's own database.

Every trial runs one search per seed, each held to the same budget of scored metrics
(``tuning_budget``), so a larger population buys fewer generations, not more compute; metrics
found in the registry (scored by earlier trials) count against the budget like new ones. All
trials use the same seeds. The objective is the mean best fitness over seeds, maximised or
minimised as the task says; progress is reported at fixed fractions of the budget and a pruner
stops hopeless trials. The first trial of a new study is the base config's own settings.

Deterministic (in one process): each new trial samples with a TPE sampler seeded from
``sampler_seed`` and the number of trials finished before it, so a study resumed after an
interruption proposes what an uninterrupted one would. Rerunning the same
request resumes the study (``load_if_exists``) up to ``trials`` complete or pruned trials; an
interrupted trial is queued again and its searches continue from their checkpoints.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gp_engine.config import SearchConfig
from gp_engine.tuning_report import mean_generations, trial_rows
from gp_engine.tuning_space import TuneSpace, TuningError
from gp_engine.tuning_storage import HEARTBEAT_S, adopt_study_file, require_optuna, study_storage
from gp_engine.tuning_trial import (PRUNERS, Objective, check_identity, enqueue_baseline, finished_count,
                                    make_pruner, retry_interrupted)

if TYPE_CHECKING:
    from registry.store import Registry

log = logging.getLogger(__name__)


@dataclass
class TuneRequest:
    """What to tune, how long, and where the runs go."""

    base: SearchConfig
    study: str
    trials: int = 20
    budget: int = 200
    seeds: tuple[int, ...] = (0, 1)
    space: TuneSpace = field(default_factory=TuneSpace)
    runs_dir: Path = Path("runs")
    sampler_seed: int = 0
    pruner: str = "median"
    reports: int = 5  # progress reports per seed, at equal fractions of the budget
    heartbeat_s: int | None = HEARTBEAT_S

    def __post_init__(self) -> None:
        """Check counts and the budget against the largest population."""
        self.seeds, self.runs_dir = tuple(int(s) for s in self.seeds), Path(self.runs_dir)
        if not self.study.strip():
            raise TuningError("the study name is empty")
        if self.trials < 1 or self.reports < 1:
            raise TuningError("trials and reports must be at least 1")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise TuningError(f"seeds must be distinct and not empty, got {list(self.seeds)}")
        if self.pruner not in PRUNERS:
            raise TuningError(f"unknown pruner {self.pruner!r}; use {', '.join(PRUNERS)}")
        biggest = self.space.population[1] if "population" in self.space.tuned else self.base.population
        if self.budget < 2 * biggest:
            raise TuningError(f"budget {self.budget} must be at least twice the largest population ({biggest})")

    def identity(self) -> dict[str, Any]:
        """The settings a resumed study must share: the search (minus tuned settings), budget, seeds."""
        base = {k: v for k, v in self.base.search_identity().items() if k not in self.space.tuned and k != "seed"}
        return {"base": base, "budget": self.budget, "seeds": list(self.seeds),
                "space": self.space.to_dict(), "reports": self.reports}


@dataclass
class TuneResult:
    """A study's trials and its best settings."""

    study: str
    storage: str
    direction: str
    trials: list[dict[str, Any]]
    best: dict[str, Any] | None  # number, value, params of the best complete trial
    best_config: SearchConfig | None
    baseline: dict[str, Any] | None  # the trial of the base config's settings, if run


def tune(request: TuneRequest, registry: Registry | str | None = None) -> TuneResult:
    """Create or resume the study and run trials until ``request.trials`` are complete or pruned."""
    optuna = require_optuna()
    from gp_engine.maps import make_map
    from evaluators.tasks import TaskSpec, build_task
    from registry.store import Registry

    base, spec = request.base, TaskSpec(request.base.task, request.base.task_options)
    task = build_task(spec)
    own = not isinstance(registry, Registry)
    if isinstance(registry, Registry):
        store = registry
    else:
        adopt_study_file(registry)
        store = Registry.open(registry)
    eval_map = storage = None
    try:
        direction = "maximize" if task.direction == "max" else "minimize"
        storage = study_storage(store, request.heartbeat_s)
        study = optuna.create_study(storage=storage, study_name=request.study,
                                    direction=direction, load_if_exists=True,
                                    pruner=make_pruner(request.pruner, request.reports))
        check_identity(study, {**request.identity(), "direction": direction})
        if not study.get_trials(deepcopy=False):
            enqueue_baseline(study, request.space, base)
        retry_interrupted(study)
        eval_map = make_map(base.map, task, spec, base.workers, base.timeout_s)
        objective = Objective(base=base, space=request.space, seeds=request.seeds, budget=request.budget,
                              folder=request.runs_dir / request.study, registry=store, task=task,
                              eval_map=eval_map, reports=request.reports)
        while (done := finished_count(study)) < request.trials:
            study.sampler = optuna.samplers.TPESampler(seed=request.sampler_seed * 1_000_003 + done)
            study.optimize(objective, n_trials=1, catch=(), gc_after_trial=False)
            last = study.trials[-1]
            log.info("trial %d %s: %s %s", last.number, last.state.name.lower(), last.value, last.params)
        return _result(study, request, store.url)
    finally:
        if eval_map is not None:
            eval_map.close()
        if storage is not None:
            storage.engine.dispose()
        if own:
            store.close()


def _result(study: Any, request: TuneRequest, storage: str) -> TuneResult:
    """Rows, the best complete trial and its settings as a config."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = best_config = None
    if complete:
        trial = study.best_trial
        best = {"number": trial.number, "value": trial.value, "params": dict(trial.params)}
        best_config = request.base.replace(**trial.params, generations=mean_generations(trial))
    baseline = next(({"number": t.number, "value": t.value, "params": dict(t.params)} for t in complete
                     if t.user_attrs.get("baseline")), None)
    direction = "max" if study.direction.name == "MAXIMIZE" else "min"
    return TuneResult(request.study, storage, direction, trial_rows(study), best, best_config, baseline)
