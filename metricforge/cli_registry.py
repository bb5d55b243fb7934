"""``metricforge registry ...``: add, list, show, best, export, import and verify.

Names and formulas come from the registry, which anyone may have written to: they are printed
inert (``inert``): control characters as escapes, and in tables rich markup escaped, so a name
like ``[bold red]x`` or ``\x1b[2J`` shows as those characters and never styles or clears the terminal.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from metricforge.options import out_option, registry_option
from metricforge.output import print_json, print_table

registry_app = typer.Typer(help="Query and edit the metric registry (SQLite file or any SQLAlchemy URL).",
                           no_args_is_help=True, rich_markup_mode=None)

RegistryOption = registry_option()
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


def inert(value: Any, markup: bool = False) -> str:
    """Text safe to print: non-printable characters escaped; with ``markup``, rich markup escaped too."""
    text = "" if value is None else str(value)
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    if markup:
        from rich.markup import escape

        text = escape(text)
    return text


def _cells(*values: Any) -> tuple[Any, ...]:
    """Table cells: text from the registry escaped for rich; numbers kept for formatting."""
    return tuple(v if v is None or isinstance(v, (int, float)) else inert(v, markup=True) for v in values)


def _open(url: Optional[str]):
    from registry.store import Registry

    return Registry.open(url)


def _metric_from_text(formula: str):
    from primitives.reference import resolve_recipe

    return resolve_recipe(formula).as_entry()


def _steps(row) -> str:
    """A stored recipe's allocation and post step in a few words ("" for a bare formula)."""
    if not row.is_recipe:
        return ""
    alloc = "uniform" if row.allocation == "uniform" else f"{row.allocation} per {row.unit}"
    return f"alloc {alloc}, post {row.post}"


@registry_app.command("add")
def add(formula: str = typer.Argument(..., help="Formula or recipe(...) text, or a built-in name (wanda, ria, "
                                                "owl_wanda, ...)."),
        name: Optional[str] = typer.Option(None, help="A unique name for the metric."),
        registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """Store a metric or recipe; equivalent formulas map to the one existing entry."""
    metric = _metric_from_text(formula)  # parse before touching the database
    with _open(registry) as reg:
        row = reg.add_metric(metric, name=name or metric.name)
    print_json(row) if as_json else print(f"{row.hash}  {inert(row.canonical)}" + (f"  ({inert(row.name)})" if row.name else ""))


@registry_app.command("list")
def list_(limit: int = typer.Option(50, help="Rows to show."),
          order: str = typer.Option("created", help="created, complexity, hash or name."),
          registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """List stored metrics and recipes (a recipe's allocation and post step under "steps")."""
    with _open(registry) as reg:
        rows = reg.list_metrics(limit=limit, order=order)
    if as_json:
        return print_json(rows)
    print_table("metrics", ["hash", "name", "canonical", "steps", "complexity", "created"],
                [_cells(r.hash, r.name, r.canonical, _steps(r), r.complexity, r.created_at.strftime("%Y-%m-%d %H:%M"))
                 for r in rows])


@registry_app.command("show")
def show(ref: str = typer.Argument(..., help="Name, hash, hash prefix or formula."),
         registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """Show one metric or recipe (its parts: score, allocation, unit, post step) and its evaluations."""
    with _open(registry) as reg:
        row = reg.get_metric(ref)
        evaluations = reg.evaluations(row.hash)
    if as_json:
        return print_json({"metric": row, "evaluations": evaluations})
    keys = ("hash", "name", "canonical", "text", "rank_hash", "operands", "complexity")
    if row.is_recipe:
        keys += ("score_hash", "allocation", "unit", "post")
    for key in keys:
        value = getattr(row, key)
        print(f"{key:<10}  {inert(', '.join(value) if isinstance(value, tuple) else value)}")
    if evaluations:
        print_table("evaluations", ["task", "model", "sparsity", "group", "budget", "score", "ok", "reason"],
                    [_cells(e.task, e.model, e.sparsity, e.granularity, e.budget, e.score, str(e.ok), e.reason)
                     for e in evaluations])


@registry_app.command("best")
def best(task: Optional[str] = typer.Option(None, help="Task name, e.g. llm-prune."),
         sparsity: Optional[float] = typer.Option(None, min=0.0, max=1.0, help="Only this sparsity (0 to 1)."),
         granularity: Optional[str] = typer.Option(None, help="Only this granularity, e.g. row or 2:4."),
         model: Optional[str] = typer.Option(None, help="Only this model, e.g. smollm2-135m."),
         direction: Optional[str] = typer.Option(None, help="min or max [default: the task's own: max for "
                                                            "accuracy and AUC, min for perplexity]."),
         limit: int = typer.Option(10, min=1, help="Rows to show."), registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """Leaderboard for one task setting, best first in the task's direction (budgets are never mixed)."""
    from metricforge.leaderboard import leaderboard_direction

    filters = {k: v for k, v in {"sparsity": sparsity, "granularity": granularity, "model": model}.items() if v is not None}
    with _open(registry) as reg:
        direction = leaderboard_direction(reg, task, direction, filters)
        rows = reg.best(task, direction=direction, limit=limit, **filters) if direction else []
    if as_json:
        return print_json(rows)
    print_table(f"best for {task or 'any task'}", ["rank", "hash", "name", "canonical", "score"],
                [_cells(i + 1, r.hash, r.name, r.canonical, r.score) for i, r in enumerate(rows)])


@registry_app.command("export")
def export_(ref: Optional[str] = typer.Argument(None, help="Name, hash, hash prefix or formula."),
            fmt: str = typer.Option("text", "--format", "-f", help="text, latex, sympy, python or json."),
            everything: bool = typer.Option(False, "--all", help="The whole registry (metrics, runs, evaluations, "
                                            "lineage) as one JSON that registry import reads back."),
            output: Optional[Path] = out_option(None, "Write to this file instead of stdout."),
            registry: Optional[str] = RegistryOption) -> None:
    """Export a stored metric or recipe (each part) as text, LaTeX, sympy, Python/torch or numpy source or
    a JSON tree, or the whole registry."""
    if everything == (ref is not None):
        raise ValueError("give a metric to export, or --all for the whole registry (not both)")
    if everything:
        with _open(registry) as reg:
            text = json.dumps(reg.export_all(), indent=1, ensure_ascii=True)
    else:
        from primitives.grammar import parse
        from primitives.metric import Metric
        from primitives.recipe import Recipe, is_recipe_text
        from registry.exporters import exporter

        write = exporter(fmt)
        with _open(registry) as reg:
            row = reg.get_metric(ref)  # type: ignore[arg-type]
        source = row.text if fmt == "json" else row.canonical  # json: the stored formula, so its hash reads back
        text = write(Recipe.parse(source, name=row.name) if is_recipe_text(source) else Metric(parse(source), row.name))
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text)


def _read_source(source: str) -> bytes:
    """The bytes of an import file (or stdin), refused before reading when over the size limit."""
    from primitives.safe_json import MAX_JSON_BYTES

    if source == "-":
        data = sys.stdin.buffer.read(MAX_JSON_BYTES + 1)
    else:
        path = Path(source)
        if path.is_dir():
            raise ValueError(f"{source} is a folder; registry import reads one JSON export file")
        if not path.exists():
            raise FileNotFoundError(f"no such file: {source}")
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ValueError(f"{source} is {path.stat().st_size} bytes; the import limit is {MAX_JSON_BYTES}")
        data = path.read_bytes()
    if len(data) > MAX_JSON_BYTES:
        raise ValueError(f"standard input holds over {MAX_JSON_BYTES} bytes; the import limit is {MAX_JSON_BYTES}")
    return data


@registry_app.command("import")
def import_(source: str = typer.Argument(..., help="A JSON export file (one metric, or a whole registry from "
                                         "export --all), or - for standard input."),
            name: Optional[str] = typer.Option(None, help="Name to give the metric."),
            rename: bool = typer.Option(False, "--rename", help="Replace the name of a metric already named otherwise."),
            registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """Import a JSON export: validated completely first; one bad entry rejects the file and nothing is stored."""
    data = _read_source(source)
    with _open(registry) as reg:
        done = reg.import_json(data, name=name, rename=rename)
    if as_json:
        return print_json(done.get("metric", done))
    if "metric" in done:
        row = done["metric"]
        print(f"{row.hash}  {inert(row.canonical)}" + (f"  ({inert(row.name)})" if row.name else ""))
    else:
        print(", ".join(f"{done[k]} {k}" for k in ("metrics", "runs", "evaluations", "lineage")) + " imported")


@registry_app.command("verify")
def verify(repair: bool = typer.Option(False, "--repair", help="Rewrite derived columns (ranking class) recorded "
                                       "under an older rule and clear names that break the name rules."),
           registry: Optional[str] = RegistryOption, as_json: bool = JsonOption) -> None:
    """Check every stored metric against the current rules; exit 1 when a row breaks one (and --repair was not given)."""
    with _open(registry) as reg:
        report = reg.verify(repair=repair)
    if as_json:
        print_json(report)
    else:
        print(f"{report.metrics} metrics, {report.evaluations} successful evaluations checked")
        for title, lines in (("hash does not match the formula", report.bad_hash),
                             ("ranking class recorded under an older rule" + (" (repaired)" if repair else ""), report.reflagged),
                             ("name breaks the rules" + (" (cleared)" if repair else ""), report.bad_names),
                             ("ranking classes whose members scored differently", report.split_classes)):
            for line in lines:
                print(f"{title}: {inert(line)}")
    if not report.clean and not repair or report.bad_hash:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")
