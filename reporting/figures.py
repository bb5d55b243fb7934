"""Shared matplotlib plumbing of the study reports: compared panels on one grid (Agg backend), labels
that name metrics by built-in name or formula, the dense model as a line, saved once.

Panels wrap after ``MAX_COLUMNS`` so no figure packs many panels into one row, and panels that are
compared share their axes.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

MAX_COLUMNS = 3
_HASH = re.compile(r"[0-9a-f]{16}")


def panel_grid(count: int, *, sharex: bool = False, sharey: bool = True,
               columns: int = MAX_COLUMNS) -> tuple[Any, list[Any]]:
    """A figure with ``count`` compared panels (at least one), at most ``columns`` per row, sharing
    the y axis (and x if asked) so their values read against one scale; unused cells are hidden."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = max(1, count)
    cols = min(count, columns)
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4.2 * rows), squeeze=False, sharex=sharex, sharey=sharey)
    flat = [ax for row in axes for ax in row]
    for ax in flat[count:]:
        ax.set_visible(False)
    if sharey:
        for ax in flat[:count]:
            ax.yaxis.set_tick_params(labelleft=True)
    return fig, flat[:count]


def metric_label(name: str | None, formula: str | None = None, limit: int = 48) -> str:
    """How a plot names a metric: its built-in or given name, else its formula; never a bare hash."""
    text = name if name and not _HASH.fullmatch(name) else (formula or name or "?")
    if _HASH.fullmatch(text):
        from primitives.builtins import BUILTINS, builtin

        text = next((n for n in BUILTINS if builtin(n).hash == text), text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def dense_line(ax: Any, value: float, label: str = "dense", spread: float | None = None) -> None:
    """The dense (unpruned) model as a dashed horizontal line, with its spread over seeds as a band."""
    ax.axhline(value, color="black", linestyle="--", linewidth=1.2, label=label)
    if spread:
        ax.axhspan(value - spread, value + spread, color="grey", alpha=0.2)


def finish_panel(ax: Any, title: str, xlabel: str, ylabel: str = "test AUC", legend: bool = True) -> None:
    """Title, axis labels, a light grid and (unless ``legend`` is False) a small legend."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=8)


def shared_legend(fig: Any, ax: Any, columns: int = 3) -> float:
    """One legend below all panels, from ``ax``'s labelled lines, so no panel's data is covered.
    Returns the share of the figure's height to leave free for it (``save_figure(bottom=...)``)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=columns, fontsize=8, frameon=False)
    rows = -(-len(labels) // columns)
    height = fig.get_figheight()
    return min(0.45, (0.15 + 0.22 * rows) / height)


def save_figure(fig: Any, path: Path, bottom: float = 0.0) -> Path:
    """Lay out (leaving ``bottom`` of the height free, for a shared legend), write as PNG (creating the
    folder) and free the figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=(0, bottom, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
