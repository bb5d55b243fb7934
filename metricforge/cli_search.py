"""``metricforge search`` and ``metricforge resume``: run the evolutionary search in a run folder.

Config precedence: built-in defaults < ``--config FILE.toml`` < explicit flags. Rerunning the
same command (same run name) resumes the run from its last checkpoint.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, List, Optional

import typer

from metricforge.options import parse_option  # noqa: F401 - part of this module's interface
from metricforge.options import config_option, option_option, parse_options, read_config, registry_option

log = logging.getLogger("metricforge.search")

RegistryOption = registry_option()


def resolve_config(config_file: Optional[Path], flags: dict[str, Any], task_options: list[str]):
    """Defaults < config file < flags; task options merge the same way. Every setting and task
    option is checked (names, types, ranges) before anything is built."""
    from gp_engine.config import ConfigError, SearchConfig
    from metricforge.options import check_task_options

    data: dict[str, Any] = read_config(config_file)
    options = data.pop("task_options", {}) or {}
    if not isinstance(options, dict):
        raise ConfigError(f"task_options = {options!r}: must be a table of task options")
    options = dict(options)
    granularity = flags.pop("granularity", None)
    if granularity is not None:
        if flags.get("group") is not None and flags["group"] != granularity:
            raise typer.BadParameter(f"--group {flags['group']!r} and --granularity {granularity!r} disagree; "
                                     "give one of them")
        flags["group"] = granularity
    for name in ("sparsity", "group"):
        if flags.get(name) is not None:
            options[name] = flags.pop(name)
        flags.pop(name, None)
    options.update(parse_options(task_options))
    data.update({k: v for k, v in flags.items() if v is not None})
    data["task_options"] = options
    config = SearchConfig.from_dict(data)
    config.task_options = check_task_options(config.task, config.task_options)
    return config


def default_run_name(config: Any) -> str:
    """task-seedS-<8 hex of the search identity>: the same command finds the same run."""
    ident = json.dumps(config.search_identity(), sort_keys=True, default=str)
    return f"{config.task}-seed{config.seed}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"


def _execute(search: Any) -> None:
    """Run with a log file in the run folder and a generation bar (with ETA), then print the results."""
    from evaluators.progress import stage

    handler = logging.FileHandler(search.dir.log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    watched = [logging.getLogger(n) for n in ("gp_engine", "evaluators", "metricforge")]
    for lg in watched:
        lg.addHandler(handler)
    from metricforge.report import report_hook

    write_report = report_hook(search)  # report.html after every generation

    def after_generation(stats: dict[str, Any], bar: Any) -> None:
        write_report(stats)
        bar.advance()

    try:
        with stage("search generations", search.config.generations + 1) as bar:
            bar.advance(max(search.generation + 1, 0))
            result = search.run(on_generation=lambda stats: after_generation(stats, bar))
    finally:
        for lg in watched:
            lg.removeHandler(handler)
        handler.close()
    if result.validation is not None:
        write_report({})  # with the validation
    _print_result(result, search.registry)


def _print_result(result: Any, registry: Any) -> None:
    """The best formulas, the reasons of failed evaluations and where everything was stored."""
    from collections import Counter

    from metricforge.output import print_table

    print_table("best metrics", ["#", "fitness", "complexity", "hash", "canonical"],
                [(i, e.value, e.complexity, e.hash, e.canonical) for i, e in enumerate(result.hall_of_fame[:5], 1)])
    print_table("Pareto front (fitness vs complexity)", ["complexity", "fitness", "hash", "canonical"],
                [(e.complexity, e.value, e.hash, e.canonical) for e in result.pareto])
    reasons = Counter(e.reason or "no reason recorded" for e in registry.evaluations(run_id=result.run_id) if not e.ok)
    if reasons:
        print_table("failed evaluations by reason", ["count", "reason"],
                    [(n, reason) for reason, n in reasons.most_common(10)])
    if result.validation is not None:
        head, rows = result.validation.table()
        print_table("held-out validation (mean +- standard error over seeds)", head, rows)
    c = result.counters
    print(f"run {result.run_id} at generation {result.generation}: {c['evaluated']} evaluated, "
          f"{c['skipped_cache'] + c['skipped_registry']} skipped, {c['failed']} failed")
    print(f"results: {result.paths['pareto.md'].parent}  registry: {result.registry_url} "
          f"(settings key {result.settings_key})")


def search(
    task: Optional[str] = typer.Option(None, help="Task: llm-prune, mlp-prune (fast digits MLP), cnn-prune or recsys-prune."),
    config: Optional[Path] = config_option("TOML config file (search settings and a [task_options] table)."),
    population: Optional[int] = typer.Option(None, help="Population size."),
    generations: Optional[int] = typer.Option(None, help="Generations after the initial one."),
    seed: Optional[int] = typer.Option(None, help="Random seed of the search."),
    sparsity: Optional[float] = typer.Option(None, help="Task sparsity (task option 'sparsity')."),
    group: Optional[str] = typer.Option(None, help="Comparison group: row, layer, global, N:M."),
    granularity: Optional[str] = typer.Option(
        None, help="What is pruned together (task option 'group'): element, vector:K, block:K, kernel, "
                   "filter/neuron, head:D, N:M; add @row or @global to change the scope."),
    map_: Optional[str] = typer.Option(None, "--map", help="inprocess, pool or ray."),
    workers: Optional[int] = typer.Option(None, help="Workers for pool/ray."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Per-candidate timeout in seconds (pool/ray)."),
    run: Optional[str] = typer.Option(None, "--run", help="Run name [default: from task, seed and config]."),
    registry: Optional[str] = RegistryOption,
    seed_builtins: Optional[bool] = typer.Option(None, "--seed-builtins/--no-seed-builtins",
                                                 help="Seed the population with the published metrics."),
    seed_metric: Optional[List[str]] = typer.Option(None, "--seed-metric",
                                                    help="Registry name/hash or formula to seed (repeatable)."),
    dedup: Optional[str] = typer.Option(None, help="auto, hash or rank."),
    task_option: Optional[List[str]] = option_option(),
    fidelity: Optional[str] = typer.Option(
        None, help="Multi-fidelity: reduced budgets tried first, as fractions of the task's evaluation data "
                   "(e.g. 0.125 or 0.1,0.3), 'proxy' first for the task's cheap proxy (proxy,0.25); "
                   "'none' turns it off."),
    eta: Optional[float] = typer.Option(None, help="Successive halving: the best 1/eta of a budget go on [3]."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Folder of run directories."),
) -> None:
    """Search for metrics; rerunning the same command resumes the run."""
    from gp_engine.loop import Search
    from gp_engine.rundir import discarded_if_unstarted
    from metricforge.cli_lists import names
    from metricforge.options import require_map

    rungs = None if fidelity is None else (() if fidelity.strip().lower() == "none"
                                           else names(fidelity, "--fidelity"))  # SearchConfig checks each
    flags = {"task": task, "population": population, "generations": generations, "seed": seed,
             "map": map_, "workers": workers, "timeout_s": timeout, "seed_builtins": seed_builtins,
             "dedup": dedup, "sparsity": sparsity, "group": group, "granularity": granularity,
             "seed_metrics": tuple(seed_metric) if seed_metric else None, "fidelity": rungs, "eta": eta}
    cfg = resolve_config(config, flags, list(task_option or []))
    require_map(cfg.map)
    name = run or default_run_name(cfg)
    run_dir = runs_dir / name
    log.info("run %s in %s", name, run_dir)
    with discarded_if_unstarted(run_dir):
        with Search(cfg, run_dir, registry=registry, name=name) as job:
            _execute(job)


def resume(
    run: str = typer.Argument(..., help="Run name (under --runs-dir) or path of a run directory."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Folder of run directories."),
    registry: Optional[str] = registry_option("Registry [default: the run's own].", envvar=False),
    generations: Optional[int] = typer.Option(None, help="Extend the run to this many generations."),
) -> None:
    """Continue a run from its last checkpoint."""
    from gp_engine.loop import Search
    from metricforge.options import require_map

    path = Path(run) if Path(run).is_dir() else runs_dir / run
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"no run directory {path} (looked for {path / 'config.json'})")
    with Search.resume(path, registry=registry, generations=generations) as job:
        require_map(job.config.map)
        _execute(job)


def register(app: typer.Typer) -> None:
    """Add ``search`` and ``resume`` to the metricforge app."""
    app.command("search")(search)
    app.command("resume")(resume)
