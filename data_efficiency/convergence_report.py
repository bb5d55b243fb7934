"""Tables, JSON and plots of convergence studies."""
from __future__ import annotations

from pathlib import Path

from data_efficiency.calibration import CalibrationConvergence
from data_efficiency.convergence import RankingConvergence


def ranking_table(result: RankingConvergence, unit: str, tokens_per_unit: int | None = None) -> str:
    """Markdown: agreement with the full ranking at each budget, convergence point marked."""
    tok = tokens_per_unit is not None
    head = "| units | " + ("tokens | " if tok else "") + "Spearman (leading) | Spearman mean | Spearman low | " \
        f"top-{result.k} (leading) | top-{result.k} mean | top-{result.k} low |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in result.rows:
        mark = " **(converged)**" if r.units == result.point else ""
        cells = [f"{r.units}{mark}"] + ([f"{r.units * tokens_per_unit:,}"] if tok else []) + [
            f"{r.spearman_leading:.3f}", f"{r.spearman_mean:.3f}", f"{r.spearman_low:.3f}",
            f"{r.topk_leading:.2f}", f"{r.topk_mean:.2f}", f"{r.topk_low:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    point = "not reached" if result.point is None else f"{result.point} {unit}s"
    lines.append("")
    lines.append(f"Convergence point: {point} (lower {result.confidence:.0%} bound of Spearman >= {result.threshold} "
                 f"and of top-{result.k} agreement >= {result.topk_threshold:.2f} at that budget and every larger one).")
    return "\n".join(lines) + "\n"


def calibration_table(result: CalibrationConvergence) -> str:
    """Markdown: agreement of each calibration draw with the reference draw."""
    lines = ["| calibration windows | seed | Spearman | top-k |", "|---|---|---|---|"]
    for r in result.rows:
        lines.append(f"| {r.windows} | {r.seed} | {r.spearman:.3f} | {r.topk:.2f} |")
    point = "not reached" if result.point is None else f"{result.point} windows"
    lines += ["", f"Calibration convergence point: {point} (every seed's Spearman >= {result.threshold} and top-{result.k} "
              f">= {result.topk_threshold:.2f} against {result.reference_windows} windows, there and above)."]
    return "\n".join(lines) + "\n"


def plot_ranking(result: RankingConvergence, unit: str, path: Path) -> Path:
    """Spearman (mean, lower bound, leading units) and top-k agreement against the budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = [r.units for r in result.rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.fill_between(units, [r.spearman_low for r in result.rows], [r.spearman_mean for r in result.rows], alpha=0.2,
                    label=f"Spearman, mean to lower {result.confidence:.0%} bound")
    ax.plot(units, [r.spearman_leading for r in result.rows], "o-", label="Spearman, leading units")
    ax.plot(units, [r.topk_mean for r in result.rows], "s--", label=f"top-{result.k} agreement, mean")
    if result.point is not None:
        ax.axvline(result.point, color="k", linestyle=":", label=f"convergence point ({result.point})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(f"evaluation budget ({unit}s)")
    ax.set_ylabel("agreement with the full ranking")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
