"""``metricforge lth``: lottery tickets (+ distillation) for a CTR model, pruned by any registry metric."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from metricforge.cli_lists import floats, ints
from metricforge.options import option_option, out_option, registry_option


def lth(model: str = typer.Option("deepfm", help="deepfm or dlrm."),
        metric: str = typer.Option("magnitude", help="Built-in name, registry name/hash/prefix, or formula."),
        sparsities: str = typer.Option("0.5,0.8,0.9,0.95", help="Target sparsities of the MLP weights."),
        kd: bool = typer.Option(True, "--kd/--no-kd", help="Also run IMP with distillation from the dense teacher."),
        seeds: str = typer.Option("0", help="Comma-separated seeds (data split, init, batch order)."),
        registry: Optional[str] = registry_option("Registry URL or SQLite path to look the metric up in."),
        out: Path = out_option(Path("runs/lth"), "Folder for results.json/.md and the plot."),
        option: Optional[List[str]] = option_option("Study setting KEY=VALUE (repeatable), any field of the "
                                                    "LTH config, e.g. -o rewind_step=20; overrides the flags."),
        scope: str = typer.Option("global", help="Comparison group of each pruning level: global, layer or row."),
        fraction: float = typer.Option(0.2, help="Fraction of the remaining weights pruned per level."),
        rewind_step: int = typer.Option(40, help="Step of the dense run that survivors are rewound to."),
        alpha: float = typer.Option(0.5, help="KD weight of the soft term."),
        temperature: float = typer.Option(2.0, help="KD temperature."),
        epochs: Optional[int] = typer.Option(None, help="Training epochs of the dense model and of each "
                                                         "retraining [default: 7 for deepfm, 5 for dlrm]."),
        split: str = typer.Option("random", help="random or time (train on earlier ratings, test on later)."),
        controls: bool = typer.Option(True, "--controls/--no-controls", help="One-shot and random re-init controls."),
        timing: bool = typer.Option(True, "--timing/--no-timing", help="Measure dense vs CSR inference time."),
        embeddings: bool = typer.Option(False, "--embeddings/--no-embeddings", help="Prune embedding tables too."),
        ) -> None:
    """Iterative pruning with rewinding (+ KD) vs one-shot and random re-init, on MovieLens-100k."""
    import dataclasses
    import logging

    from model_compression.lth.experiment import LTHConfig, run_lth
    from model_compression.lth.report import aggregate, markdown_table, write_results
    from model_compression.lth.resolve import resolve_metric_ref
    from metricforge.options import check_fields, parse_options

    extra = check_fields(LTHConfig, parse_options(option), "lth setting")
    cfg = LTHConfig(model=model, sparsities=floats(sparsities, "--sparsities"),
                    seeds=ints(seeds, "--seeds"), fraction=fraction, scope=scope,
                    rewind_step=rewind_step, kd=kd, alpha=alpha, temperature=temperature, controls=controls,
                    include_embeddings=embeddings, timing=timing, split=split, epochs=epochs)
    cfg = dataclasses.replace(cfg, **extra)
    chosen = resolve_metric_ref(metric, registry)
    logging.getLogger(__name__).info("metric %s (%s), %d seed(s)", chosen.text, chosen.hash, len(cfg.seeds))
    rows = run_lth(cfg, chosen)
    meta = {"config": cfg.to_dict(), "metric": {"text": chosen.text, "canonical": chosen.canonical,
                                                "hash": chosen.hash, "name": chosen.name}}
    paths = write_results(rows, out, meta)
    typer.echo(markdown_table(aggregate(rows)))
    typer.echo(f"wrote {paths['json']}, {paths['md']}, {paths['plot']}")


def register(app: typer.Typer) -> None:
    """Add the ``lth`` command."""
    app.command("lth")(lth)
