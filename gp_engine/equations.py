"""The equations table of a search, like PySR's: the Pareto front with a score per step.

One row per ranking class on the front (metrics with one rank hash give the same masks, so they
share a row), simplest first. ``score`` is the improvement in log-fitness per unit of complexity
from the previous row: -d log(fitness) / d complexity when lower is better (perplexity), +d log
when higher is better (accuracy); 0 for the first row, empty where a fitness is not positive.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    import pandas as pd

    from gp_engine.cache import CacheEntry

COLUMNS = ("complexity", "fitness", "score", "formula", "rank_hash", "hash")


def _log(value: float) -> float | None:
    return math.log(value) if value > 0 and math.isfinite(value) else None


def equations_frame(front: Sequence[CacheEntry], classes: Mapping[str, Sequence[str]],
                    rank_of: Mapping[str, str], direction: str) -> pd.DataFrame:
    """The front (increasing complexity) as a table; ``classes``: formulas by rank hash, simplest
    first; ``rank_of``: rank hash by metric hash (a metric missing there is canonicalised again)."""
    import pandas as pd

    from primitives.recipe import Recipe

    sign = -1.0 if direction == "min" else 1.0
    rows: list[dict[str, Any]] = []
    previous: CacheEntry | None = None
    for e in front:
        rank_hash = rank_of.get(e.hash) or Recipe.parse(e.canonical).rank_hash
        formulas = list(classes.get(rank_hash, ()))
        if e.canonical in formulas:
            formulas.remove(e.canonical)
        formulas.insert(0, e.canonical)  # the scored representative, then its equivalents
        formulas = [formulas[0]] + sorted(formulas[1:], key=lambda t: (len(t), t))
        score: float | None = 0.0
        if previous is not None:
            now, before = _log(e.value), _log(previous.value)
            score = None if now is None or before is None else \
                sign * (now - before) / max(1, e.complexity - previous.complexity)
        rows.append({"complexity": e.complexity, "fitness": e.value, "score": score,
                     "formula": " ≡ ".join(formulas), "rank_hash": rank_hash, "hash": e.hash})
        previous = e
    return pd.DataFrame(rows, columns=list(COLUMNS))


def equations_markdown(table: pd.DataFrame, direction: str) -> str:
    """The equations table as markdown (formulas in code spans)."""
    better = "higher" if direction == "max" else "lower"
    lines = [f"## Equations ({better} fitness is better; score = log-fitness gained per unit of complexity)", "",
             "| complexity | fitness | score | formula |", "|---|---|---|---|"]
    for row in table.itertuples(index=False):
        score = "" if row.score is None or (isinstance(row.score, float) and math.isnan(row.score)) \
            else f"{row.score:.4g}"
        formulas = " ≡ ".join(f"`{f}`" for f in str(row.formula).split(" ≡ "))
        lines.append(f"| {row.complexity} | {row.fitness:.6g} | {score} | {formulas} |")
    return "\n".join(lines) + "\n"
