"""``metricforge validate``: re-score metrics (or a run's hall of fame) under held-out settings."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, List, Optional

import typer

from metricforge.options import config_option, option_option, out_option, registry_option

log = logging.getLogger("metricforge.validate")


def _run_source(run: Path, top: int) -> tuple[str, dict[str, Any], list[str], Path]:
    """(task, task options, the best ``top`` canonical formulas, results folder) of a run folder."""
    config_file, hof_file = run / "config.json", run / "results" / "hall_of_fame.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"no run folder {run} (looked for {config_file})")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    best = json.loads(hof_file.read_text(encoding="utf-8")) if hof_file.is_file() else []
    if not isinstance(config, dict) or not isinstance(best, list):  # written by a search, read as data
        raise ValueError(f"run folder {run}: config.json or results/hall_of_fame.json is not what a search writes")
    search = config.get("search")
    if not isinstance(search, dict) or "task" not in search:
        raise ValueError(f"{config_file} is not a metricforge run config (no search settings)")
    return str(search["task"]), dict(search.get("task_options") or {}), \
        [str(row["canonical"]) for row in best[:top] if isinstance(row, dict) and "canonical" in row], run / "results"


def validate_command(
    metrics: List[str] = typer.Argument(None, help="Built-in names, formulas or registry refs to validate."),
    run: Optional[Path] = typer.Option(None, "--run", help="A search's run folder: validate its hall of fame "
                                                           "under held-out versions of its task options."),
    top: int = typer.Option(5, "--top", min=1, help="With --run: how many of the hall of fame."),
    task_name: str = typer.Option("llm-prune", "--task", help="Task (without --run)."),
    config: Optional[Path] = config_option("TOML config whose [task_options] the search used (without --run)."),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Calibration seeds of every held-out setting."),
    calib_source: Optional[List[str]] = typer.Option(None, "--calib-source",
                                                     help="Held-out calibration source (repeatable) "
                                                          "[default: one the search did not use]."),
    eval_source: Optional[List[str]] = typer.Option(None, "--eval-source",
                                                    help="Held-out evaluation text (repeatable) "
                                                         "[default: one the search did not use]."),
    levels: str = typer.Option("0.5,0.6,0.7,2:4", "--levels", help="Sparsities (per row) and N:M groups."),
    baseline: str = typer.Option("wanda", "--baseline", help="The metric every other is compared with."),
    task_options: List[str] = option_option(), registry: Optional[str] = registry_option(),
    out: Optional[Path] = out_option(None, "Folder for validation.json and validation.md "
                                           "[default: the run's results folder with --run]."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Re-score metrics and a baseline on calibrations, texts and sparsities a search never saw."""
    from gp_engine.heldout import ValidationSettings, validate, write_validation
    from metricforge.cli_lists import ints, names
    from metricforge.metrics import resolve_recipe
    from metricforge.options import check_task_options, parse_options, read_config
    from metricforge.output import print_json, print_table

    options: dict[str, Any] = {}
    refs = list(metrics or [])
    if run is not None:
        task_name, options, best, results = _run_source(run, top)
        refs += best
        out = out or results
    else:
        options = dict(read_config(config).get("task_options") or {})
    options.update(parse_options(task_options))
    settings = ValidationSettings(top=top, seeds=ints(seeds, "--seeds"), calib_sources=tuple(calib_source or ()),
                                  eval_sources=tuple(eval_source or ()), levels=names(levels, "--levels"),
                                  baseline=baseline, baselines=())  # the references given are validated
    if not refs:
        raise ValueError("give metrics to validate, or --run RUN_FOLDER")
    chosen = [resolve_recipe(ref, registry).as_entry() for ref in refs]  # every reference checked before any work
    base = resolve_recipe(baseline, registry).as_entry()
    from evaluators.tasks import TaskSpec, build_task
    from registry.store import Registry

    task = build_task(TaskSpec(task_name, check_task_options(task_name, options)))
    held = task.held_out(settings.plan())  # sources and levels checked before any model loads
    log.info("validating %d metric(s) and %s on %d held-out setting(s) x seed(s)", len(chosen), baseline, len(held))
    from evaluators.progress import stage

    with Registry.open(registry) as reg, stage("held-out validation", len(held) * (len(chosen) + 1)) as bar:
        result = validate(task, chosen, settings.plan(), reg, base, on_score=lambda *_: bar.advance())
    if out is not None:
        paths = write_validation(result, out)
        log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    if run is not None and out == run / "results":
        from metricforge.report import write_report

        write_report(run, registry)  # the run's report shows the validation
    if as_json:
        return print_json(result.to_dict())
    head, rows = result.table()
    print_table("held-out validation (mean +- standard error over seeds)", head, rows)


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the metricforge app."""
    app.command("validate")(validate_command)
