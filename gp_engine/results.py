"""Hall of fame and the Pareto front of fitness versus complexity, as JSON and markdown."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from gp_engine.cache import CacheEntry
from gp_engine.checkpoint import write_json_atomic


def _order(direction: str):
    """Sort key: best value first, then simpler, then hash (deterministic)."""
    sign = -1.0 if direction == "max" else 1.0
    return lambda e: (sign * e.value, e.complexity, e.hash)


def hall_of_fame(entries: Iterable[CacheEntry], direction: str, size: int) -> list[CacheEntry]:
    """The ``size`` best successfully scored metrics."""
    ok = [e for e in entries if e.ok]
    return sorted(ok, key=_order(direction))[:size]


def pareto_front(entries: Iterable[CacheEntry], direction: str) -> list[CacheEntry]:
    """Metrics no simpler metric matches or beats, by increasing complexity."""
    better = (lambda a, b: a > b) if direction == "max" else (lambda a, b: a < b)
    front: list[CacheEntry] = []
    for e in sorted((e for e in entries if e.ok), key=lambda e: (e.complexity,) + _order(direction)(e)):
        if not front or better(e.value, front[-1].value):
            if front and front[-1].complexity == e.complexity:
                continue  # an equally simple, better one is already there
            front.append(e)
    return front


def entry_row(e: CacheEntry) -> dict[str, Any]:
    """The public fields of an entry."""
    return {"hash": e.hash, "canonical": e.canonical, "fitness": e.value, "complexity": e.complexity,
            "source": e.source, "generation": e.generation}


def markdown_table(rows: list[CacheEntry], title: str) -> str:
    """A markdown table of metrics."""
    lines = [f"## {title}", "", "| # | fitness | complexity | hash | formula |", "|---|---|---|---|---|"]
    for i, e in enumerate(rows, 1):
        lines.append(f"| {i} | {e.value:.6g} | {e.complexity} | `{e.hash}` | `{e.canonical}` |")
    return "\n".join(lines) + "\n"


def write_results(out_dir: Path, entries: list[CacheEntry], direction: str, size: int,
                  summary: dict[str, Any]) -> dict[str, Path]:
    """Write hall_of_fame.json, pareto.json, pareto.md and summary.json; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    hof, front = hall_of_fame(entries, direction, size), pareto_front(entries, direction)
    paths = {name: out_dir / name for name in ("hall_of_fame.json", "pareto.json", "pareto.md", "summary.json")}
    write_json_atomic(paths["hall_of_fame.json"], [entry_row(e) for e in hof])
    write_json_atomic(paths["pareto.json"], [entry_row(e) for e in front])
    text = markdown_table(hof, f"Hall of fame ({direction} is better)") + "\n" + \
        markdown_table(front, "Pareto front: fitness vs complexity")
    tmp = paths["pareto.md"].with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(paths["pareto.md"])
    write_json_atomic(paths["summary.json"], summary)
    return paths
