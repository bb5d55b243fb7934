"""``metricforge prune`` and ``metricforge evaluate``: apply or score metrics on a task."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import List, Optional

import typer

from metricforge.metrics import resolve_metric
from metricforge.output import print_json, print_table

log = logging.getLogger("metricforge.llm")

RegistryOption = typer.Option(None, "--registry", "-r", envvar="METRICFORGE_REGISTRY",
                              help="Registry URL or SQLite path [default: ./metricforge.db].")
TaskOptions = typer.Option([], "--task-option", "-o", help="Task setting as key=value (repeatable), e.g. -o eval_tokens=4096.")


def _task(name: str, sparsity: Optional[float], group: Optional[str], options: List[str]):
    from evaluators.tasks import TaskSpec, build_task
    from metricforge.cli_search import parse_option

    settings = dict(parse_option(o) for o in options)
    settings.update({k: v for k, v in {"sparsity": sparsity, "group": group}.items() if v is not None})
    return build_task(TaskSpec(name, settings))


def prune_command(
    metric: str = typer.Argument(..., help="Built-in name, formula, or registry name/hash."),
    output: Path = typer.Option(..., "--output", "-O", help="Folder for the pruned model (Hugging Face format)."),
    sparsity: float = typer.Option(0.5, help="Fraction of weights to prune."),
    group: str = typer.Option("row", help="Comparison group: row, layer, global, 2:4, 4:8."),
    evaluate: bool = typer.Option(True, help="Also report the pruned model's perplexity."),
    task_options: List[str] = TaskOptions, registry: Optional[str] = RegistryOption,
) -> None:
    """Prune the LLM with a metric at a sparsity and save the pruned model."""
    chosen = resolve_metric(metric, registry)
    task = _task("llm-prune", sparsity, group, task_options)
    log.info("preparing %s (model, calibration, operands)", task.config.model)
    task.prepare()
    pruned, total = task.apply(chosen)
    info = {"metric": chosen.canonical, "hash": chosen.hash, "settings": task.settings(),
            "achieved_sparsity": pruned / max(total, 1)}
    if evaluate:
        info["perplexity"] = task.perplexity()
    output.mkdir(parents=True, exist_ok=True)
    task.state.model.save_pretrained(output)
    task.state.tokenizer.save_pretrained(output)
    (output / "metricforge.json").write_text(json.dumps(info, indent=2, default=str))
    print(json.dumps({k: v for k, v in info.items() if k != "settings"}, indent=2))
    print(f"pruned model saved to {output}")


def evaluate_command(
    metrics: List[str] = typer.Argument(None, help="Built-in names, formulas or registry refs."),
    task_name: str = typer.Option("llm-prune", "--task", help="Task to score on."),
    sparsity: Optional[float] = typer.Option(None, help="Fraction of weights to prune."),
    group: Optional[str] = typer.Option(None, help="Comparison group: row, layer, global, 2:4, 4:8."),
    baselines: bool = typer.Option(False, "--baselines", help="Also score every built-in metric."),
    task_options: List[str] = TaskOptions, registry: Optional[str] = RegistryOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Score metrics on a task and record the evaluations in the registry."""
    from primitives.builtins import BUILTINS
    from registry.store import Registry

    refs = list(metrics or []) + (list(BUILTINS) if baselines else [])
    if not refs:
        raise ValueError("give at least one metric, or --baselines")
    chosen = [resolve_metric(ref, registry) for ref in refs]  # all parsed before any work
    task = _task(task_name, sparsity, group, task_options)
    task.prepare()
    settings = task.settings()
    rows = []
    with Registry.open(registry) as reg:
        for metric in chosen:
            start = time.perf_counter()
            fitness = task.score(metric)
            reg.record_evaluation(metric, settings, fitness.value if fitness.ok else None, fitness.ok,
                                  fitness.reason, fitness.wall_s, settings.get("device"), details=fitness.details)
            if metric.name and reg.get_metric(metric.hash).name is None:
                reg.add_metric(metric, name=metric.name)
            log.info("%s: %s (%.1f s)", metric.name or metric.canonical, fitness.value, time.perf_counter() - start)
            rows.append({"metric": metric.name or metric.canonical, "hash": metric.hash, "score": fitness.value,
                         "ok": fitness.ok, "reason": fitness.reason, "wall_s": fitness.wall_s})
    if as_json:
        return print_json({"settings": settings, "results": rows})
    print_table(f"{task_name} ({settings.get('sparsity')}, {settings.get('group')})",
                ["metric", "hash", "score", "ok", "reason", "s"],
                [(r["metric"], r["hash"], r["score"], r["ok"], r["reason"], r["wall_s"]) for r in rows])


def register(app: typer.Typer) -> None:
    app.command("prune")(prune_command)
    app.command("evaluate")(evaluate_command)
