"""``metricforge granularity``: quality and storage of a metric's masks at several sparsity granularities."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from metricforge.cli_lists import floats, names
from metricforge.options import option_option, out_option, registry_option

DEFAULT_GRANULARITIES = {"cnn-prune": "element,vector,kernel,filter",
                         "llm-prune": "element,vector:4,2:4,block:4,filter,head"}


def granularity(
    task: str = typer.Option("cnn-prune", help="cnn-prune (digits CNN accuracy) or llm-prune (LLM perplexity)."),
    metric: List[str] = typer.Option(["wanda"], "--metric", "-m",
                                     help="Built-in name, registry name/hash/prefix, or formula; repeat for several."),
    sparsities: str = typer.Option("0.5,0.7,0.9", help="Comma-separated target sparsities (N:M runs at N/M)."),
    granularities: Optional[str] = typer.Option(
        None, help="Comma-separated: element, vector[:k], block:k, kernel, filter, head[:d], N:M; "
                   "suffix @row or @global to change the scope. Default: element,vector,kernel,filter for "
                   "cnn-prune; element,vector:4,2:4,block:4,filter,head for llm-prune."),
    aggregate: str = typer.Option("l2", help="Group score from element scores: l1, l2, max or mean."),
    fine_tune_steps: int = typer.Option(0, help="cnn-prune: masked fine-tune steps after pruning."),
    layers: str = typer.Option("conv", help="cnn-prune: conv, conv-skip-first, or all (conv + hidden FC)."),
    llm_eval_tokens: int = typer.Option(8192, help="llm-prune: evaluation tokens."),
    llm_calib_windows: int = typer.Option(16, help="llm-prune: calibration windows of 512 tokens."),
    llm_dtype: str = typer.Option("auto", help="llm-prune: auto, bf16 or float32."),
    out: Path = out_option(Path("runs/granularity"), "Folder for results.json/.md and plots."),
    registry: Optional[str] = registry_option("Registry URL or SQLite path to look metrics up in."),
    option: Optional[List[str]] = option_option("llm-prune task option KEY=VALUE (repeatable), e.g. "
                                                "-o calib_source=fortunes; overrides the --llm-* flags."),
) -> None:
    """Prune with a metric at each granularity and sparsity; report quality, bytes and index counts."""
    from model_compression.granularity.report import markdown, write_results
    from model_compression.granularity.study import StudyConfig, run_study
    from model_compression.lth.resolve import resolve_metric_ref

    if task not in DEFAULT_GRANULARITIES:
        raise ValueError(f"--task must be cnn-prune or llm-prune, got {task!r}")
    grans = names(granularities or DEFAULT_GRANULARITIES[task], "--granularities")
    from metricforge.options import check_task_options, parse_options

    options = parse_options(option)
    if options and task != "llm-prune":
        raise ValueError(f"-o sets llm-prune task options; {task} takes its settings from the flags")
    llm = check_task_options("llm-prune", {"eval_tokens": llm_eval_tokens, "calib_windows": llm_calib_windows,
                                           "dtype": llm_dtype, **options}) if task == "llm-prune" else {}
    cfg = StudyConfig(task=task, granularities=grans, sparsities=floats(sparsities, "--sparsities"),
                      aggregate=aggregate, fine_tune_steps=fine_tune_steps, layers=layers,
                      llm=llm if task == "llm-prune" else {})
    metrics = [resolve_metric_ref(ref, registry) for ref in metric]
    result = run_study(cfg, metrics)
    paths = write_results(result, out)
    typer.echo(markdown(result))
    typer.echo(f"wrote {paths['json']}, {paths['md']}" + "".join(f", {p}" for p in paths["plots"]))


def register(app: typer.Typer) -> None:
    """Add the ``granularity`` command."""
    app.command("granularity")(granularity)
