"""``metricforge prune`` and ``metricforge evaluate``: apply or score metrics on a task."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import List, Optional

import typer

from metricforge.metrics import resolve_recipe
from metricforge.options import option_option, out_option, registry_option
from metricforge.output import print_json, print_table

log = logging.getLogger("metricforge.llm")

RegistryOption = registry_option()
TaskOptions = option_option()


def _task(name: str, sparsity: Optional[float], group: Optional[str], options: Optional[List[str]]):
    """The task with its -o options and flags, every option checked before anything is loaded."""
    from evaluators.tasks import TaskSpec, build_task
    from metricforge.options import check_task_options, parse_options

    settings = parse_options(options)
    settings.update({k: v for k, v in {"sparsity": sparsity, "group": group}.items() if v is not None})
    return build_task(TaskSpec(name, check_task_options(name, settings)))


METHODS = ("metric", "sparsegpt", "owl", "dsnot", "swap")


def _method_recipe(method: str, chosen):
    """The recipe a method applies: the reference itself ("metric"), or its score with OWL's allocation,
    DSnoT's swaps or the exact-error swaps (the built-in recipes owl_wanda, dsnot_wanda and swap_wanda
    over another score)."""
    if method in ("metric", "sparsegpt"):
        return chosen
    if not chosen.is_bare:
        raise ValueError(f"--method {method} adds a step to a metric; {chosen.name or chosen.text} is a recipe "
                         "already (give it with --method metric)")
    return chosen.with_steps(alloc="owl") if method == "owl" else chosen.with_steps(post=method)


def prune_command(
    metric: str = typer.Argument("wanda", help="Built-in metric or recipe name, formula, recipe(...) text, or "
                                               "registry name/hash (the score of owl, dsnot and swap; sparsegpt "
                                               "uses its own)."),
    output: Path = out_option(..., "Folder for the pruned model (Hugging Face format)."),
    sparsity: float = typer.Option(0.5, help="Fraction of weights to prune."),
    group: str = typer.Option("row", help="Comparison group: row, layer, global, 2:4, 4:8."),
    method: str = typer.Option("metric", "--method", help="metric (the metric or recipe as given), sparsegpt "
                                                          "(sequential SparseGPT with its OBS weight update), owl "
                                                          "(OWL layer sparsities), dsnot (DSnoT swaps), swap (swaps "
                                                          "that lower each row's exact output error)."),
    variant: Optional[str] = typer.Option(None, "--variant", help="SparseGPT mask: block (one threshold per "
                                          "128 columns) or row (per row inside each block) [default: row for "
                                          "group row, else block]."),
    evaluate: bool = typer.Option(True, help="Also report the pruned model's perplexity."),
    task_options: List[str] = TaskOptions, registry: Optional[str] = RegistryOption,
) -> None:
    """Prune the LLM with a metric, recipe or method at a sparsity and save the pruned model (with the
    weights a recipe's post-mask step updated)."""
    from evaluators.progress import stage

    if method not in METHODS:
        raise ValueError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if variant is not None and method != "sparsegpt":
        raise ValueError("--variant applies to --method sparsegpt only")
    chosen = _method_recipe(method, resolve_recipe(metric, registry))
    task = _task("llm-prune", sparsity, group, task_options)
    log.info("pruning %s with %s: operands %s", task.config.model, chosen.canonical,
             ", ".join(chosen.operands) or "none")
    task.prepare()
    with stage(f"pruning with {method if method == 'sparsegpt' else chosen.canonical}"):
        pruned, total = task.apply_sparsegpt(variant) if method == "sparsegpt" else task.apply_recipe(chosen)
    info = {"method": method, "settings": task.settings(), "achieved_sparsity": pruned / max(total, 1)}
    if method == "sparsegpt":
        info["variant"] = variant or ("row" if task.config.structure.scope == "row" else "block")
    else:
        info.update({"metric": chosen.canonical, "hash": chosen.hash})
        if not chosen.is_bare:
            info["recipe"] = chosen.parts()
    if evaluate:
        info["perplexity"] = task.perplexity()
    output.mkdir(parents=True, exist_ok=True)
    with stage(f"saving the pruned model to {output}"):
        task.state.model.save_pretrained(output)
        task.state.tokenizer.save_pretrained(output)
    (output / "metricforge.json").write_text(json.dumps(info, indent=2, default=str))
    print(json.dumps({k: v for k, v in info.items() if k != "settings"}, indent=2))
    print(f"pruned model saved to {output}")


def evaluate_command(
    metrics: List[str] = typer.Argument(None, help="Built-in metric or recipe names, formulas, recipe(...) "
                                                   "text or registry refs."),
    task_name: str = typer.Option("llm-prune", "--task", help="Task to score on."),
    sparsity: Optional[float] = typer.Option(None, help="Fraction of weights to prune."),
    group: Optional[str] = typer.Option(None, help="Comparison group: row, layer, global, 2:4, 4:8."),
    baselines: bool = typer.Option(False, "--baselines", help="Also score every built-in metric (and recipe, on "
                                                              "a task that takes recipes)."),
    task_options: List[str] = TaskOptions, registry: Optional[str] = RegistryOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Score metrics or recipes on a task and record the evaluations in the registry (a recipe's under
    its own hash)."""
    from evaluators.base import score_entry
    from primitives.builtins import BUILTINS, RECIPES
    from registry.store import Registry

    task = _task(task_name, sparsity, group, task_options)
    refs = list(metrics or []) + (list(BUILTINS) + (list(RECIPES) if task.takes_recipes else []) if baselines else [])
    if not refs:
        raise ValueError("give at least one metric, or --baselines")
    chosen = [resolve_recipe(ref, registry).as_entry() for ref in refs]  # all parsed before any work
    task.prepare()
    settings = task.settings()
    rows = []
    with Registry.open(registry) as reg:
        for metric in chosen:
            start = time.perf_counter()
            fitness = score_entry(task, metric)
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
