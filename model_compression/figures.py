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


def finish_panel(ax: Any, title: str, xlabel: str, ylabel: str = "test AUC") -> None:
    """Title, axis labels, a light grid and a small legend."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def save_figure(fig: Any, path: Path) -> Path:
    """Lay out, write as PNG (creating the folder) and free the figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
