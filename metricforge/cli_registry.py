"""``metricforge registry ...``: add, list, show, best, export and import metrics."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from metricforge.options import out_option, registry_option
from metricforge.output import print_json, print_table

registry_app = typer.Typer(help="Query and edit the metric registry (SQLite file or any SQLAlchemy URL).",
                           no_args_is_help=True, rich_markup_mode=None)

RegistryOption = registry_option()
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _open(url: Optional[str]):
    from registry.store import Registry

    return Registry.open(url)


def _metric_from_text(formula: str):
    from primitives.reference import resolve_metric

    return resolve_metric(formula)


@registry_app.command("add")
def add(formula: str = typer.Argument(..., help="Formula text, or a built-in name (wanda, ria, ...)."),
        name: Optional[str] = typer.Option(None, help="A unique name for the metric."),
        registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """Store a metric; equivalent formulas map to the one existing entry."""
    metric = _metric_from_text(formula)  # parse before touching the database
    with _open(registry) as reg:
        row = reg.add_metric(metric, name=name or metric.name)
    print_json(row) if as_json else print(f"{row.hash}  {row.canonical}" + (f"  ({row.name})" if row.name else ""))


@registry_app.command("list")
def list_(limit: int = typer.Option(50, help="Rows to show."),
          order: str = typer.Option("created", help="created, complexity, hash or name."),
          registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """List stored metrics."""
    with _open(registry) as reg:
        rows = reg.list_metrics(limit=limit, order=order)
    if as_json:
        return print_json(rows)
    print_table("metrics", ["hash", "name", "canonical", "complexity", "created"],
                [(r.hash, r.name, r.canonical, r.complexity, r.created_at.strftime("%Y-%m-%d %H:%M")) for r in rows])


@registry_app.command("show")
def show(ref: str = typer.Argument(..., help="Name, hash, hash prefix or formula."),
         registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """Show one metric and its evaluations."""
    with _open(registry) as reg:
        row = reg.get_metric(ref)
        evaluations = reg.evaluations(row.hash)
    if as_json:
        return print_json({"metric": row, "evaluations": evaluations})
    for key in ("hash", "name", "canonical", "text", "rank_hash", "operands", "complexity"):
        value = getattr(row, key)
        print(f"{key:<10}  {', '.join(value) if isinstance(value, tuple) else value}")
    if evaluations:
        print_table("evaluations", ["task", "model", "sparsity", "group", "budget", "score", "ok", "reason"],
                    [(e.task, e.model, e.sparsity, e.granularity, e.budget, e.score, e.ok, e.reason) for e in evaluations])


@registry_app.command("best")
def best(task: Optional[str] = typer.Option(None, help="Task name, e.g. llm-prune."),
         sparsity: Optional[float] = typer.Option(None), granularity: Optional[str] = typer.Option(None),
         model: Optional[str] = typer.Option(None),
         direction: Optional[str] = typer.Option(None, help="min or max [default: the task's own: max for "
                                                            "accuracy and AUC, min for perplexity]."),
         limit: int = typer.Option(10), registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """Leaderboard for one task setting, best first in the task's direction (budgets are never mixed)."""
    from metricforge.leaderboard import leaderboard_direction

    filters = {k: v for k, v in {"sparsity": sparsity, "granularity": granularity, "model": model}.items() if v is not None}
    with _open(registry) as reg:
        direction = leaderboard_direction(reg, task, direction, filters)
        rows = reg.best(task, direction=direction, limit=limit, **filters) if direction else []
    if as_json:
        return print_json(rows)
    print_table(f"best for {task or 'any task'}", ["rank", "hash", "name", "canonical", "score"],
                [(i + 1, r.hash, r.name, r.canonical, r.score) for i, r in enumerate(rows)])


@registry_app.command("export")
def export_(ref: str = typer.Argument(..., help="Name, hash, hash prefix or formula."),
            fmt: str = typer.Option("text", "--format", "-f", help="text, latex, sympy, python or json."),
            output: Optional[Path] = out_option(None, "Write to this file instead of stdout."),
            registry: Optional[str] = RegistryOption) -> None:
    """Export a stored metric as text, LaTeX, sympy, Python/torch source or a JSON tree."""
    from primitives.metric import Metric
    from registry.exporters import exporter

    write = exporter(fmt)
    with _open(registry) as reg:
        row = reg.get_metric(ref)
    text = write(Metric.parse(row.canonical, name=row.name))
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text)


@registry_app.command("import")
def import_(source: str = typer.Argument(..., help="A JSON export file, or - for standard input."),
            name: Optional[str] = typer.Option(None, help="Name to give the metric."),
            registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """Import a metric from a JSON export (validated; nothing is stored if it is invalid)."""
    from primitives.metric import Metric

    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    metric = Metric.from_json(text)
    with _open(registry) as reg:
        row = reg.add_metric(metric, name=name or metric.name)
    print_json(row) if as_json else print(f"{row.hash}  {row.canonical}")


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")
