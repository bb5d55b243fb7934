"""Shared matplotlib plumbing of the study reports: a row of panels on the Agg backend, saved once."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def panel_row(count: int) -> tuple[Any, list[Any]]:
    """A figure with ``count`` side-by-side axes (at least one), drawn off-screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, max(1, count), figsize=(5.5 * max(1, count), 4.2), squeeze=False)
    return fig, list(axes[0])


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
    return min(0.45, 0.02 + 0.05 * -(-len(labels) // columns))


def save_figure(fig: Any, path: Path, bottom: float = 0.0) -> Path:
    """Lay out (leaving ``bottom`` of the height free, for a shared legend), write as PNG (creating the
    folder) and free the figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=(0, bottom, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
