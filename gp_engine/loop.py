"""The generation loop: vary, canonicalise, skip what is scored, evaluate, record, checkpoint.

``Search(config, run_dir).run()`` starts or continues the run in ``run_dir``;
``Search.resume(run_dir)`` rebuilds it from the recorded config. A resumed run ends with the
same population, cache and registry contents as an uninterrupted run with the same seed.
"""
from __future__ import annotations

import contextlib
import logging
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from gp_engine.budgets import Budget, RunMaps, reduced_budgets
from gp_engine.cache import FitnessCache
from gp_engine.candidates import Candidate, Counts
from gp_engine.checkpoint import CheckpointError, rng_states, set_rng_states
from gp_engine.config import PROXY, SearchConfig
from gp_engine.env import hardware, library_versions
from gp_engine.fidelity import selection_values
from gp_engine.genome import make_genome
from gp_engine.history import PROGRESS_FILES
from gp_engine.maps import EvalMap
from gp_engine.offspring import offspring
from gp_engine.progress import Progress
from gp_engine.pset import MetricPset, build_pset
from gp_engine.heldout import Validation, ValidationSettings, validate, write_validation
from gp_engine.results import hall_of_fame, pareto_front, write_results
from gp_engine.rundir import RunDir
from gp_engine.scoring import Scorer
from gp_engine.seeding import builtin_seeds, initial_population, reference_seeds
from gp_engine.state import SearchResult, generation_stats, population_json, restore_population, resolve_dedup
from evaluators.tasks import TaskSpec, build_task
from gp_engine.variation import Individual, Variation

if TYPE_CHECKING:
    from evaluators.base import Task
    from registry.store import Registry

log = logging.getLogger(__name__)


def _device(task: Task, settings: dict[str, Any]) -> str | None:
    """The device a task scores on, as recorded with its evaluations."""
    device = getattr(task, "device", None) or settings.get("device")
    return str(device) if device else None


class Search:
    """One search run bound to a run directory, a registry, a task and an evaluation map."""

    def __init__(self, config: SearchConfig, run_dir: str | Path, *, registry: Registry | str | None = None,
                 task: Task | None = None, eval_map: EvalMap | None = None, name: str | None = None) -> None:
        from registry import Registry, settings_key

        self.config, self.dir = config, RunDir(Path(run_dir))
        self.spec = TaskSpec(config.task, config.task_options)
        self.task = task if task is not None else build_task(self.spec)
        self._own_registry = not isinstance(registry, Registry)
        self.registry = registry if isinstance(registry, Registry) else Registry.open(registry)
        self.settings = dict(self.task.settings())
        self.settings_key = settings_key(self.settings)
        self.dedup = resolve_dedup(config.dedup, self.settings)
        self.genome = make_genome(config, self.task, registry=self.registry)
        self.psets = {part: build_pset(operands, config.operators, config.pow_exponents, config.constants)
                      for part, operands in self.genome.part_operands(self.task.operands).items()}
        self.variation = Variation(self.psets, cxpb=config.cxpb, mutpb=config.mutpb, tournament=config.tournament,
                                   elite=config.elite, init_min_height=config.init_min_height,
                                   init_max_height=config.init_max_height, max_height=config.max_height,
                                   max_size=config.max_size, mutations=config.mutations, direction=self.task.direction,
                                   posts=self.genome.posts)
        self.cache = FitnessCache()
        self.population: list[Individual] = []
        self.progress = Progress()
        self.levels: dict[str | None, int] = {None: 0}
        self.versions = library_versions()
        self._rng: tuple | None = None
        self._map = eval_map
        self.name = name or self.dir.path.name
        self.run_id = self._open_run_dir()

    @property
    def mp(self) -> MetricPset:
        """The primitive set of the first part (the only one unless ``evolve = "recipe"``: its score)."""
        return next(iter(self.psets.values()))

    @property
    def generation(self) -> int:
        """The last finished generation (-1 before the first)."""
        return self.progress.generation

    @property
    def counters(self) -> dict[str, int]:
        """Evaluated, skipped (cache, registry), failed and invalid candidates so far."""
        return self.progress.counters

    @property
    def history(self) -> list[dict[str, Any]]:
        """Statistics of every finished generation."""
        return self.progress.history

    @property
    def budget_counts(self) -> dict[str, dict[str, float]]:
        """Evaluations and their seconds per evaluation budget."""
        return self.progress.budget_counts

    @classmethod
    def resume(cls, run_dir: str | Path, *, registry: Registry | str | None = None, generations: int | None = None,
               **kwargs: Any) -> "Search":
        """The search recorded in ``run_dir`` (its config and registry unless given)."""
        record = RunDir(Path(run_dir)).read_config()
        config = SearchConfig.from_dict(record["search"])
        if generations is not None:
            config = config.replace(generations=generations)
        if registry is None:
            registry = record.get("registry_url")
            if registry and "***" in registry:
                raise CheckpointError("the run's registry URL has a password: pass registry= explicitly")
        return cls(config, run_dir, registry=registry, name=record.get("name"), **kwargs)

    def _open_run_dir(self) -> str:
        """Check an existing run's identity, or record a new run; return the run id."""
        return self.dir.open(self.config, {
            "name": self.name, "task": self.spec.to_dict(), "settings": self.settings,
            "settings_key": self.settings_key, "dedup": self.dedup,
            "pset": self.mp.describe() if len(self.psets) == 1 else {p: mp.describe() for p, mp in self.psets.items()},
            "genome": self.genome.describe(),
            "registry_url": self.registry.url, "versions": self.versions, "hardware": hardware()})

    def close(self) -> None:
        """Close the registry if this search opened it."""
        if self._own_registry:
            self.registry.close()

    def __enter__(self) -> "Search":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _rng_scope(self) -> Iterator[None]:
        """Give DEAP (module-level random) this run's own stream, then put the caller's back."""
        outer = random.getstate()
        random.setstate(self._rng)  # type: ignore[arg-type]
        try:
            yield
        finally:
            self._rng = random.getstate()
            random.setstate(outer)

    def run(self, on_generation: Callable[[dict[str, Any]], None] | None = None) -> SearchResult:
        """Run (or continue) until ``config.generations``; write results; return them."""
        cfg = self.config
        self.registry.start_run(self.run_id, name=self.name, task=cfg.task, config=cfg.to_dict(),
                                seed=cfg.seed, versions=self.versions)
        maps = RunMaps(cfg, self.task, self.spec, self._map)
        status = "failed"
        try:
            reduced = reduced_budgets(self.task, self.spec, cfg.fidelity, maps.reduced_map)
            if PROXY in cfg.fidelity and self.genome.evolve != "score":
                log.warning("the proxy rung ranks layer allocations poorly (benchmarks/discovery/"
                            "recipe_proxy_*.md): it may screen out a %s search's best; a reduced "
                            "evaluation budget as first rung does not", self.genome.evolve)
            self.levels = {None: len(reduced), **{b.label: i for i, b in enumerate(reduced)}}
            full = Budget(self.settings, self.settings_key, maps.full)
            self.scorer = Scorer(registry=self.registry, run_id=self.run_id, budget=full, dedup=self.dedup,
                                 direction=self.task.direction, cache=self.cache, versions=self.versions,
                                 device=_device(self.task, self.settings), reduced=reduced, eta=cfg.eta)
            checkpoint = self.dir.read_checkpoint()
            if checkpoint is not None and self.generation < 0:
                self._restore(checkpoint)
            if self.generation < 0:
                self._first_generation(on_generation)
            while self.generation < cfg.generations:
                self._next_generation(on_generation)
            status = "finished"
        finally:
            maps.close()
            self.registry.finish_run(self.run_id, status)
        result = self._write_results()
        settings = cfg.validation_settings()
        if settings is not None:
            result.validation = self.validate(result, settings)
            result.paths.update(write_validation(result.validation, self.dir.results))
        return result

    def validate(self, result: SearchResult, settings: ValidationSettings) -> Validation:
        """Re-score the best ``settings.top`` of the hall of fame and the baseline under held-out
        settings (``gp_engine.heldout``); scores already in the registry are reused."""
        from evaluators.progress import stage
        from primitives.reference import resolve_recipe

        baseline = resolve_recipe(settings.baseline, self.registry).as_entry()
        metrics = [resolve_recipe(e.canonical).as_entry() for e in result.hall_of_fame[: settings.top]]
        metrics += [resolve_recipe(ref, self.registry).as_entry() for ref in settings.baselines]
        held = len(self.task.held_out(settings.plan()))
        with stage("held-out validation", held * (len(metrics) + 1)) as bar:
            return validate(self.task, metrics, settings.plan(), self.registry, baseline, run_id=self.run_id,
                            on_score=lambda score, done, total: bar.advance())

    def _first_generation(self, on_generation: Callable | None) -> None:
        """Generation 0: seeds, then ramped half-and-half trees (numpy/torch seeded too)."""
        self._rng = random.Random(self.config.seed).getstate()
        np.random.seed(self.config.seed % 2**32)
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(self.config.seed)
        seeds = builtin_seeds(self.variation, self.genome) if self.config.seed_builtins else []
        seeds += reference_seeds(self.config.seed_metrics, self.variation, self.registry, self.genome)
        with self._rng_scope():
            inds, cands = initial_population(self.variation, seeds, self.config.population, self.dedup, self.genome)
        self._finish(0, inds, cands, on_generation)

    def _next_generation(self, on_generation: Callable | None) -> None:
        """Offspring by variation, canonicalised and scored."""
        with self._rng_scope():
            inds, cands = offspring(self.variation, self.population, self.dedup, self.cache,
                                    self.config.novelty_retries, self.genome)
        self._finish(self.generation + 1, inds, cands, on_generation)

    def _finish(self, generation: int, inds: list[Individual], cands: list[Candidate],
                on_generation: Callable | None) -> None:
        """Score, set fitness, checkpoint, report."""
        start = time.perf_counter()
        counts: Counts = self.scorer.score(cands, generation)
        for ind, c in zip(inds, cands):
            ind.key, ind.metric = c.key, c.metric
            ind.fitness.values = selection_values(self.cache[c.key], self.levels, self.task.direction)
        self.population = inds
        stats = generation_stats(generation, self.population, self.cache, counts,
                                 time.perf_counter() - start, self.task.direction)
        self.progress.record(generation, counts, stats)
        self._checkpoint()
        self._write_progress()
        log.info("gen %d/%d best %.6g %s | evaluated %d (%.3g s each), skipped %d (cache %d, registry %d), "
                 "failed %d, invalid %d", generation, self.config.generations, stats["best"],
                 stats["best_canonical"], counts.evaluated, stats["s_per_eval"],
                 counts.skipped_cache + counts.skipped_registry, counts.skipped_cache,
                 counts.skipped_registry, counts.failed, counts.invalid)
        if on_generation is not None:
            on_generation(stats)

    def _write_progress(self) -> None:
        """history.csv, the equations table and the two plots, current to this generation."""
        from gp_engine.history import write_progress

        try:
            write_progress(self.dir.results, self.registry, self.run_id, self.cache, self.task.direction,
                           self.history, self.settings_key, self.task.operands)
        except (OSError, ValueError, ImportError) as exc:  # a report must never stop a search
            log.warning("could not write the run's history and plots: %s", exc)

    def _checkpoint(self) -> None:
        """Write the whole state atomically (JSON only)."""
        self.dir.write_checkpoint({
            "run_id": self.run_id, "settings_key": self.settings_key, "dedup": self.dedup,
            **self.progress.to_json(),
            "population": population_json(self.population, self.variation),
            "cache": self.cache.to_json(), "rng": rng_states(self._rng)})

    def _restore(self, data: dict[str, Any]) -> None:
        """Continue from a checkpoint of this run."""
        if data.get("run_id") != self.run_id or data.get("settings_key") != self.settings_key:
            raise CheckpointError(f"{self.dir.checkpoint} belongs to another run or settings")
        self.cache = FitnessCache.from_json(data.get("cache"))
        self.scorer.cache = self.cache
        self._rng = set_rng_states(data.get("rng", {}), set_python=False)
        self.population = restore_population(data.get("population"), self.variation, self.cache, self.dedup,
                                             self.levels, self.genome)
        self.progress = Progress.from_json(data)
        log.info("resumed %s at generation %d", self.dir.path, self.generation)

    def _write_results(self) -> SearchResult:
        """Hall of fame, Pareto front, summary."""
        entries, direction = self.cache.full(), self.task.direction
        summary = {"run_id": self.run_id, "name": self.name, "generation": self.generation,
                   "settings_key": self.settings_key, "counters": self.counters, "registry": self.registry.url,
                   "budget_counts": self.budget_counts}
        paths = write_results(self.dir.results, entries, direction, self.config.hall_of_fame, summary)
        paths.update({name: self.dir.results / name for name in PROGRESS_FILES if (self.dir.results / name).exists()})
        return SearchResult(self.run_id, self.dir.path, self.generation, self.counters,
                            hall_of_fame(entries, direction, self.config.hall_of_fame),
                            pareto_front(entries, direction), paths, self.settings_key, self.registry.url)
