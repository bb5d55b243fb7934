"""``metricforge cafe``: a CTR model's embeddings compressed by hashing, QR, frequency or CAFE at memory ratios."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from metricforge.cli_lists import floats, ints, names
from metricforge.options import option_option, out_option, registry_option


def cafe(model: str = typer.Option("deepfm", help="deepfm or dlrm."),
         ratios: str = typer.Option("0.5,0.1,0.02,0.01", help="Embedding memory as fractions of the full table, "
                                                               "each in (0, 1]."),
         methods: str = typer.Option("full,hash,qr,frequency,cafe",
                                     help="Comma-separated: full, hash, qr, frequency, cafe, cafe-ml (multi-level)."),
         seeds: str = typer.Option("0", help="Comma-separated seeds (data split, init, batch order, hashes)."),
         out: Path = out_option(Path("runs/cafe"), "Folder for results.json/.md and the plot."),
         threshold: Optional[float] = typer.Option(None, help="CAFE's hot threshold on the sketch score "
                                                              "(default: the MovieLens-100k choice of "
                                                              "benchmarks/cafe/threshold.md)."),
         hot_fraction: float = typer.Option(0.5, help="Share of the budget for hot rows (CAFE and frequency)."),
         importance: str = typer.Option("grad-norm", help="CAFE's per-occurrence score: grad-norm (gradient norm, "
                                                          "mean 1 per batch), frequency (1 per occurrence), a "
                                                          "formula over gnorm, freq, enorm, recency, gdot, perr "
                                                          "(e.g. 'mul(gnorm, sqrt(enorm))'), or a registry "
                                                          "metric's name or hash."),
         registry: Optional[str] = registry_option("Registry URL or SQLite path to look --importance up in when "
                                                  "it is not a formula [default: ./metricforge.db]."),
         decay_every: Optional[float] = typer.Option(None, help="Inserted score per sketch decay (x0.99); "
                                                                "default 10 x buckets x threshold, as CAFE."),
         epochs: Optional[int] = typer.Option(None, help="Training epochs (default: as the dense recsys "
                                                         "model, 7 for deepfm, 5 for dlrm)."),
         max_steps: Optional[int] = typer.Option(None, help="Stop every training after this many steps (smoke runs)."),
         split: str = typer.Option("random", help="random or time (train on earlier ratings, test on later)."),
         option: Optional[List[str]] = option_option("Study setting KEY=VALUE (repeatable), any field of the "
                                                     "CAFE config, e.g. -o max_steps=50; overrides the flags."),
         ) -> None:
    """Test AUC, memory and training throughput of compressed embeddings on MovieLens-100k."""
    from model_compression.cafe.experiment import CAFEConfig, run_cafe
    from evaluators.embedding.cafe.methods import DEFAULT_THRESHOLD
    from model_compression.cafe.report import aggregate, markdown_tables, versus_hash, write_results

    import dataclasses

    from metricforge.options import check_fields, parse_options

    extra = check_fields(CAFEConfig, parse_options(option), "cafe setting")
    importance = importance_text(importance, registry)
    cfg = CAFEConfig(model=model, ratios=floats(ratios, "--ratios"), methods=names(methods, "--methods"),
                     seeds=ints(seeds, "--seeds"), threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
                     hot_fraction=hot_fraction, importance=importance, decay_every=decay_every, split=split,
                     epochs=epochs, max_steps=max_steps)
    cfg = dataclasses.replace(cfg, **extra)
    rows = run_cafe(cfg)
    paths = write_results(rows, out, {"config": cfg.to_dict()})
    typer.echo(markdown_tables(aggregate(rows), versus_hash(rows)))
    typer.echo(f"wrote {paths['json']}, {paths['md']}, {paths['plot']}")


def importance_text(ref: str, registry: Optional[str]) -> str:
    """--importance as a built-in name or formula; a registry name or hash becomes its formula text."""
    from evaluators.embedding.cafe.metric_importance import resolve_importance
    from registry.lookup import consulted_source

    with consulted_source(registry) as source:
        return resolve_importance(ref, source)


def register(app: typer.Typer) -> None:
    """Add the ``cafe`` command."""
    app.command("cafe")(cafe)
