"""``metricforge parse``: show a formula's or recipe's canonical, simplified and LaTeX forms."""
from __future__ import annotations

import typer

from metricforge.output import print_json


def parse_command(
    formula: str = typer.Argument(..., help="A formula such as 'mul(abs(W), X)', recipe(...) text or a built-in "
                                            "name such as 'wanda' or 'owl_wanda' (one that starts with '-' goes "
                                            "after --: parse -- \"-W\")."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Parse a formula or recipe and print its canonical form, ranking form, hashes and LaTeX (a recipe:
    its parts too)."""
    from primitives.metric import Metric
    from primitives.reference import resolve_recipe
    from registry.exporters import export

    metric = resolve_recipe(formula).as_entry()
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
    if not isinstance(metric, Metric):
        parts = metric.parts()
        info.update({"score": parts["score"], "score_hash": parts["score_hash"], "alloc": parts["alloc"],
                     "unit": parts["unit"] or "", "post": parts["post"]})
    if as_json:
        print_json(info)
        return
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}}  {', '.join(value) if isinstance(value, list) else value}")


def register(app: typer.Typer) -> None:
    app.command("parse")(parse_command)
