"""``metricforge converge``: how much evaluation, calibration or training data a task needs.

For llm-prune and mlp-prune: every metric is scored once per evaluation unit (token window, test
sample) and the ranking on n units is compared with the ranking on all of them; for llm-prune
``--calib-windows`` also re-ranks with fewer calibration windows. For recsys-train: validation
AUC against the training-data fraction, with its plateau.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Optional

import typer

from metricforge.cli_lists import floats, ints
from metricforge.options import config_option, option_option, out_option, registry_option

log = logging.getLogger("metricforge.converge")


def _task(task: str, config: Optional[Path], options: list[str]):
    """The task with its options: defaults < config file's task options < -o flags (all checked)."""
    from evaluators.tasks import TaskSpec, build_task
    from metricforge.options import check_task_options, parse_options, read_config

    data = read_config(config)
    merged = dict(data.get("task_options", {}) or {})
    merged.update(parse_options(options))
    merged = check_task_options(task, merged)
    return TaskSpec(task, merged), build_task(TaskSpec(task, merged))


def _powers(count: int) -> list[int]:
    """1, 2, 4, ... up to ``count``, and ``count`` itself."""
    out, n = [], 1
    while n < count:
        out.append(n)
        n *= 2
    return out + [count]


def _evaluation(spec, task, metrics, args: dict, out: Path) -> str:
    """The evaluation-data study: outputs per unit, agreement per budget, table, plot, JSON."""
    from data_efficiency.convergence import ranking_convergence
    from data_efficiency.convergence_report import plot_ranking, ranking_table
    from gp_engine.checkpoint import write_json_atomic
    from reporting.json_safe import json_safe
    from data_efficiency.units import output_matrix, units_of

    units = units_of(task)
    budgets = sorted(b for b in (args["budgets"] or _powers(units.count)) if b <= units.count) or [units.count]
    log.info("scoring %d metrics on %d %ss each", len(metrics), units.count, units.unit)
    matrix = output_matrix(units, metrics, lambda i, m: log.info("metric %d/%d done: %s", i + 1, len(metrics), m.canonical))
    result = ranking_convergence(matrix, units.aggregate, budgets, metrics=[m.canonical for m in metrics],
                                 direction=units.direction, k=args["k"], threshold=args["threshold"],
                                 topk_threshold=args["topk_threshold"], confidence=args["confidence"],
                                 resamples=args["resamples"], seed=args["seed"])
    write_json_atomic(out / "evaluation.json", json_safe({
        "task": spec.to_dict(), "settings": task.settings(), "unit": units.unit, "tokens_per_unit": units.tokens_per_unit,
        **result.to_dict(), "outputs": matrix.tolist()}))
    plot_ranking(result, units.unit, out / "evaluation.png")
    scores = "\n".join(f"| {i} | `{m}` | {s:.6g} |" for i, (m, s) in enumerate(
        sorted(zip(result.metrics, result.full_scores), key=lambda p: p[1] * (1 if units.direction == "min" else -1)), 1))
    return (f"## Evaluation data ({units.count} {units.unit}s)\n\n{ranking_table(result, units.unit, units.tokens_per_unit)}"
            f"\n![agreement](evaluation.png)\n\n| # | metric | full score |\n|---|---|---|\n{scores}\n")


def _calibration(spec, task, metrics, args: dict, out: Path) -> str:
    """The calibration study (llm-prune): rankings with fewer calibration windows, several draws."""
    from data_efficiency.calibration import calibration_convergence
    from data_efficiency.convergence_report import calibration_table
    from gp_engine.checkpoint import write_json_atomic
    from reporting.json_safe import json_safe
    from evaluators.tasks import TaskSpec, build_task

    if spec.name != "llm-prune":
        raise ValueError("--calib-windows applies to llm-prune")
    eval_opts = {"eval_tokens": args["calib_eval_tokens"]} if args["calib_eval_tokens"] else {}

    def make(windows: int, seed: int):
        return build_task(TaskSpec(spec.name, {**spec.options, **eval_opts, "calib_windows": windows, "seed": seed}))

    result = calibration_convergence(make, metrics, [m.canonical for m in metrics], args["calib_windows"],
                                     args["calib_seeds"], k=args["k"], threshold=args["threshold"],
                                     topk_threshold=args["topk_threshold"])
    write_json_atomic(out / "calibration.json", json_safe({"task": spec.to_dict(), **eval_opts, **result.to_dict()}))
    return f"## Calibration data\n\n{calibration_table(result)}"


def converge(
    task: str = typer.Option(..., help="llm-prune or mlp-prune (evaluation data), recsys-train (training data)."),
    config: Optional[Path] = config_option("Search config TOML: its [task_options] set the task."),
    task_option: Optional[List[str]] = option_option(),
    metric: Optional[List[str]] = typer.Option(None, "--metric", "-m",
                                               help="Built-in name, registry name/hash or formula (repeatable) "
                                                    "[default: every built-in]."),
    registry: Optional[str] = registry_option("Registry to resolve names and to take --top/--spread metrics from."),
    top: int = typer.Option(0, help="Add the best N metrics of the registry's leaderboard for these settings."),
    spread: int = typer.Option(0, help="Add N metrics spread evenly down the rest of that leaderboard."),
    budgets: Optional[str] = typer.Option(None, help="Evaluation budgets in units, e.g. 1,2,4,8 [default: powers of 2]."),
    k: int = typer.Option(3, help="Top-k agreement size."),
    threshold: float = typer.Option(0.9, help="Spearman needed for convergence."),
    topk_threshold: float = typer.Option(2 / 3, help="Top-k agreement needed for convergence."),
    confidence: float = typer.Option(0.9, help="Confidence of the lower bounds (random subsets of units)."),
    resamples: int = typer.Option(200, help="Random subsets per budget."),
    seed: int = typer.Option(0, help="Seed of the random subsets."),
    calib_windows: Optional[str] = typer.Option(None, help="llm-prune: calibration sizes to compare, e.g. 2,4,8,16."),
    calib_seeds: str = typer.Option("0,1", help="Calibration draws per size."),
    calib_eval_tokens: Optional[int] = typer.Option(None, help="Evaluation tokens of the calibration study."),
    fractions: str = typer.Option("0.05,0.1,0.2,0.35,0.5,0.7,1.0", help="recsys-train: training fractions."),
    seeds: str = typer.Option("0,1,2", help="recsys-train: seeds."),
    strategy: str = typer.Option("uniform", help="recsys-train: uniform, negatives or time-decay."),
    model: str = typer.Option("deepfm", help="recsys-train: deepfm or dlrm."),
    tolerance: float = typer.Option(0.002, help="recsys-train: AUC gain that still counts as improving."),
    out: Path = out_option(Path("convergence"), "Output folder."),
) -> None:
    """Find how much evaluation, calibration or training data a task needs before results stop changing."""
    out.mkdir(parents=True, exist_ok=True)
    if task == "recsys-train":
        from data_efficiency.train_convergence import training_convergence, write_report

        result = training_convergence(floats(fractions, "--fractions"), ints(seeds, "--seeds"), strategy, model,
                                      tolerance)
        paths = write_report(result, out)
        print(paths["md"].read_text())
        return
    if not 0 < confidence < 1 or not 0 < threshold <= 1 or k < 1 or resamples < 1:
        raise ValueError("need 0 < confidence < 1, 0 < threshold <= 1, k >= 1 and resamples >= 1")
    spec, built = _task(task, config, list(task_option or []))
    from data_efficiency.metric_set import metric_set
    from primitives.builtins import BUILTINS
    from registry import Registry

    args = {"budgets": list(ints(budgets, "--budgets")) if budgets else None, "k": k, "threshold": threshold,
            "topk_threshold": topk_threshold, "confidence": confidence, "resamples": resamples, "seed": seed,
            "calib_windows": ints(calib_windows, "--calib-windows") if calib_windows else None,
            "calib_seeds": ints(calib_seeds, "--calib-seeds"), "calib_eval_tokens": calib_eval_tokens}
    refs = list(metric or []) or [n for n in BUILTINS if n != "sparsegpt" or "Hd" in built.operands]
    reg = Registry.open(registry) if registry else None
    try:
        metrics = metric_set(refs, reg, dict(built.settings()), built.direction, top, spread)
    finally:
        if reg is not None:
            reg.close()
    parts = [_evaluation(spec, built, metrics, args, out)]
    if args["calib_windows"]:
        parts.append(_calibration(spec, built, metrics, args, out))
    text = f"# Convergence of {task}\n\n" + "\n".join(parts)
    (out / "convergence.md").write_text(text, encoding="utf-8")
    print(text)
    log.info("wrote %s", out / "convergence.md")


def register(app: typer.Typer) -> None:
    """Add ``converge`` to the metricforge app."""
    app.command("converge")(converge)
