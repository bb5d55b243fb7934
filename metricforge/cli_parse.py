"""``metricforge parse``: show a formula's canonical, simplified and LaTeX forms."""
from __future__ import annotations

import typer

from metricforge.output import print_json


def parse_command(
    formula: str = typer.Argument(..., help="A formula such as 'mul(abs(W), X)' or a built-in name such as 'wanda' "
                                            "(one that starts with '-' goes after --: parse -- \"-W\")."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Parse a formula and print its canonical form, ranking form, hashes and LaTeX."""
    from primitives.reference import resolve_metric
    from registry.exporters import export

    metric = resolve_metric(formula)
    info = {
        "text": metric.text,
        "canonical": metric.canonical,
        "hash": metric.hash,
        "ranking_form": metric.ranking,
        "rank_hash": metric.rank_hash,
        "operands": list(metric.operands),
        "complexity": metric.complexity,
        "latex": export(metric, "latex"),
    }
    if as_json:
        print_json(info)
        return
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}}  {', '.join(value) if isinstance(value, list) else value}")


def register(app: typer.Typer) -> None:
    app.command("parse")(parse_command)
