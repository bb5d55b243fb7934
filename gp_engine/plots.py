"""A run's two progress figures: fitness per generation and fitness against complexity.

Metrics are labelled by formula or built-in name, never by hash. matplotlib is imported here,
lazily, on the off-screen Agg backend.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    from gp_engine.cache import CacheEntry

LABEL_CHARS = 48


def short(formula: str, limit: int = LABEL_CHARS) -> str:
    """A formula cut to ``limit`` characters for a label."""
    return formula if len(formula) <= limit else formula[:limit - 1] + "…"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    """Write through a temporary file so a reader never sees half a PNG."""
    plt = _pyplot()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def plot_fitness(generations: Sequence[Mapping[str, Any]], baselines: Mapping[str, float], direction: str,
                 path: Path) -> Path:
    """Best and median fitness of the population per generation; built-ins as horizontal lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    gens = [int(g["generation"]) for g in generations]
    for key, style, label in (("best", "o-", "best"), ("median", "s--", "median")):
        values = [_finite(g.get(key)) for g in generations]
        points = [(x, v) for x, v in zip(gens, values) if v is not None]
        if points:
            ax.plot(*zip(*points), style, label=label, markersize=4)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, value) in enumerate(sorted(baselines.items(), key=lambda kv: kv[1])):
        ax.axhline(value, linestyle=":", linewidth=1.2, color=colors[(i + 2) % len(colors)],
                   label=f"{name} ({value:.4g})")
    best_last = generations[-1].get("best_canonical") if generations else None
    title = "fitness per generation" + (f"\nbest: {short(str(best_last), 70)}" if best_last else "")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("generation")
    ax.set_ylabel(f"fitness ({'higher' if direction == 'max' else 'lower'} is better)")
    ax.grid(alpha=0.3)
    if gens:
        from matplotlib.ticker import MaxNLocator

        ax.set_xlim(min(gens) - 0.5, max(gens) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def plot_pareto(entries: Sequence[CacheEntry], front: Sequence[CacheEntry], direction: str, path: Path) -> Path:
    """Every scored metric's fitness against its complexity, the Pareto front drawn and labelled."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.6))
    ok = [e for e in entries if e.ok and _finite(e.value) is not None]
    if ok:
        ax.scatter([e.complexity for e in ok], [e.value for e in ok], s=14, alpha=0.35, color="grey",
                   label=f"scored metrics ({len(ok)})")
    if front:
        ax.step([e.complexity for e in front], [e.value for e in front], where="post", color="C3", linewidth=1.5)
        ax.scatter([e.complexity for e in front], [e.value for e in front], s=36, color="C3", zorder=3,
                   label="Pareto front")
        for e in front[-6:]:  # the most complex (best) points: the ones worth naming
            ax.annotate(short(e.canonical, 36), (e.complexity, e.value), textcoords="offset points",
                        xytext=(4, 4), fontsize=7)
    ax.set_title("fitness against complexity", fontsize=10)
    ax.set_xlabel("complexity (tree nodes)")
    ax.set_ylabel(f"fitness ({'higher' if direction == 'max' else 'lower'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)
