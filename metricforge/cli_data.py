"""``metricforge downsample`` and ``metricforge isocompute``: recommender training-data efficiency on MovieLens-100k."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

from metricforge.cli_lists import floats, ints, names
from metricforge.options import out_option

log = logging.getLogger(__name__)


def downsample(strategies: str = typer.Option("uniform,negatives,time-decay",
                                              help="Comma-separated: uniform, negatives, time-decay."),
               fractions: str = typer.Option("0.05,0.1,0.2,0.4,0.7,1.0",
                                             help="Keep rates, each in (0, 1] (negatives: rate of the negatives)."),
               seeds: str = typer.Option("0,1,2", help="Comma-separated seeds (split, sample, init, batch order)."),
               model: str = typer.Option("deepfm", help="deepfm or dlrm."),
               out: Path = out_option(Path("runs/downsample"), "Folder for training_convergence.md/.png/.json."),
               split: Optional[str] = typer.Option(None, help="random or time [default: time for time-decay, "
                                                              "random otherwise]."),
               epochs: int = typer.Option(4, help="Optimizer steps of every run, in epochs of the full training set."),
               evals: int = typer.Option(10, help="Validation checks per run (the best one is kept)."),
               tolerance: float = typer.Option(0.002, help="AUC gain below which more data does not count."),
               window: int = typer.Option(2, help="Larger fractions each point is compared with."),
               tau_days: float = typer.Option(30.0, help="Time-decay's scale: keep odds fall by e every tau days."),
               ) -> None:
    """Validation AUC against training-data fraction per downsampling strategy, with its convergence point."""
    from data_efficiency.downsample import STRATEGIES, check_rate
    from data_efficiency.plateau import check_settings
    from data_efficiency.recsys_point import RunSettings
    from data_efficiency.train_convergence import training_convergence, write_report
    from evaluators.recsys.config import DataConfig
    from evaluators.recsys.models import MODELS

    chosen, grid = names(strategies, "--strategies"), floats(fractions, "--fractions")
    seed_list = ints(seeds, "--seeds")
    unknown = [s for s in chosen if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r}: expected one of {', '.join(STRATEGIES)}")
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: expected one of {', '.join(MODELS)}")
    for f in grid:
        check_rate(f)
    check_settings(tolerance, window, 0.95)
    if split is not None:
        DataConfig(split=split)
    run = RunSettings(epochs=epochs, evals=evals, tau_days=tau_days)
    results = []
    for strategy in chosen:
        log.info("downsample: %s, %d fractions x %d seeds", strategy, len(grid), len(seed_list))
        results.append(training_convergence(grid, seed_list, strategy, model, tolerance, window, split=split, run=run))
    paths = write_report(results, out)
    for res in results:
        point = "none before the last fraction" if res.point is None else f"{res.point:g}"
        typer.echo(f"{res.model} {res.strategy} ({res.split} split): convergence point {point}")
    typer.echo(f"wrote {paths['md']}, {paths['png']}, {paths['json']}")


def isocompute(budgets: str = typer.Option("5e9,2e10,8e10", help="Training-compute budgets in FLOPs."),
               sizes: str = typer.Option("s,m,l,xl", help="Model sizes: xs, s, m, l, xl or EMBxH1-H2 "
                                                          "(e.g. 16x256-128)."),
               seeds: str = typer.Option("0,1,2", help="Comma-separated seeds (split, sample, init, batch order)."),
               model: str = typer.Option("deepfm", help="deepfm or dlrm."),
               split: str = typer.Option("random", help="random or time."),
               out: Path = out_option(Path("runs/isocompute"), "Folder for isocompute.md/.png/.json."),
               ) -> None:
    """Model size x training data at fixed training compute: AUC of each size at each budget."""
    from data_efficiency.isocompute import isocompute as sweep, parse_size
    from data_efficiency.isocompute_report import aggregate, markdown_table, write_isocompute
    from evaluators.recsys.config import DataConfig

    budget_list, size_list, seed_list = floats(budgets, "--budgets"), names(sizes, "--sizes"), ints(seeds, "--seeds")
    if min(budget_list) <= 0:
        raise ValueError(f"--budgets must be positive, got {budgets!r}")
    for size in size_list:
        parse_size(size)
    DataConfig(split=split)
    rows = sweep(list(budget_list), list(size_list), list(seed_list), model, split)
    paths = write_isocompute(rows, out)
    typer.echo(markdown_table(aggregate(rows)))
    typer.echo(f"wrote {paths['md']}, {paths['png']}, {paths['json']}")


def register(app: typer.Typer) -> None:
    """Add the ``downsample`` and ``isocompute`` commands."""
    app.command("downsample")(downsample)
    app.command("isocompute")(isocompute)
