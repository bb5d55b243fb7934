"""``metricforge tune``: tune the search's own settings with Optuna over short budgeted searches.

The study lives in the registry's database, beside the evaluations of its trials; rerunning the
same command resumes it up to ``--trials``. The best settings are written as a config file for
``metricforge search --config``.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any, Iterator, List, Optional

import typer

from metricforge.cli_search import RegistryOption
from metricforge.options import config_option, option_option, out_option

log = logging.getLogger("metricforge.tune")
QUIET = ("gp_engine.loop", "gp_engine.seeding", "gp_engine.scoring", "evaluators")


def _range(text: str, what: str, kind: type) -> tuple[Any, Any]:
    """``lo,hi`` as a pair of numbers."""
    from metricforge import cli_lists

    values = (cli_lists.ints if kind is int else cli_lists.floats)(text, what)
    if len(values) != 2:
        raise ValueError(f"{what} must be two comma-separated numbers lo,hi, got {text!r}")
    return values[0], values[1]


@contextlib.contextmanager
def _quiet_searches() -> Iterator[None]:
    """One line per trial instead of one per generation, unless --verbose; levels restored after."""
    from gp_engine.tuning_storage import require_optuna

    optuna = require_optuna()
    if logging.getLogger().level <= logging.DEBUG:
        yield
        return
    loggers = [logging.getLogger(name) for name in QUIET]
    levels, verbosity = [lg.level for lg in loggers], optuna.logging.get_verbosity()
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
        optuna.logging.set_verbosity(verbosity)


def tune(
    task: Optional[str] = typer.Option(None, help="Task: mlp-prune (fast digits MLP), cnn-prune, llm-prune, ..."),
    config: Optional[Path] = config_option("TOML search config: the base settings of every trial."),
    task_option: Optional[List[str]] = option_option(),
    trials: int = typer.Option(20, help="Complete or pruned trials the study should have (rerun to resume)."),
    budget: int = typer.Option(200, help="Metrics each search may score (evaluated or found in the registry)."),
    seeds: str = typer.Option("0,1", help="Search seeds of every trial, comma-separated."),
    study: Optional[str] = typer.Option(None, help="Study name (default: tune-TASK-bBUDGET)."),
    registry: Optional[str] = RegistryOption,
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Folder of run directories (one folder per study)."),
    tuned: str = typer.Option("population,cxpb,mutpb,tournament,elite", "--tune", help="Settings to tune."),
    population_range: str = typer.Option("8,64", help="lo,hi population (log scale)."),
    cxpb_range: str = typer.Option("0,1", help="lo,hi crossover probability."),
    mutpb_range: str = typer.Option("0,1", help="lo,hi mutation probability."),
    tournament_range: str = typer.Option("2,8", help="lo,hi tournament size."),
    elite_range: str = typer.Option("0,4", help="lo,hi elite count."),
    pruner: str = typer.Option("median", help="median, halving or none."),
    sampler_seed: int = typer.Option(0, help="Seed of the TPE sampler."),
    out: Optional[Path] = out_option(None, "Best settings TOML (default: RUNS_DIR/STUDY/best.toml)."),
) -> None:
    """Tune population, crossover/mutation rates, tournament and elite over short searches."""
    from gp_engine.tuning import TuneRequest
    from gp_engine.tuning import tune as run_study
    from gp_engine.tuning_space import TuneSpace
    from metricforge import cli_lists
    from metricforge.cli_search import resolve_config

    base = resolve_config(config, {"task": task}, list(task_option or []))
    space = TuneSpace(population=_range(population_range, "--population-range", int),
                      cxpb=_range(cxpb_range, "--cxpb-range", float), mutpb=_range(mutpb_range, "--mutpb-range", float),
                      tournament=_range(tournament_range, "--tournament-range", int),
                      elite=_range(elite_range, "--elite-range", int), tuned=cli_lists.names(tuned, "--tune"))
    name = study or f"tune-{base.task}-b{budget}"
    request = TuneRequest(base=base, study=name, trials=trials, budget=budget, seeds=cli_lists.ints(seeds, "--seeds"),
                          space=space, runs_dir=runs_dir, sampler_seed=sampler_seed, pruner=pruner)
    log.info("study %s: %d trials, budget %d metrics per search, seeds %s", name, trials, budget, seeds)
    with _quiet_searches():
        result = run_study(request, registry)
    _print(result, request, out or runs_dir / name / "best.toml")


def _print(result: Any, request: Any, out: Path) -> None:
    """The trials table, the best settings, and the config file written with them."""
    from gp_engine.tuning_report import config_toml
    from metricforge.output import print_table

    tuned = list(request.space.tuned)
    rows = [(r["number"], r["state"], r["value"], *(r["params"].get(p) for p in tuned), r["scored"],
             r["from_registry"], r["wall_s"], "baseline" if r["baseline"] else
             (f"retry of {r['retry_of']}" if r["retry_of"] is not None else ""))
            for r in result.trials]
    print_table(f"study {result.study} ({result.direction} mean best fitness over seeds "
                f"{','.join(map(str, request.seeds))})",
                ["#", "state", "value", *tuned, "scored", "from registry", "wall s", "note"], rows)
    if result.best is None:
        print(f"no complete trial yet; study {result.study} in {result.storage}")
        return
    best = result.best
    print(f"best: trial {best['number']} value {best['value']:.6g}: "
          + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["params"].items()))
    if result.baseline is not None:
        print(f"base settings (trial {result.baseline['number']}): value {result.baseline['value']:.6g}")
    header = (f"metricforge tune: study {result.study}, best of {len(result.trials)} trials (trial {best['number']}),\n"
              f"mean best fitness {best['value']:.6g} over seeds {list(request.seeds)} at {request.budget} "
              f"scored metrics per search.\nUse: metricforge search --config {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(config_toml(result.best_config, header), encoding="utf-8")
    print(f"best settings: {out}  study: {result.study} in {result.storage}")


def register(app: typer.Typer) -> None:
    """Add ``tune`` to the metricforge app."""
    app.command("tune")(tune)
